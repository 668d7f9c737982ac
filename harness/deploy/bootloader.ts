import { parseFastbootTarget } from './fastboot.js';

/**
 * How to reach a device's bootloader. `zlab flash -s SERIAL` resolves SERIAL
 * through one of these: the device is brought into bootloader mode by
 * `enterBootloader` (if it is not there already) and then answers fastboot at
 * `target`.
 */
export interface BootloaderAccess {
  /** fastboot target: tcp:HOST:PORT or a USB serial. */
  target: string;
  enterBootloader?: () => Promise<void>;
}

export type BootloaderResolver = (serial: string) => Promise<BootloaderAccess>;

/** A device already in bootloader mode, named by its fastboot target. */
export const fastbootTargetAsIs: BootloaderResolver = async (serial) => ({ target: parseFastbootTarget(serial) });
