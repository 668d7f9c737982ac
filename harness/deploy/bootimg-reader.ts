import {
  ACCEPTED_HEADER_SIZES,
  ACCEPTED_VENDOR_HEADER_SIZES,
  ARGS_SIZE,
  BOOT_HEADER_SIZE,
  BOOT_MAGIC,
  BootImageError,
  EXTRA_ARGS_SIZE,
  GKI_PAGE_SIZE,
  HEADER_VERSION_OFFSET,
  ID_SIZE,
  MAGIC_SIZE,
  NAME_SIZE,
  PAGE_SIZES,
  RAMDISK_ENTRY,
  V0,
  V3,
  V3_ARGS_SIZE,
  VENDOR,
  VENDOR_ARGS_SIZE,
  VENDOR_BOOT_MAGIC,
  VENDOR_HEADER_SIZE,
  VENDOR_RAMDISK_TYPES,
  alignUp,
  type BootHeaderVersion,
  type VendorHeaderVersion,
} from './bootimg-format.js';
import type { BootImage, VendorBootImage, VendorRamdiskEntry } from './bootimg-types.js';
import { decodeOsVersion } from './os-version.js';

/** Parse and validate an Android boot image (v0-v4). Throws BootImageError naming the bad field. */
export function parseBootImage(buf: Buffer): BootImage {
  checkMagic(buf, BOOT_MAGIC, 'boot');
  if (buf.length < HEADER_VERSION_OFFSET + 4) truncatedHeader('boot', HEADER_VERSION_OFFSET + 4, buf.length);
  const version = buf.readUInt32LE(HEADER_VERSION_OFFSET);
  if (version > 4) {
    throw new BootImageError('header_version', `boot image: header_version ${version} is not a known version (0-4)`, { value: version });
  }
  const headerVersion = version as BootHeaderVersion;
  if (buf.length < BOOT_HEADER_SIZE[headerVersion]) {
    truncatedHeader(`boot v${headerVersion}`, BOOT_HEADER_SIZE[headerVersion], buf.length);
  }
  return headerVersion <= 2 ? parseLegacy(buf, headerVersion) : parseGki(buf, headerVersion);
}

function parseLegacy(buf: Buffer, headerVersion: BootHeaderVersion): BootImage {
  const pageSize = buf.readUInt32LE(V0.pageSize);
  checkPageSize(pageSize, 'page_size', 'boot image');
  let headerSize = BOOT_HEADER_SIZE[0];
  if (headerVersion >= 1) {
    headerSize = buf.readUInt32LE(V0.headerSize);
    checkHeaderSize(headerSize, ACCEPTED_HEADER_SIZES[headerVersion], `boot image v${headerVersion}`);
  }
  const kernelSize = buf.readUInt32LE(V0.kernelSize);
  const ramdiskSize = buf.readUInt32LE(V0.ramdiskSize);
  const secondSize = buf.readUInt32LE(V0.secondSize);
  const recoveryDtboSize = headerVersion >= 1 ? buf.readUInt32LE(V0.recoveryDtboSize) : 0;
  const dtbSize = headerVersion >= 2 ? buf.readUInt32LE(V0.dtbSize) : 0;
  if (kernelSize === 0) throw new BootImageError('kernel_size', 'boot image: kernel_size is 0; a boot image needs a kernel');

  const sections = new SectionCursor(buf, pageSize, pageSize, 'boot image');
  const kernel = sections.take('kernel', kernelSize);
  const ramdisk = sections.take('ramdisk', ramdiskSize);
  const second = sections.take('second', secondSize);
  let recoveryDtboOffset = 0;
  let recoveryDtbo: Buffer = Buffer.alloc(0);
  if (headerVersion >= 1) {
    recoveryDtboOffset = readU64(buf, V0.recoveryDtboOffset, 'recovery_dtbo_offset');
    if (recoveryDtboSize > 0 && recoveryDtboOffset !== sections.offset) {
      throw new BootImageError(
        'recovery_dtbo_offset',
        `boot image: recovery_dtbo_offset is ${recoveryDtboOffset}, but the section after second starts at ${sections.offset}`,
      );
    }
    recoveryDtbo = sections.take('recovery_dtbo', recoveryDtboSize);
  }
  const dtb = headerVersion >= 2 ? sections.take('dtb', dtbSize) : Buffer.alloc(0);

  return {
    kind: 'boot',
    headerVersion,
    pageSize,
    headerSize,
    kernel,
    ramdisk,
    second,
    recoveryDtbo,
    dtb,
    signature: Buffer.alloc(0),
    kernelAddr: buf.readUInt32LE(V0.kernelAddr),
    ramdiskAddr: buf.readUInt32LE(V0.ramdiskAddr),
    secondAddr: buf.readUInt32LE(V0.secondAddr),
    tagsAddr: buf.readUInt32LE(V0.tagsAddr),
    dtbAddr: headerVersion >= 2 ? readU64(buf, V0.dtbAddr, 'dtb_addr') : 0,
    recoveryDtboOffset,
    osVersion: decodeOsVersionField(buf.readUInt32LE(V0.osVersion)),
    name: readCString(buf, V0.name, NAME_SIZE, 'name', 'boot image'),
    cmdline: readLegacyCmdline(buf),
    id: Buffer.from(buf.subarray(V0.id, V0.id + ID_SIZE)),
    imageSize: sections.offset,
    fileSize: buf.length,
  };
}

function parseGki(buf: Buffer, headerVersion: BootHeaderVersion): BootImage {
  const headerSize = buf.readUInt32LE(V3.headerSize);
  checkHeaderSize(headerSize, ACCEPTED_HEADER_SIZES[headerVersion], `boot image v${headerVersion}`);
  const kernelSize = buf.readUInt32LE(V3.kernelSize);
  const ramdiskSize = buf.readUInt32LE(V3.ramdiskSize);
  const signatureSize = headerVersion === 4 ? buf.readUInt32LE(V3.signatureSize) : 0;
  if (kernelSize === 0) throw new BootImageError('kernel_size', 'boot image: kernel_size is 0; a boot image needs a kernel');
  const sections = new SectionCursor(buf, GKI_PAGE_SIZE, GKI_PAGE_SIZE, 'boot image');
  const kernel = sections.take('kernel', kernelSize);
  const ramdisk = sections.take('ramdisk', ramdiskSize);
  const signature = sections.take('signature', signatureSize);
  return {
    kind: 'boot',
    headerVersion,
    pageSize: GKI_PAGE_SIZE,
    headerSize,
    kernel,
    ramdisk,
    second: Buffer.alloc(0),
    recoveryDtbo: Buffer.alloc(0),
    dtb: Buffer.alloc(0),
    signature,
    kernelAddr: 0,
    ramdiskAddr: 0,
    secondAddr: 0,
    tagsAddr: 0,
    dtbAddr: 0,
    recoveryDtboOffset: 0,
    osVersion: decodeOsVersionField(buf.readUInt32LE(V3.osVersion)),
    name: '',
    cmdline: readCString(buf, V3.cmdline, V3_ARGS_SIZE, 'cmdline', 'boot image'),
    id: Buffer.alloc(ID_SIZE),
    imageSize: sections.offset,
    fileSize: buf.length,
  };
}

/** Parse and validate a vendor_boot image (v3-v4). */
export function parseVendorBootImage(buf: Buffer): VendorBootImage {
  checkMagic(buf, VENDOR_BOOT_MAGIC, 'vendor_boot');
  if (buf.length < VENDOR.headerVersion + 4) truncatedHeader('vendor_boot', VENDOR.headerVersion + 4, buf.length);
  const version = buf.readUInt32LE(VENDOR.headerVersion);
  if (version !== 3 && version !== 4) {
    throw new BootImageError('header_version', `vendor_boot image: header_version ${version} is not 3 or 4`, { value: version });
  }
  const headerVersion = version as VendorHeaderVersion;
  const structSize = VENDOR_HEADER_SIZE[headerVersion];
  if (buf.length < structSize) truncatedHeader(`vendor_boot v${headerVersion}`, structSize, buf.length);
  const pageSize = buf.readUInt32LE(VENDOR.pageSize);
  checkPageSize(pageSize, 'page_size', 'vendor_boot image');
  const headerSize = buf.readUInt32LE(VENDOR.headerSize);
  checkHeaderSize(headerSize, ACCEPTED_VENDOR_HEADER_SIZES[headerVersion], `vendor_boot image v${headerVersion}`);

  const vendorRamdiskSize = buf.readUInt32LE(VENDOR.vendorRamdiskSize);
  const dtbSize = buf.readUInt32LE(VENDOR.dtbSize);
  const sections = new SectionCursor(buf, alignUp(Math.max(structSize, headerSize), pageSize), pageSize, 'vendor_boot image');
  const vendorRamdisk = sections.take('vendor_ramdisk', vendorRamdiskSize);
  const dtb = sections.take('dtb', dtbSize);
  let ramdiskTable: VendorRamdiskEntry[] = [];
  let bootconfig: Buffer = Buffer.alloc(0);
  if (headerVersion === 4) {
    const tableSize = buf.readUInt32LE(VENDOR.ramdiskTableSize);
    const entryNum = buf.readUInt32LE(VENDOR.ramdiskTableEntryNum);
    const entrySize = buf.readUInt32LE(VENDOR.ramdiskTableEntrySize);
    const table = sections.take('vendor_ramdisk_table', tableSize);
    if (entryNum > 0 && entrySize !== RAMDISK_ENTRY.bytes) {
      throw new BootImageError(
        'vendor_ramdisk_table_entry_size',
        `vendor_boot image: vendor_ramdisk_table_entry_size is ${entrySize}, expected ${RAMDISK_ENTRY.bytes}`,
      );
    }
    if (entryNum * entrySize > tableSize) {
      throw new BootImageError(
        'vendor_ramdisk_table_entry_num',
        `vendor_boot image: ${entryNum} entries of ${entrySize} bytes do not fit vendor_ramdisk_table_size ${tableSize}`,
      );
    }
    ramdiskTable = readRamdiskTable(table, entryNum, vendorRamdisk);
    bootconfig = sections.take('bootconfig', buf.readUInt32LE(VENDOR.bootconfigSize));
  }
  return {
    kind: 'vendor_boot',
    headerVersion,
    pageSize,
    headerSize,
    kernelAddr: buf.readUInt32LE(VENDOR.kernelAddr),
    ramdiskAddr: buf.readUInt32LE(VENDOR.ramdiskAddr),
    tagsAddr: buf.readUInt32LE(VENDOR.tagsAddr),
    dtbAddr: readU64(buf, VENDOR.dtbAddr, 'dtb_addr'),
    cmdline: readCString(buf, VENDOR.cmdline, VENDOR_ARGS_SIZE, 'cmdline', 'vendor_boot image'),
    name: readCString(buf, VENDOR.name, NAME_SIZE, 'name', 'vendor_boot image'),
    vendorRamdisk,
    dtb,
    ramdiskTable,
    bootconfig,
    imageSize: sections.offset,
    fileSize: buf.length,
  };
}

function readRamdiskTable(table: Buffer, count: number, section: Buffer): VendorRamdiskEntry[] {
  const entries: VendorRamdiskEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * RAMDISK_ENTRY.bytes;
    const size = table.readUInt32LE(at + RAMDISK_ENTRY.size);
    const offset = table.readUInt32LE(at + RAMDISK_ENTRY.offset);
    const typeCode = table.readUInt32LE(at + RAMDISK_ENTRY.type);
    const field = `vendor_ramdisk_table[${i}]`;
    if (offset + size > section.length) {
      throw new BootImageError(
        field,
        `vendor_boot image: ${field} (${size} bytes at ${offset}) lies outside the vendor ramdisk section (${section.length} bytes)`,
      );
    }
    const boardId: number[] = [];
    for (let w = 0; w < RAMDISK_ENTRY.boardIdWords; w++) boardId.push(table.readUInt32LE(at + RAMDISK_ENTRY.boardId + 4 * w));
    entries.push({
      name: readCString(table, at + RAMDISK_ENTRY.name, RAMDISK_ENTRY.nameSize, `${field}.ramdisk_name`, 'vendor_boot image'),
      type: VENDOR_RAMDISK_TYPES[typeCode] ?? typeCode,
      offset,
      size,
      boardId,
      data: Buffer.from(section.subarray(offset, offset + size)),
    });
  }
  return entries;
}

/** Walks the page-aligned sections that follow a header, checking each against the file length. */
class SectionCursor {
  offset: number;
  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly pageSize: number,
    private readonly what: string,
  ) {
    this.offset = start;
  }

  take(field: string, size: number): Buffer {
    if (size === 0) return Buffer.alloc(0);
    const end = this.offset + size;
    if (end > this.buf.length) {
      throw new BootImageError(
        `${field}_size`,
        `${this.what} truncated: ${field} (${size} bytes at offset ${this.offset}) runs past the end of the file (${this.buf.length} bytes)`,
        { offset: this.offset, size, fileSize: this.buf.length },
      );
    }
    const data = Buffer.from(this.buf.subarray(this.offset, end));
    this.offset += alignUp(size, this.pageSize);
    return data;
  }
}

function checkMagic(buf: Buffer, magic: string, what: string): void {
  const found = buf.subarray(0, MAGIC_SIZE);
  if (!found.equals(Buffer.from(magic, 'latin1'))) {
    const text = found.toString('latin1');
    const shown = /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${found.toString('hex')}`;
    const hint = buf.length < MAGIC_SIZE ? ` (file is only ${buf.length} bytes)` : '';
    throw new BootImageError('magic', `${what} image: magic is ${shown}, expected "${magic}"${hint}`, { found: found.toString('hex') });
  }
}

function truncatedHeader(what: string, need: number, have: number): never {
  throw new BootImageError('header', `${what} image truncated: its header needs ${need} bytes, the file has ${have}`, {
    need,
    have,
  });
}

function checkPageSize(pageSize: number, field: string, what: string): void {
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) {
    throw new BootImageError(field, `${what}: ${field} ${pageSize} is not one of ${PAGE_SIZES.join(', ')}`, { value: pageSize });
  }
}

function checkHeaderSize(value: number, accepted: readonly number[], what: string): void {
  if (!accepted.includes(value)) {
    throw new BootImageError('header_size', `${what}: header_size is ${value}, expected ${accepted.join(' or ')}`, { value });
  }
}

function readU64(buf: Buffer, offset: number, field: string): number {
  const value = buf.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BootImageError(field, `${field} 0x${value.toString(16)} is beyond any image or address zlab handles`);
  }
  return Number(value);
}

function decodeOsVersionField(raw: number) {
  try {
    return decodeOsVersion(raw);
  } catch (err) {
    throw new BootImageError('os_version', `boot image: ${(err as Error).message}`, { value: raw });
  }
}

/** A NUL-terminated string field; a field with no NUL would let a bootloader read past it. */
function readCString(buf: Buffer, offset: number, size: number, field: string, what: string): string {
  const bytes = buf.subarray(offset, offset + size);
  const nul = bytes.indexOf(0);
  if (nul < 0) throw new BootImageError(field, `${what}: ${field} (${size} bytes) is not NUL-terminated`);
  return bytes.subarray(0, nul).toString('latin1');
}

/**
 * v0-v2 keep the first 512 bytes of the command line in `cmdline` and the rest
 * in `extra_cmdline`; the bootloader joins them. A full `cmdline` field (no NUL)
 * simply continues in `extra_cmdline`, which must then end in a NUL.
 */
function readLegacyCmdline(buf: Buffer): string {
  const main = buf.subarray(V0.cmdline, V0.cmdline + ARGS_SIZE);
  const nul = main.indexOf(0);
  const head = (nul < 0 ? main : main.subarray(0, nul)).toString('latin1');
  const extra = readCString(buf, V0.extraCmdline, EXTRA_ARGS_SIZE, nul < 0 ? 'cmdline' : 'extra_cmdline', 'boot image');
  return head + extra;
}
