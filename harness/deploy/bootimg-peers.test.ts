/**
 * Cross-checks against the boot image tools Debian ships: mkbootimg and
 * unpack_bootimg (Android 10 platform tools: header v0-v3) and abootimg (v0).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootImage, buildVendorBootImage, encodeOsVersion, parseBootImage, parseVendorBootImage } from './bootimg.js';

let dir: string;
const file = (name: string) => join(dir, name);
const read = (name: string) => readFileSync(file(name));
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + seed * 7) & 0xff));
const kernel = bytes(70001, 1);
const ramdisk = bytes(12345, 2);
const second = bytes(999, 3);
const dtbo = bytes(1500, 4);
const dtb = bytes(2222, 5);
const cmdline = 'console=ttyS0 zram.num_devices=1 zlab.test="a b"';
const longCmdline = `${cmdline} ${'x'.repeat(700)}`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-bootimg-'));
  writeFileSync(file('kernel'), kernel);
  writeFileSync(file('ramdisk'), ramdisk);
  writeFileSync(file('second'), second);
  writeFileSync(file('dtbo'), dtbo);
  writeFileSync(file('dtb'), dtb);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run unpack_bootimg and return its printed fields plus a reader for the extracted files. */
async function unpack(image: Buffer, name: string) {
  writeFileSync(file(`${name}.img`), image);
  const out = file(`${name}.out`);
  const { stdout } = await execa('unpack_bootimg', ['--boot_img', file(`${name}.img`), '--out', out]);
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf(': ');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 2));
  }
  return { fields, extracted: (part: string) => readFileSync(join(out, part)) };
}

describe('images mkbootimg builds parse identically in zlab, and zlab builds the same bytes', () => {
  it.each([
    [0, 2048],
    [1, 4096],
    [2, 2048],
    [2, 16384],
  ] as const)('header v%d, page %d', async (v, pageSize) => {
    const args = ['--kernel', file('kernel'), '--ramdisk', file('ramdisk'), '--second', file('second')];
    // Debian's mkbootimg 29 crashes on --recovery_dtbo (a float offset under Python 3),
    // so recovery_dtbo is cross-checked through unpack_bootimg only.
    if (v === 2) args.push('--dtb', file('dtb'));
    args.push('--cmdline', longCmdline, '--board', 'zlab_board', '--os_version', '11.2.3', '--os_patch_level', '2023-09');
    args.push('--pagesize', String(pageSize), '--header_version', String(v), '--base', '0x80000000', '-o', file(`mk${v}.img`));
    await execa('mkbootimg', args);
    const theirs = read(`mk${v}.img`);
    const img = parseBootImage(theirs);
    expect(img.headerVersion).toBe(v);
    expect(img.pageSize).toBe(pageSize);
    expect(img.kernel.equals(kernel)).toBe(true);
    expect(img.ramdisk.equals(ramdisk)).toBe(true);
    expect(img.second.equals(second)).toBe(true);
    expect(img.recoveryDtbo.length).toBe(0);
    expect(img.dtb.equals(v === 2 ? dtb : Buffer.alloc(0))).toBe(true);
    expect(img.cmdline).toBe(longCmdline);
    expect(img.name).toBe('zlab_board');
    expect(img.osVersion).toEqual({ version: '11.2.3', patchLevel: '2023-09', raw: encodeOsVersion({ version: '11.2.3', patchLevel: '2023-09' }) });
    expect(img.kernelAddr).toBe(0x80008000);
    expect(img.ramdiskAddr).toBe(0x81000000);
    expect(img.secondAddr).toBe(0x80f00000);
    expect(img.tagsAddr).toBe(0x80000100);
    if (v === 2) expect(img.dtbAddr).toBe(0x81f00000);
    expect(img.imageSize).toBe(theirs.length);

    const ours = buildBootImage({
      headerVersion: v,
      kernel,
      ramdisk,
      second,
      dtb: v === 2 ? dtb : undefined,
      cmdline: longCmdline,
      name: 'zlab_board',
      osVersion: { version: '11.2.3', patchLevel: '2023-09' },
      pageSize,
      kernelAddr: 0x80008000,
      ramdiskAddr: 0x81000000,
      secondAddr: 0x80f00000,
      tagsAddr: 0x80000100,
      dtbAddr: v === 2 ? 0x81f00000 : undefined,
    });
    expect(ours.equals(theirs)).toBe(true);
  });

  it('header v3 with its vendor_boot', async () => {
    await execa('mkbootimg', [
      '--kernel', file('kernel'), '--ramdisk', file('ramdisk'), '--cmdline', cmdline,
      '--os_version', '13', '--os_patch_level', '2025-01', '--header_version', '3', '-o', file('mk3.img'),
      '--vendor_boot', file('mk3-vendor.img'), '--vendor_ramdisk', file('second'), '--dtb', file('dtb'),
      '--vendor_cmdline', 'androidboot.hardware=zlab', '--board', 'zlab_vendor', '--pagesize', '4096',
    ]);
    const theirs = read('mk3.img');
    const img = parseBootImage(theirs);
    expect(img.headerVersion).toBe(3);
    expect(img.headerSize).toBe(1596); // Android 10 tools' value, accepted on reading
    expect(img.kernel.equals(kernel)).toBe(true);
    expect(img.ramdisk.equals(ramdisk)).toBe(true);
    expect(img.cmdline).toBe(cmdline);
    expect(img.osVersion.version).toBe('13.0.0');
    expect(img.osVersion.patchLevel).toBe('2025-01');

    const ours = buildBootImage({ headerVersion: 3, kernel, ramdisk, cmdline, osVersion: img.osVersion.raw });
    expect(ours.length).toBe(theirs.length);
    // Identical except header_size, where zlab writes AOSP's final 1580.
    expect(ours.readUInt32LE(20)).toBe(1580);
    const masked = Buffer.from(ours);
    masked.writeUInt32LE(1596, 20);
    expect(masked.equals(theirs)).toBe(true);

    const vendor = parseVendorBootImage(read('mk3-vendor.img'));
    expect(vendor.headerVersion).toBe(3);
    expect(vendor.pageSize).toBe(4096);
    expect(vendor.vendorRamdisk.equals(second)).toBe(true);
    expect(vendor.dtb.equals(dtb)).toBe(true);
    expect(vendor.cmdline).toBe('androidboot.hardware=zlab');
    expect(vendor.name).toBe('zlab_vendor');
    expect(vendor.kernelAddr).toBe(0x10008000);
    expect(vendor.ramdiskAddr).toBe(0x11000000);
    expect(vendor.tagsAddr).toBe(0x10000100);
    expect(vendor.dtbAddr).toBe(0x11f00000);
  });
});

describe('images zlab writes unpack with unpack_bootimg byte for byte', () => {
  it.each([0, 1, 2, 3] as const)('header v%d', async (v) => {
    const legacy = v <= 2;
    const image = buildBootImage({
      headerVersion: v,
      kernel,
      ramdisk,
      second: legacy ? second : undefined,
      recoveryDtbo: v === 1 || v === 2 ? dtbo : undefined,
      dtb: v === 2 ? dtb : undefined,
      cmdline: longCmdline,
      name: legacy ? 'zlab_x86' : undefined,
      osVersion: { version: '14.1', patchLevel: '2025-06' },
      pageSize: legacy ? 4096 : undefined,
    });
    const { fields, extracted } = await unpack(image, `zlab${v}`);
    expect(fields.get('boot image header version')).toBe(String(v));
    expect(extracted('kernel').equals(kernel)).toBe(true);
    expect(extracted('ramdisk').equals(ramdisk)).toBe(true);
    expect(fields.get('os version')).toBe('14.1.0');
    expect(fields.get('os patch level')).toBe('2025-06');
    if (legacy) {
      expect(extracted('second').equals(second)).toBe(true);
      expect(fields.get('product name')).toBe('zlab_x86');
      expect(`${fields.get('command line args')}${fields.get('additional command line args')}`).toBe(longCmdline);
      expect(fields.get('page size')).toBe('4096');
    } else {
      expect(fields.get('command line args')).toBe(longCmdline);
    }
    if (v >= 1 && legacy) expect(extracted('recovery_dtbo').equals(dtbo)).toBe(true);
    if (v === 2) expect(extracted('dtb').equals(dtb)).toBe(true);
  });

  it('vendor_boot v3', async () => {
    const image = buildVendorBootImage({ headerVersion: 3, vendorRamdisk: ramdisk, dtb, cmdline: 'androidboot.x=1', name: 'zlab_v' });
    const { fields, extracted } = await unpack(image, 'vendor3');
    expect(fields.get('vendor boot image header version')).toBe('3');
    expect(fields.get('vendor command line args')).toBe('androidboot.x=1');
    expect(fields.get('product name')).toBe('zlab_v');
    expect(extracted('vendor_ramdisk').equals(ramdisk)).toBe(true);
    expect(extracted('dtb').equals(dtb)).toBe(true);
  });
});

describe('abootimg (v0)', () => {
  it('parses what abootimg creates', async () => {
    await execa('abootimg', [
      '--create', file('ab.img'), '-c', `cmdline=${cmdline}`, '-c', 'name=ab_board', '-c', 'pagesize=0x1000',
      '-c', 'kerneladdr=0x10008000', '-k', file('kernel'), '-r', file('ramdisk'),
    ]);
    const img = parseBootImage(read('ab.img'));
    expect(img.headerVersion).toBe(0);
    expect(img.pageSize).toBe(4096);
    expect(img.kernel.equals(kernel)).toBe(true);
    expect(img.ramdisk.equals(ramdisk)).toBe(true);
    expect(img.cmdline).toBe(cmdline);
    expect(img.name).toBe('ab_board');
    expect(img.kernelAddr).toBe(0x10008000);
  });

  // abootimg 0.6 extracts `second` one page early even from images it wrote
  // itself, so only kernel, ramdisk and the header are compared.
  it('extracts what zlab writes', async () => {
    writeFileSync(file('zab.img'), buildBootImage({ kernel, ramdisk, cmdline, name: 'zlab_ab', pageSize: 2048 }));
    await execa('abootimg', ['-x', file('zab.img'), file('zab.cfg'), file('zab.kernel'), file('zab.ramdisk')]);
    expect(read('zab.kernel').equals(kernel)).toBe(true);
    expect(read('zab.ramdisk').equals(ramdisk)).toBe(true);
    const cfg = read('zab.cfg').toString();
    expect(cfg).toContain(`cmdline = ${cmdline}\n`);
    expect(cfg).toContain('name = zlab_ab\n');
    expect(cfg).toContain('pagesize = 0x800\n');
  });
});
