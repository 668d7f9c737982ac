import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBootImage } from '../deploy/bootimg-writer.js';
import { type FastbootServer, startFastbootServer } from '../deploy/fastboot-server.js';
import { SlotStore } from '../deploy/fastboot-slots.js';
import { bootFilesForSlot, writeBootFiles } from '../deploy/slot-boot.js';
import type { VmState } from './vm-state.js';

/** What `getvar product` answers on the virtual device (its ro.product.device). */
export const VIRTUAL_DEVICE_PRODUCT = 'zlab_x86_64';

/** The VM's A/B boot slots: boot_a.img, boot_b.img, slots.json. */
export function slotDirFor(vmDir: string): string {
  return join(vmDir, 'slots');
}

/**
 * Make the VM an A/B device from its first boot: its own kernel, initramfs
 * and command line as a v2 boot image (named after the product), in both
 * slots, slot a active.
 */
export async function seedBootSlots(vmDir: string, boot: { kernel: string; initrd: string; cmdline: string }): Promise<void> {
  const image = buildBootImage({
    headerVersion: 2,
    kernel: await readFile(boot.kernel),
    ramdisk: await readFile(boot.initrd),
    cmdline: boot.cmdline,
    name: VIRTUAL_DEVICE_PRODUCT,
  });
  const store = new SlotStore(slotDirFor(vmDir));
  store.store('a', image);
  store.store('b', image);
  store.setActive('a');
}

/** What one QEMU run boots. `initrd` null: no ramdisk; `cmdline` absent: the VM's default. */
export interface BootSelection {
  kernel: string;
  initrd: string | null;
  cmdline?: string;
  /** The slot booted, or null for a one-shot image or a VM without slots. */
  slot: 'a' | 'b' | null;
}

/**
 * What a power-on boots: the active slot's kernel, ramdisk and command line
 * (extracted next to the slots), or the VM's own files when it has no slots.
 * A slot that holds nothing bootable throws, as a phone would not boot.
 */
export function activeSlotBoot(vmDir: string, state: VmState): BootSelection {
  const slots = slotDirFor(vmDir);
  if (!existsSync(slots)) return { kernel: state.kernel, initrd: state.initrd, slot: null };
  const files = bootFilesForSlot(slots, join(vmDir, 'boot', 'slot'));
  return { kernel: files.kernel, initrd: files.ramdisk, cmdline: files.cmdline, slot: files.slot };
}

/** What the supervisor hands the bootloader while the VM is powered off in it. */
export interface BootloaderContext {
  vmDir: string;
  state: VmState;
  /** Resolves when a power-on is requested (`zlab vm continue`, a power cycle). */
  powerOn: Promise<void>;
  /** Record the port a bootloader server listens on (null when it stops). */
  setFastbootPort(port: number | null): void;
}

/**
 * How the VM leaves the bootloader: boot the active slot (no `boot` given),
 * boot a one-shot image once, or stay off and stop.
 */
export type BootloaderExit = { action: 'boot'; boot?: BootSelection } | { action: 'stop' };

// Long enough for the OKAY of `reboot`/`boot` to reach the host before the socket goes.
const REPLY_GRACE_MS = 300;

/**
 * The VM's bootloader: with QEMU stopped, a fastboot-over-TCP server on a
 * free loopback port serves the VM's slots until the host asks to boot
 * (`reboot`, `continue`, `boot IMAGE`), a power-on arrives, or the VM stops.
 */
export async function enterBootloader(context: BootloaderContext, signal: AbortSignal): Promise<BootloaderExit> {
  if (signal.aborted) return { action: 'stop' };
  let finish: (exit: BootloaderExit) => void = () => undefined;
  const decided = new Promise<BootloaderExit>((resolve) => {
    finish = resolve;
  });
  const server: FastbootServer = await startFastbootServer({
    dir: slotDirFor(context.vmDir),
    product: VIRTUAL_DEVICE_PRODUCT,
    serialno: context.state.serial,
    versionBootloader: 'zlab-vboot-1',
    onReboot: (target) => {
      // reboot-bootloader: the bootloader comes back as it is, so keep serving.
      if (target === 'system') finish({ action: 'boot' });
    },
    onContinue: () => finish({ action: 'boot' }),
    onBoot: (image) => {
      const files = writeBootFiles(image, join(context.vmDir, 'boot', 'once'));
      finish({ action: 'boot', boot: { kernel: files.kernel, initrd: files.ramdisk, cmdline: files.cmdline, slot: null } });
    },
    onError: (err) => process.stderr.write(`bootloader: ${(err as Error).message}\n`),
  });
  context.setFastbootPort(server.port);
  const onAbort = (): void => finish({ action: 'stop' });
  signal.addEventListener('abort', onAbort, { once: true });
  void context.powerOn.then(() => finish({ action: 'boot' }));
  try {
    const exit = await decided;
    await new Promise((resolve) => setTimeout(resolve, REPLY_GRACE_MS));
    return signal.aborted ? { action: 'stop' } : exit;
  } finally {
    signal.removeEventListener('abort', onAbort);
    context.setFastbootPort(null);
    await server.close();
  }
}
