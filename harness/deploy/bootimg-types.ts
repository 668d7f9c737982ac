import type { BootHeaderVersion, VendorHeaderVersion } from './bootimg-format.js';
import type { OsVersion, OsVersionInput } from './os-version.js';

/** A parsed Android boot image (header versions 0-4). Absent sections are empty buffers. */
export interface BootImage {
  kind: 'boot';
  headerVersion: BootHeaderVersion;
  /** Page size sections are aligned to (fixed 4096 for v3/v4). */
  pageSize: number;
  /** The header_size field (v1+); the structure size for v0, which has no such field. */
  headerSize: number;
  kernel: Buffer;
  ramdisk: Buffer;
  /** v0-v2 only */
  second: Buffer;
  /** v1-v2 only */
  recoveryDtbo: Buffer;
  /** v2 only */
  dtb: Buffer;
  /** v4 only: the boot signature section */
  signature: Buffer;
  /** Load addresses (v0-v2; zero for v3/v4, whose addresses live in vendor_boot). */
  kernelAddr: number;
  ramdiskAddr: number;
  secondAddr: number;
  tagsAddr: number;
  dtbAddr: number;
  recoveryDtboOffset: number;
  osVersion: OsVersion;
  /** Product name (v0-v2 `name`); empty for v3/v4, which have no such field. */
  name: string;
  /** The whole kernel command line (v0-v2: `cmdline` followed by `extra_cmdline`). */
  cmdline: string;
  /** v0-v2 `id` (mkbootimg stores a SHA-1 of the sections); 32 bytes, zero for v3/v4. */
  id: Buffer;
  /** Bytes the header and sections occupy, page-aligned. */
  imageSize: number;
  /** Length of the buffer parsed (may exceed imageSize: partition padding, AVB footer). */
  fileSize: number;
}

export type VendorRamdiskType = 'none' | 'platform' | 'recovery' | 'dlkm';

export interface VendorRamdiskEntry {
  name: string;
  type: VendorRamdiskType | number;
  /** Offset inside the vendor ramdisk section. */
  offset: number;
  size: number;
  boardId: number[];
  data: Buffer;
}

/** A parsed vendor_boot image (header versions 3-4). */
export interface VendorBootImage {
  kind: 'vendor_boot';
  headerVersion: VendorHeaderVersion;
  pageSize: number;
  headerSize: number;
  kernelAddr: number;
  ramdiskAddr: number;
  tagsAddr: number;
  dtbAddr: number;
  cmdline: string;
  name: string;
  /** The whole vendor ramdisk section (all ramdisks concatenated for v4). */
  vendorRamdisk: Buffer;
  dtb: Buffer;
  /** v4 vendor ramdisk table; empty for v3. */
  ramdiskTable: VendorRamdiskEntry[];
  /** v4 bootconfig section. */
  bootconfig: Buffer;
  imageSize: number;
  fileSize: number;
}

/** What a new boot image is made of. Addresses default to mkbootimg's. */
export interface BootImageSpec {
  headerVersion?: BootHeaderVersion;
  kernel: Buffer;
  ramdisk?: Buffer;
  second?: Buffer;
  recoveryDtbo?: Buffer;
  dtb?: Buffer;
  signature?: Buffer;
  cmdline?: string;
  name?: string;
  osVersion?: number | OsVersionInput;
  pageSize?: number;
  kernelAddr?: number;
  ramdiskAddr?: number;
  secondAddr?: number;
  tagsAddr?: number;
  dtbAddr?: number;
}

export interface VendorRamdiskSpec {
  name: string;
  type?: VendorRamdiskType;
  data: Buffer;
  boardId?: number[];
}

/** What a new vendor_boot image is made of. */
export interface VendorBootImageSpec {
  headerVersion: VendorHeaderVersion;
  pageSize?: number;
  /** v3: the single vendor ramdisk. */
  vendorRamdisk?: Buffer;
  /** v4: the ramdisks of the table, concatenated in order into the section. */
  ramdisks?: VendorRamdiskSpec[];
  dtb: Buffer;
  bootconfig?: Buffer;
  cmdline?: string;
  name?: string;
  kernelAddr?: number;
  ramdiskAddr?: number;
  tagsAddr?: number;
  dtbAddr?: number;
}

/** What `repackBootImage` may replace. */
export interface BootImageChanges {
  kernel?: Buffer;
  ramdisk?: Buffer;
  cmdline?: string;
}
