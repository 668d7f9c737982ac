/**
 * The part of a device that configuration needs: one shell round trip per
 * call, exit status as a result. harness/device/device.ts's Device fits it;
 * unit tests pass a fake that runs scripts locally and counts calls.
 */
export interface DeviceShell {
  readonly serial: string;
  shell(command: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<{ stdout: string; stderr: string; exitCode: number }>;
}

/** Where scripts find the device's /sys, /proc and /dev: "" on a device, a temporary folder in tests. */
export interface ScriptOptions {
  root?: string;
}
