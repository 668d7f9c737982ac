import { createHash } from 'node:crypto';
import {
  ARGS_SIZE,
  BOOT_HEADER_SIZE,
  BOOT_MAGIC,
  BootImageError,
  DEFAULT_ADDRESSES as D,
  GKI_PAGE_SIZE,
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
} from './bootimg-format.js';
import type { BootImageSpec, VendorBootImageSpec } from './bootimg-types.js';
import { encodeOsVersion } from './os-version.js';

const EMPTY = Buffer.alloc(0);

/**
 * Build an Android boot image. For v0-v2 the result is byte for byte what
 * mkbootimg writes for the same inputs (including the SHA-1 `id`); v3/v4 use
 * AOSP's final header_size values.
 */
export function buildBootImage(spec: BootImageSpec): Buffer {
  const version = spec.headerVersion ?? 0;
  if (![0, 1, 2, 3, 4].includes(version)) {
    throw new BootImageError('header_version', `boot image: header_version ${String(version)} is not 0-4`);
  }
  if (!spec.kernel || spec.kernel.length === 0) throw new BootImageError('kernel', 'boot image: a kernel is required and must not be empty');
  const ramdisk = spec.ramdisk ?? EMPTY;
  const second = spec.second ?? EMPTY;
  const recoveryDtbo = spec.recoveryDtbo ?? EMPTY;
  const dtb = spec.dtb ?? EMPTY;
  const signature = spec.signature ?? EMPTY;
  const refuse = (field: string, allowed: string) => {
    throw new BootImageError(field, `boot image v${version}: ${field} is only carried by header versions ${allowed}`);
  };
  if (second.length > 0 && version > 2) refuse('second', '0-2');
  if (recoveryDtbo.length > 0 && (version < 1 || version > 2)) refuse('recovery_dtbo', '1-2');
  if (dtb.length > 0 && version !== 2) refuse('dtb', '2');
  if (signature.length > 0 && version !== 4) refuse('signature', '4');
  // mkbootimg insists on a dtb for v2; x86 (the virtual device) boots without one, so zlab allows dtb_size 0.
  const osVersion = typeof spec.osVersion === 'number' ? checkU32(spec.osVersion, 'os_version') : encodeOsVersion(spec.osVersion ?? {});
  const cmdline = encodeText(spec.cmdline ?? '', V3_ARGS_SIZE - 1, 'cmdline');

  if (version >= 3) {
    if (spec.pageSize !== undefined && spec.pageSize !== GKI_PAGE_SIZE) {
      throw new BootImageError('page_size', `boot image v${version}: page size is fixed at ${GKI_PAGE_SIZE}, not ${spec.pageSize}`);
    }
    if (spec.name) throw new BootImageError('name', `boot image v${version}: has no name field (the product name lives in vendor_boot)`);
    const header = Buffer.alloc(GKI_PAGE_SIZE);
    header.write(BOOT_MAGIC, 0, 'latin1');
    header.writeUInt32LE(spec.kernel.length, V3.kernelSize);
    header.writeUInt32LE(ramdisk.length, V3.ramdiskSize);
    header.writeUInt32LE(osVersion, V3.osVersion);
    header.writeUInt32LE(BOOT_HEADER_SIZE[version], V3.headerSize);
    header.writeUInt32LE(version, V3.headerVersion);
    cmdline.copy(header, V3.cmdline);
    if (version === 4) header.writeUInt32LE(signature.length, V3.signatureSize);
    return Buffer.concat([header, ...padded([spec.kernel, ramdisk, signature], GKI_PAGE_SIZE)]);
  }

  const pageSize = spec.pageSize ?? 2048;
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) {
    throw new BootImageError('page_size', `boot image: page size ${pageSize} is not one of ${PAGE_SIZES.join(', ')}`);
  }
  const name = encodeText(spec.name ?? '', NAME_SIZE - 1, 'name');
  const header = Buffer.alloc(pageSize);
  header.write(BOOT_MAGIC, 0, 'latin1');
  header.writeUInt32LE(spec.kernel.length, V0.kernelSize);
  header.writeUInt32LE(address(spec.kernelAddr, D.base + D.kernelOffset, 'kernel_addr'), V0.kernelAddr);
  header.writeUInt32LE(ramdisk.length, V0.ramdiskSize);
  // mkbootimg records no load address for an absent section.
  header.writeUInt32LE(address(spec.ramdiskAddr, ramdisk.length > 0 ? D.base + D.ramdiskOffset : 0, 'ramdisk_addr'), V0.ramdiskAddr);
  header.writeUInt32LE(second.length, V0.secondSize);
  header.writeUInt32LE(address(spec.secondAddr, second.length > 0 ? D.base + D.secondOffset : 0, 'second_addr'), V0.secondAddr);
  header.writeUInt32LE(address(spec.tagsAddr, D.base + D.tagsOffset, 'tags_addr'), V0.tagsAddr);
  header.writeUInt32LE(pageSize, V0.pageSize);
  header.writeUInt32LE(version, V0.headerVersion);
  header.writeUInt32LE(osVersion, V0.osVersion);
  name.copy(header, V0.name);
  // The first 512 bytes go to `cmdline`, the rest to `extra_cmdline`.
  cmdline.copy(header, V0.cmdline, 0, ARGS_SIZE);
  if (cmdline.length > ARGS_SIZE) cmdline.copy(header, V0.extraCmdline, ARGS_SIZE);
  const idSections = [spec.kernel, ramdisk, second];
  if (version >= 1) idSections.push(recoveryDtbo);
  if (version >= 2) idSections.push(dtb);
  imageId(idSections).copy(header, V0.id);
  if (version >= 1) {
    header.writeUInt32LE(recoveryDtbo.length, V0.recoveryDtboSize);
    const dtboOffset = pageSize + [spec.kernel, ramdisk, second].reduce((n, s) => n + alignUp(s.length, pageSize), 0);
    header.writeBigUInt64LE(BigInt(recoveryDtbo.length > 0 ? dtboOffset : 0), V0.recoveryDtboOffset);
    header.writeUInt32LE(BOOT_HEADER_SIZE[version], V0.headerSize);
  }
  if (version === 2) {
    header.writeUInt32LE(dtb.length, V0.dtbSize);
    header.writeBigUInt64LE(BigInt(address64(spec.dtbAddr, D.base + D.dtbOffset, 'dtb_addr')), V0.dtbAddr);
  }
  const sections = [spec.kernel, ramdisk, second];
  if (version >= 1) sections.push(recoveryDtbo);
  if (version === 2) sections.push(dtb);
  return Buffer.concat([header, ...padded(sections, pageSize)]);
}

/** Build a vendor_boot image (v3 with one vendor ramdisk, v4 with a ramdisk table). */
export function buildVendorBootImage(spec: VendorBootImageSpec): Buffer {
  const version = spec.headerVersion;
  if (version !== 3 && version !== 4) {
    throw new BootImageError('header_version', `vendor_boot image: header_version ${String(version)} is not 3 or 4`);
  }
  const pageSize = spec.pageSize ?? 4096;
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) {
    throw new BootImageError('page_size', `vendor_boot image: page size ${pageSize} is not one of ${PAGE_SIZES.join(', ')}`);
  }
  if (!spec.dtb || spec.dtb.length === 0) throw new BootImageError('dtb', 'vendor_boot image: a dtb is required');
  const ramdisks = spec.ramdisks ?? [];
  if (version === 3 && ramdisks.length > 0) {
    throw new BootImageError('vendor_ramdisk_table', 'vendor_boot image v3: has no ramdisk table; give vendorRamdisk');
  }
  const section = version === 4 && ramdisks.length > 0 ? Buffer.concat(ramdisks.map((r) => r.data)) : (spec.vendorRamdisk ?? EMPTY);
  const bootconfig = spec.bootconfig ?? EMPTY;
  if (version === 3 && bootconfig.length > 0) throw new BootImageError('bootconfig', 'vendor_boot image v3: has no bootconfig section');

  const structSize = VENDOR_HEADER_SIZE[version];
  const header = Buffer.alloc(alignUp(structSize, pageSize));
  header.write(VENDOR_BOOT_MAGIC, 0, 'latin1');
  header.writeUInt32LE(version, VENDOR.headerVersion);
  header.writeUInt32LE(pageSize, VENDOR.pageSize);
  header.writeUInt32LE(address(spec.kernelAddr, D.base + D.kernelOffset, 'kernel_addr'), VENDOR.kernelAddr);
  header.writeUInt32LE(address(spec.ramdiskAddr, D.base + D.ramdiskOffset, 'ramdisk_addr'), VENDOR.ramdiskAddr);
  header.writeUInt32LE(section.length, VENDOR.vendorRamdiskSize);
  encodeText(spec.cmdline ?? '', VENDOR_ARGS_SIZE - 1, 'cmdline').copy(header, VENDOR.cmdline);
  header.writeUInt32LE(address(spec.tagsAddr, D.base + D.tagsOffset, 'tags_addr'), VENDOR.tagsAddr);
  encodeText(spec.name ?? '', NAME_SIZE - 1, 'name').copy(header, VENDOR.name);
  header.writeUInt32LE(structSize, VENDOR.headerSize);
  header.writeUInt32LE(spec.dtb.length, VENDOR.dtbSize);
  header.writeBigUInt64LE(BigInt(address64(spec.dtbAddr, D.base + D.dtbOffset, 'dtb_addr')), VENDOR.dtbAddr);
  const parts = [section, spec.dtb];
  if (version === 4) {
    const table = Buffer.alloc(ramdisks.length * RAMDISK_ENTRY.bytes);
    let offset = 0;
    ramdisks.forEach((r, i) => {
      const at = i * RAMDISK_ENTRY.bytes;
      table.writeUInt32LE(r.data.length, at + RAMDISK_ENTRY.size);
      table.writeUInt32LE(offset, at + RAMDISK_ENTRY.offset);
      table.writeUInt32LE(VENDOR_RAMDISK_TYPES.indexOf(r.type ?? 'none'), at + RAMDISK_ENTRY.type);
      encodeText(r.name, RAMDISK_ENTRY.nameSize - 1, `ramdisks[${i}].name`).copy(table, at + RAMDISK_ENTRY.name);
      const boardId = r.boardId ?? [];
      if (boardId.length > RAMDISK_ENTRY.boardIdWords) {
        throw new BootImageError(`ramdisks[${i}].boardId`, `vendor_boot image: board_id holds at most ${RAMDISK_ENTRY.boardIdWords} words`);
      }
      boardId.forEach((w, j) => table.writeUInt32LE(checkU32(w, `ramdisks[${i}].boardId`), at + RAMDISK_ENTRY.boardId + 4 * j));
      offset += r.data.length;
    });
    header.writeUInt32LE(table.length, VENDOR.ramdiskTableSize);
    header.writeUInt32LE(ramdisks.length, VENDOR.ramdiskTableEntryNum);
    header.writeUInt32LE(RAMDISK_ENTRY.bytes, VENDOR.ramdiskTableEntrySize);
    header.writeUInt32LE(bootconfig.length, VENDOR.bootconfigSize);
    parts.push(table, bootconfig);
  }
  return Buffer.concat([header, ...padded(parts, pageSize)]);
}

/** mkbootimg's `id`: SHA-1 over each section followed by its size as a little-endian u32. */
function imageId(sections: Buffer[]): Buffer {
  const sha = createHash('sha1');
  for (const s of sections) {
    sha.update(s);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(s.length);
    sha.update(size);
  }
  const id = Buffer.alloc(32);
  sha.digest().copy(id);
  return id;
}

function padded(sections: Buffer[], pageSize: number): Buffer[] {
  const out: Buffer[] = [];
  for (const s of sections) {
    if (s.length === 0) continue;
    out.push(s);
    const pad = alignUp(s.length, pageSize) - s.length;
    if (pad > 0) out.push(Buffer.alloc(pad));
  }
  return out;
}

/** Header strings are bytes (latin1) with a terminating NUL inside their field. */
function encodeText(text: string, maxChars: number, field: string): Buffer {
  if (text.includes('\0')) throw new BootImageError(field, `${field}: contains a NUL byte`);
  if (/[^\x01-\xff]/.test(text)) throw new BootImageError(field, `${field}: contains characters outside latin1`);
  if (text.length > maxChars) {
    throw new BootImageError(field, `${field}: ${text.length} characters do not fit; at most ${maxChars} (the field keeps a NUL terminator)`);
  }
  return Buffer.from(text, 'latin1');
}

function address(value: number | undefined, fallback: number, field: string): number {
  return value === undefined ? fallback : checkU32(value, field);
}

/** dtb_addr is a u64 field; JavaScript numbers hold it exactly up to 2^53. */
function address64(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new BootImageError(field, `${field}: ${value} is not an address`);
  return value;
}

function checkU32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new BootImageError(field, `${field}: ${value} is not a 32-bit unsigned value`);
  }
  return value;
}
