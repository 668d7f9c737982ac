/**
 * Android boot images: the public face of the reader, the writer and the
 * os_version codec, plus repacking an existing image with a new kernel.
 */
import { BootImageError } from './bootimg-format.js';
import type { BootImage, BootImageChanges } from './bootimg-types.js';
import { buildBootImage } from './bootimg-writer.js';

export { parseBootImage, parseVendorBootImage } from './bootimg-reader.js';
export { buildBootImage, buildVendorBootImage } from './bootimg-writer.js';
export { encodeOsVersion, decodeOsVersion, type OsVersion, type OsVersionInput } from './os-version.js';
export { BootImageError, type BootHeaderVersion, type VendorHeaderVersion } from './bootimg-format.js';
export type * from './bootimg-types.js';

/**
 * Rebuild `image` with a new kernel and optionally a new ramdisk or command
 * line, keeping its header version, page size, addresses, name, os_version and
 * other sections. A v4 boot signature no longer matches a changed kernel or
 * ramdisk, so it is dropped then.
 */
export function repackBootImage(image: BootImage, changes: BootImageChanges): Buffer {
  if (changes.kernel !== undefined && changes.kernel.length === 0) {
    throw new BootImageError('kernel', 'repack: the new kernel is empty');
  }
  const kernel = changes.kernel ?? image.kernel;
  const ramdisk = changes.ramdisk ?? image.ramdisk;
  const contentChanged = changes.kernel !== undefined || changes.ramdisk !== undefined;
  const legacy = image.headerVersion <= 2;
  return buildBootImage({
    headerVersion: image.headerVersion,
    kernel,
    ramdisk,
    second: image.second,
    recoveryDtbo: image.recoveryDtbo,
    dtb: image.dtb,
    signature: contentChanged ? undefined : image.signature,
    cmdline: changes.cmdline ?? image.cmdline,
    name: image.name,
    osVersion: image.osVersion.raw,
    pageSize: image.pageSize,
    ...(legacy
      ? {
          kernelAddr: image.kernelAddr,
          // An image that had no ramdisk recorded no address for it; let the default apply.
          ramdiskAddr: image.ramdiskAddr === 0 && ramdisk.length > 0 ? undefined : image.ramdiskAddr,
          secondAddr: image.secondAddr,
          tagsAddr: image.tagsAddr,
          dtbAddr: image.dtbAddr,
        }
      : {}),
  });
}
