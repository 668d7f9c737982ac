import type { VmState } from './vm-state.js';

/** What the supervisor hands the bootloader while the VM is powered off in it. */
export interface BootloaderContext {
  vmDir: string;
  state: VmState;
  /** Resolves when a power-on is requested (`zlab vm continue`). */
  powerOn: Promise<void>;
  /** Record the port a bootloader server listens on (null when it stops). */
  setFastbootPort(port: number | null): void;
}

/** How the VM leaves the bootloader: boot (optionally another kernel/initrd, once), or stay off and stop. */
export type BootloaderExit = { action: 'boot'; kernel?: string; initrd?: string } | { action: 'stop' };

/**
 * The VM's bootloader. For now it only keeps the VM powered off (state
 * `bootloader`) until a power-on request or a stop; a fastboot server plugs in
 * here, answering on a loopback port until `continue`, `boot` or `reboot`.
 */
export async function enterBootloader(context: BootloaderContext, signal: AbortSignal): Promise<BootloaderExit> {
  if (signal.aborted) return { action: 'stop' };
  return new Promise((resolve) => {
    const onAbort = (): void => resolve({ action: 'stop' });
    signal.addEventListener('abort', onAbort, { once: true });
    void context.powerOn.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve({ action: 'boot' });
    });
  });
}
