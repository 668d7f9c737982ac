import { readFileSync, writeFileSync } from 'node:fs';
import { buildBootImage } from '../deploy/bootimg.js';

/**
 * An Android boot image (header v2) holding just the kernel and its command
 * line: what `fastboot boot` takes on the virtual device. No ramdisk: the
 * virtual device supplies its own initramfs.
 */
export function writeBootImage(bzImage: string, cmdline: string, out: string): void {
  writeFileSync(out, buildBootImage({ headerVersion: 2, kernel: readFileSync(bzImage), cmdline }));
}
