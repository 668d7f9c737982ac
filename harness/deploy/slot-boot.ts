import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZlabError } from '../util/errors.js';
import { parseBootImage } from './bootimg-reader.js';
import type { BootImage } from './bootimg-types.js';
import { SlotStore, type Slot } from './fastboot-slots.js';

/**
 * What a virtual device boots from a boot image: the kernel and ramdisk as
 * files (QEMU's -kernel and -initrd) and the command line (-append).
 */
export interface BootFiles {
  kernel: string;
  /** null when the image has no ramdisk. */
  ramdisk: string | null;
  cmdline: string;
}

export function writeBootFiles(image: BootImage, outDir: string): BootFiles {
  mkdirSync(outDir, { recursive: true });
  const kernel = join(outDir, 'kernel');
  writeFileSync(kernel, image.kernel);
  let ramdisk: string | null = null;
  if (image.ramdisk.length > 0) {
    ramdisk = join(outDir, 'ramdisk');
    writeFileSync(ramdisk, image.ramdisk);
  }
  return { kernel, ramdisk, cmdline: image.cmdline };
}

/** The boot files of a slot (the active one by default) of the bootloader kept in `slotDir`. */
export function bootFilesForSlot(slotDir: string, outDir: string, slot?: Slot): BootFiles & { slot: Slot } {
  const store = new SlotStore(slotDir);
  const chosen = slot ?? store.active;
  const bytes = store.read(chosen);
  if (!bytes) throw new ZlabError('device', `slot ${chosen} holds no boot image: flash one with \`fastboot flash boot IMAGE\``, { slot: chosen });
  let image: BootImage;
  try {
    image = parseBootImage(bytes);
  } catch (err) {
    throw new ZlabError('device', `slot ${chosen} holds an unreadable boot image: ${(err as Error).message}`, { slot: chosen });
  }
  return { ...writeBootFiles(image, outDir), slot: chosen };
}
