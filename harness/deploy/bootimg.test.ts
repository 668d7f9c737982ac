import { describe, expect, it } from '@jest/globals';
import {
  BootImageError,
  buildBootImage,
  buildVendorBootImage,
  encodeOsVersion,
  parseBootImage,
  parseVendorBootImage,
  repackBootImage,
  type BootHeaderVersion,
} from './bootimg.js';

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const kernel = bytes(5000, 1);
const ramdisk = bytes(3000, 2);
const dtb = bytes(700, 3);

function expectField(fn: () => unknown, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(BootImageError);
  expect((caught as BootImageError).field).toBe(field);
  expect((caught as Error).message).toMatch(message);
}

describe('boot image writer and reader', () => {
  it.each([0, 1, 2] as const)('round-trips every v%d field', (v) => {
    const osVersion = encodeOsVersion({ version: '12.1', patchLevel: '2024-05' });
    const buf = buildBootImage({
      headerVersion: v,
      kernel,
      ramdisk,
      second: bytes(100, 4),
      recoveryDtbo: v >= 1 ? bytes(200, 5) : undefined,
      dtb: v === 2 ? dtb : undefined,
      cmdline: 'console=ttyS0 quiet',
      name: 'zlab_x86',
      osVersion,
      pageSize: 4096,
    });
    const img = parseBootImage(buf);
    expect(img.headerVersion).toBe(v);
    expect(img.pageSize).toBe(4096);
    expect(img.headerSize).toBe([1632, 1648, 1660][v]);
    expect(img.kernel.equals(kernel)).toBe(true);
    expect(img.ramdisk.equals(ramdisk)).toBe(true);
    expect(img.second.equals(bytes(100, 4))).toBe(true);
    expect(img.recoveryDtbo.length).toBe(v >= 1 ? 200 : 0);
    expect(img.dtb.equals(v === 2 ? dtb : Buffer.alloc(0))).toBe(true);
    expect(img.cmdline).toBe('console=ttyS0 quiet');
    expect(img.name).toBe('zlab_x86');
    expect(img.osVersion).toEqual({ version: '12.1.0', patchLevel: '2024-05', raw: osVersion });
    expect(img.kernelAddr).toBe(0x10008000);
    expect(img.ramdiskAddr).toBe(0x11000000);
    expect(img.secondAddr).toBe(0x10f00000);
    expect(img.tagsAddr).toBe(0x10000100);
    expect(img.dtbAddr).toBe(v === 2 ? 0x11f00000 : 0);
    // header page + kernel(2 pages) + ramdisk + second + [dtbo] + [dtb]
    expect(img.imageSize).toBe(4096 * (1 + 2 + 1 + 1 + (v >= 1 ? 1 : 0) + (v === 2 ? 1 : 0)));
    expect(img.fileSize).toBe(buf.length);
    if (v >= 1) expect(img.recoveryDtboOffset).toBe(4096 * 5);
  });

  it('splits a long v0-v2 command line into cmdline and extra_cmdline and joins it back', () => {
    const long = `${'a'.repeat(600)} ${'b'.repeat(700)}`;
    const buf = buildBootImage({ kernel, cmdline: long });
    expect(buf.subarray(64, 64 + 512).toString('latin1')).toBe(long.slice(0, 512));
    expect(parseBootImage(buf).cmdline).toBe(long);
  });

  it.each([3, 4] as const)('round-trips every v%d field', (v) => {
    const signature = bytes(256, 9);
    const buf = buildBootImage({ headerVersion: v, kernel, ramdisk, cmdline: 'x'.repeat(1535), osVersion: { version: '15' }, signature: v === 4 ? signature : undefined });
    const img = parseBootImage(buf);
    expect(img.headerVersion).toBe(v);
    expect(img.pageSize).toBe(4096);
    expect(img.headerSize).toBe(v === 3 ? 1580 : 1584);
    expect(buf.readUInt32LE(20)).toBe(img.headerSize);
    expect(img.kernel.equals(kernel)).toBe(true);
    expect(img.ramdisk.equals(ramdisk)).toBe(true);
    expect(img.cmdline).toBe('x'.repeat(1535));
    expect(img.osVersion.version).toBe('15.0.0');
    expect(img.name).toBe('');
    if (v === 4) {
      expect(buf.readUInt32LE(1580)).toBe(256);
      expect(img.signature.equals(signature)).toBe(true);
      expect(buf.length).toBe(4096 * 5);
    } else {
      expect(buf.length).toBe(4096 * 4);
    }
  });

  it('writes a v2 image without a dtb (x86 needs none)', () => {
    const img = parseBootImage(buildBootImage({ headerVersion: 2, kernel, cmdline: 'console=ttyS0' }));
    expect(img.dtb.length).toBe(0);
    expect(img.headerSize).toBe(1660);
    expect(img.imageSize).toBe(2048 * 4);
  });

  it('refuses what does not fit the header version', () => {
    expectField(() => buildBootImage({ headerVersion: 3, kernel, name: 'x' }), 'name', /no name field/);
    expectField(() => buildBootImage({ headerVersion: 3, kernel, second: kernel }), 'second', /0-2/);
    expectField(() => buildBootImage({ headerVersion: 3, kernel, dtb }), 'dtb', /only carried by header versions 2/);
    expectField(() => buildBootImage({ headerVersion: 3, kernel, pageSize: 2048 }), 'page_size', /fixed at 4096/);
    expectField(() => buildBootImage({ kernel, pageSize: 1000 }), 'page_size', /1000/);
    expectField(() => buildBootImage({ kernel, name: 'sixteen-chars-xx' }), 'name', /at most 15/);
    expectField(() => buildBootImage({ kernel, cmdline: 'a\0b' }), 'cmdline', /NUL/);
    expectField(() => buildBootImage({ kernel: Buffer.alloc(0) }), 'kernel', /required/);
  });
});

describe('boot image validation', () => {
  const good = buildBootImage({ headerVersion: 1, kernel, ramdisk, name: 'zlab' });

  it('names a wrong magic', () => {
    const bad = Buffer.from(good);
    bad.write('ANDROIX!', 0, 'latin1');
    expectField(() => parseBootImage(bad), 'magic', /magic is "ANDROIX!", expected "ANDROID!"/);
    expectField(() => parseBootImage(Buffer.from('ANDR')), 'magic', /only 4 bytes/);
  });

  it('names a truncated header and a truncated section', () => {
    expectField(() => parseBootImage(good.subarray(0, 1000)), 'header', /needs 1648 bytes, the file has 1000/);
    // kernel ends at 2048 + 5000; cut into the ramdisk.
    expectField(() => parseBootImage(good.subarray(0, 2048 + 6144 + 100)), 'ramdisk_size', /ramdisk \(3000 bytes at offset 8192\) runs past the end/);
  });

  it('accepts trailing bytes after the last section (partition padding)', () => {
    const img = parseBootImage(Buffer.concat([good, Buffer.alloc(65536)]));
    expect(img.imageSize).toBe(good.length);
    expect(img.fileSize).toBe(good.length + 65536);
  });

  it('checks page_size, header_version and header_size per version', () => {
    const patch = (offset: number, value: number) => {
      const b = Buffer.from(good);
      b.writeUInt32LE(value, offset);
      return b;
    };
    expectField(() => parseBootImage(patch(36, 3000)), 'page_size', /page_size 3000/);
    expectField(() => parseBootImage(patch(40, 7)), 'header_version', /header_version 7/);
    expectField(() => parseBootImage(patch(1644, 1660)), 'header_size', /v1: header_size is 1660, expected 1648/);
    const v4 = Buffer.from(buildBootImage({ headerVersion: 4, kernel }));
    v4.writeUInt32LE(1580, 20);
    expectField(() => parseBootImage(v4), 'header_size', /v4: header_size is 1580, expected 1584/);
    expectField(() => parseBootImage(patch(8, 0)), 'kernel_size', /kernel_size is 0/);
  });

  it('requires NUL-terminated strings', () => {
    const b = Buffer.from(good);
    b.fill(0x41, 48, 64);
    expectField(() => parseBootImage(b), 'name', /name \(16 bytes\) is not NUL-terminated/);
    const c = Buffer.from(good);
    c.fill(0x41, 64, 576);
    c.fill(0x41, 608, 1632);
    expectField(() => parseBootImage(c), 'cmdline', /not NUL-terminated/);
    const v3 = Buffer.from(buildBootImage({ headerVersion: 3, kernel }));
    v3.fill(0x41, 44, 44 + 1536);
    expectField(() => parseBootImage(v3), 'cmdline', /cmdline \(1536 bytes\)/);
  });

  it('checks the recorded recovery_dtbo offset', () => {
    const b = Buffer.from(buildBootImage({ headerVersion: 1, kernel, recoveryDtbo: dtb }));
    b.writeBigUInt64LE(4096n, 1636);
    expectField(() => parseBootImage(b), 'recovery_dtbo_offset', /recovery_dtbo_offset is 4096/);
  });
});

describe('repackBootImage', () => {
  it.each([0, 1, 2, 3, 4] as BootHeaderVersion[])('replaces the kernel of a v%d image and keeps the rest', (v) => {
    const original = buildBootImage({
      headerVersion: v,
      kernel,
      ramdisk,
      dtb: v === 2 ? dtb : undefined,
      name: v <= 2 ? 'zlab' : undefined,
      cmdline: 'console=ttyS0',
      osVersion: { version: '14', patchLevel: '2025-02' },
      pageSize: v <= 2 ? 2048 : undefined,
      kernelAddr: v <= 2 ? 0x80008000 : undefined,
      signature: v === 4 ? bytes(64, 7) : undefined,
    });
    const before = parseBootImage(original);
    const newKernel = bytes(9000, 5);
    const after = parseBootImage(repackBootImage(before, { kernel: newKernel, cmdline: 'console=ttyS0 zlab.mark=1' }));
    expect(after.kernel.equals(newKernel)).toBe(true);
    expect(after.ramdisk.equals(ramdisk)).toBe(true);
    expect(after.cmdline).toBe('console=ttyS0 zlab.mark=1');
    expect(after.name).toBe(before.name);
    expect(after.osVersion).toEqual(before.osVersion);
    expect(after.pageSize).toBe(before.pageSize);
    expect(after.kernelAddr).toBe(before.kernelAddr);
    expect(after.dtb.equals(before.dtb)).toBe(true);
    expect(after.headerVersion).toBe(v);
    expect(after.signature.length).toBe(0);
    if (v <= 2) expect(after.id.equals(before.id)).toBe(false);
  });

  it('replaces the ramdisk alone and keeps a v4 signature when nothing it covers changed', () => {
    const v4 = parseBootImage(buildBootImage({ headerVersion: 4, kernel, signature: bytes(64, 7) }));
    expect(parseBootImage(repackBootImage(v4, { cmdline: 'x' })).signature.length).toBe(64);
    const v0 = parseBootImage(buildBootImage({ kernel }));
    const withRamdisk = parseBootImage(repackBootImage(v0, { ramdisk }));
    expect(withRamdisk.ramdisk.equals(ramdisk)).toBe(true);
    expect(withRamdisk.ramdiskAddr).toBe(0x11000000);
  });
});

describe('vendor_boot', () => {
  it('round-trips a v4 image with a ramdisk table and bootconfig', () => {
    const buf = buildVendorBootImage({
      headerVersion: 4,
      pageSize: 2048,
      ramdisks: [
        { name: 'platform', type: 'platform', data: bytes(1000, 1), boardId: [1, 2] },
        { name: 'dlkm', type: 'dlkm', data: bytes(3000, 2) },
      ],
      dtb,
      bootconfig: Buffer.from('androidboot.hardware=zlab\n'),
      cmdline: 'androidboot.console=ttyS0',
      name: 'zlab_x86',
    });
    const v = parseVendorBootImage(buf);
    expect(v.headerVersion).toBe(4);
    expect(v.pageSize).toBe(2048);
    expect(v.headerSize).toBe(2128);
    expect(v.cmdline).toBe('androidboot.console=ttyS0');
    expect(v.name).toBe('zlab_x86');
    expect(v.vendorRamdisk.length).toBe(4000);
    expect(v.dtb.equals(dtb)).toBe(true);
    expect(v.bootconfig.toString()).toBe('androidboot.hardware=zlab\n');
    expect(v.ramdiskTable.map((e) => [e.name, e.type, e.offset, e.size])).toEqual([
      ['platform', 'platform', 0, 1000],
      ['dlkm', 'dlkm', 1000, 3000],
    ]);
    expect(v.ramdiskTable[0]?.boardId.slice(0, 3)).toEqual([1, 2, 0]);
    expect(v.ramdiskTable[1]?.data.equals(bytes(3000, 2))).toBe(true);
    // 2128-byte header takes two 2048-byte pages.
    expect(v.dtbAddr).toBe(0x11f00000);
    expect(buf.subarray(4096, 4096 + 1000).equals(bytes(1000, 1))).toBe(true);
  });

  it('names a bad vendor header', () => {
    const buf = Buffer.from(buildVendorBootImage({ headerVersion: 3, vendorRamdisk: ramdisk, dtb }));
    expectField(() => parseBootImage(buf), 'magic', /magic is "VNDRBOOT", expected "ANDROID!"/);
    const bad = Buffer.from(buf);
    bad.writeUInt32LE(2, 8);
    expectField(() => parseVendorBootImage(bad), 'header_version', /not 3 or 4/);
    expectField(() => parseVendorBootImage(buf.subarray(0, 8192 + 100)), 'dtb_size', /dtb \(700 bytes at offset 8192\) runs past/);
    const entry = Buffer.from(buildVendorBootImage({ headerVersion: 4, ramdisks: [{ name: 'a', data: ramdisk }], dtb }));
    entry.writeUInt32LE(100, 2120);
    expectField(() => parseVendorBootImage(entry), 'vendor_ramdisk_table_entry_size', /expected 108/);
  });
});
