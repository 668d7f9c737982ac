import { UsageError } from '../util/errors.js';

/**
 * Byte layout of Android boot and vendor_boot image headers (AOSP
 * include/bootimg/bootimg.h). All fields are little-endian; offsets are from
 * the start of the image.
 */

export const BOOT_MAGIC = 'ANDROID!';
export const VENDOR_BOOT_MAGIC = 'VNDRBOOT';
export const MAGIC_SIZE = 8;
export const NAME_SIZE = 16;
export const ARGS_SIZE = 512;
export const EXTRA_ARGS_SIZE = 1024;
export const V3_ARGS_SIZE = ARGS_SIZE + EXTRA_ARGS_SIZE;
export const VENDOR_ARGS_SIZE = 2048;
export const ID_SIZE = 32;
/** v3 and v4 boot images use a fixed 4096-byte page, header included. */
export const GKI_PAGE_SIZE = 4096;
/** Page sizes mkbootimg offers for v0-v2 and vendor_boot. */
export const PAGE_SIZES = [2048, 4096, 8192, 16384] as const;

export type BootHeaderVersion = 0 | 1 | 2 | 3 | 4;
export type VendorHeaderVersion = 3 | 4;

/** header_version sits at offset 40 in every boot header version. */
export const HEADER_VERSION_OFFSET = 40;

/** v0-v2 header fields. */
export const V0 = {
  kernelSize: 8,
  kernelAddr: 12,
  ramdiskSize: 16,
  ramdiskAddr: 20,
  secondSize: 24,
  secondAddr: 28,
  tagsAddr: 32,
  pageSize: 36,
  headerVersion: 40,
  osVersion: 44,
  name: 48,
  cmdline: 64,
  id: 576,
  extraCmdline: 608,
  // v1
  recoveryDtboSize: 1632,
  recoveryDtboOffset: 1636,
  headerSize: 1644,
  // v2
  dtbSize: 1648,
  dtbAddr: 1652,
} as const;

/** v3/v4 header fields. */
export const V3 = {
  kernelSize: 8,
  ramdiskSize: 12,
  osVersion: 16,
  headerSize: 20,
  reserved: 24,
  headerVersion: 40,
  cmdline: 44,
  // v4
  signatureSize: 1580,
} as const;

/** Size of the header structure of each boot header version. */
export const BOOT_HEADER_SIZE: Record<BootHeaderVersion, number> = { 0: 1632, 1: 1648, 2: 1660, 3: 1580, 4: 1584 };

/**
 * header_size values accepted on reading. Debian's mkbootimg 29 (Android 10
 * tools) predates the final v3 layout and writes 1596 for a 1580-byte header;
 * its images are otherwise laid out as AOSP's, so zlab reads them.
 */
export const ACCEPTED_HEADER_SIZES: Record<BootHeaderVersion, readonly number[]> = {
  0: [],
  1: [1648],
  2: [1660],
  3: [1580, 1596],
  4: [1584],
};

/** vendor_boot v3/v4 header fields. */
export const VENDOR = {
  headerVersion: 8,
  pageSize: 12,
  kernelAddr: 16,
  ramdiskAddr: 20,
  vendorRamdiskSize: 24,
  cmdline: 28,
  tagsAddr: 2076,
  name: 2080,
  headerSize: 2096,
  dtbSize: 2100,
  dtbAddr: 2104,
  // v4
  ramdiskTableSize: 2112,
  ramdiskTableEntryNum: 2116,
  ramdiskTableEntrySize: 2120,
  bootconfigSize: 2124,
} as const;

export const VENDOR_HEADER_SIZE: Record<VendorHeaderVersion, number> = { 3: 2112, 4: 2128 };
/** Debian's mkbootimg 29 writes 2108 in a 2112-byte v3 vendor header (see ACCEPTED_HEADER_SIZES). */
export const ACCEPTED_VENDOR_HEADER_SIZES: Record<VendorHeaderVersion, readonly number[]> = { 3: [2112, 2108], 4: [2128] };

/** One entry of the v4 vendor ramdisk table. */
export const RAMDISK_ENTRY = {
  size: 0,
  offset: 4,
  type: 8,
  name: 12,
  boardId: 44,
  bytes: 108,
  nameSize: 32,
  boardIdWords: 16,
} as const;

export const VENDOR_RAMDISK_TYPES = ['none', 'platform', 'recovery', 'dlkm'] as const;

/** mkbootimg's default load addresses (base 0x10000000 plus offsets). */
export const DEFAULT_ADDRESSES = {
  base: 0x10000000,
  kernelOffset: 0x00008000,
  ramdiskOffset: 0x01000000,
  secondOffset: 0x00f00000,
  tagsOffset: 0x00000100,
  dtbOffset: 0x01f00000,
} as const;

/** Bad boot image content; `field` names the header field or section at fault. */
export class BootImageError extends UsageError {
  readonly field: string;
  constructor(field: string, message: string, details: Record<string, unknown> = {}) {
    super(message, { field, ...details });
    this.name = 'BootImageError';
    this.field = field;
  }
}

export function pagesFor(size: number, pageSize: number): number {
  return Math.ceil(size / pageSize);
}

export function alignUp(size: number, pageSize: number): number {
  return pagesFor(size, pageSize) * pageSize;
}
