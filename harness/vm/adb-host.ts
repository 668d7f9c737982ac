import { execa } from 'execa';

/**
 * The few adb server requests the VM manager makes, through Debian's adb tool
 * with an explicit server port (-P) so that private servers are honoured.
 */
export async function adbDevices(serverPort: number): Promise<Map<string, string>> {
  const result = await execa('adb', ['-P', String(serverPort), 'devices'], { reject: false, timeout: 10_000 });
  const devices = new Map<string, string>();
  if (result.exitCode !== 0) return devices;
  for (const line of result.stdout.split('\n').slice(1)) {
    const [serial, state] = line.trim().split(/\s+/);
    if (serial && state) devices.set(serial, state);
  }
  return devices;
}

/** `adb connect`; its exit status says nothing (it exits 0 on failure), so callers poll adbDevices. */
export async function adbConnect(serverPort: number, serial: string): Promise<string> {
  const result = await execa('adb', ['-P', String(serverPort), 'connect', serial], { reject: false, timeout: 15_000 });
  return `${result.stdout}${result.stderr}`.trim();
}

export async function adbDisconnect(serverPort: number, serial: string): Promise<void> {
  await execa('adb', ['-P', String(serverPort), 'disconnect', serial], { reject: false, timeout: 10_000 });
}

/** One property over `adb shell getprop KEY` (KEY is a fixed, known-safe name). */
export async function adbGetprop(serverPort: number, serial: string, key: 'sys.boot_completed' | 'zlab.zram.error'): Promise<string | null> {
  const result = await execa('adb', ['-P', String(serverPort), '-s', serial, 'shell', 'getprop', key], { reject: false, timeout: 10_000 });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}
