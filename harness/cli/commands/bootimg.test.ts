/** `zlab bootimg`, run in-process on its own commander program. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootImage, buildVendorBootImage, parseBootImage } from '../../deploy/bootimg.js';
import { runCommand } from '../../testing/run-command.js';
import { register as registerBootimg } from './bootimg.js';

let dir: string;

const run = (...args: string[]): Promise<string> => runCommand(registerBootimg, args);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-cli-deploy-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, data: Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

describe('zlab bootimg', () => {
  it('info --json reports header version, sizes, cmdline, os_version, name and page size', async () => {
    const path = file('boot.img', buildBootImage({ headerVersion: 1, kernel: Buffer.alloc(3000, 1), ramdisk: Buffer.alloc(100, 2), cmdline: 'console=ttyS0', name: 'zlab_vd', osVersion: { version: '14.0.1', patchLevel: '2025-03' }, pageSize: 4096 }));
    const info = JSON.parse(await run('bootimg', 'info', path, '--json'));
    expect(info).toMatchObject({
      path,
      kind: 'boot',
      headerVersion: 1,
      pageSize: 4096,
      headerSize: 1648,
      name: 'zlab_vd',
      cmdline: 'console=ttyS0',
      osVersion: { version: '14.0.1', patchLevel: '2025-03' },
      sizes: { kernel: 3000, ramdisk: 100, second: 0 },
      imageSize: 4096 * 3,
    });
    const text = await run('bootimg', 'info', path);
    expect(text).toContain('boot image, header v1');
    expect(text).toContain('osVersion   14.0.1, patch level 2025-03');
  });

  it('info reads vendor_boot and names what is wrong with a bad image', async () => {
    const vendor = file('vendor.img', buildVendorBootImage({ headerVersion: 4, ramdisks: [{ name: 'platform', type: 'platform', data: Buffer.alloc(10) }], dtb: Buffer.alloc(20) }));
    expect(JSON.parse(await run('bootimg', 'info', vendor, '--json'))).toMatchObject({ kind: 'vendor_boot', headerVersion: 4, ramdisks: [{ name: 'platform', type: 'platform', size: 10 }] });
    await expect(run('bootimg', 'info', file('junk.img', Buffer.from('not an image at all')))).rejects.toThrow(/magic is "not an i", expected "ANDROID!"/);
    await expect(run('bootimg', 'info', join(dir, 'absent.img'))).rejects.toThrow(/absent\.img: cannot read it: ENOENT/);
  });

  it('repack replaces kernel, cmdline and ramdisk and keeps the rest', async () => {
    const path = file('boot.img', buildBootImage({ kernel: Buffer.alloc(3000, 1), ramdisk: Buffer.alloc(100, 2), cmdline: 'old', name: 'zlab_vd' }));
    const kernel = file('bzImage', Buffer.alloc(7000, 9));
    const ramdisk = file('initrd', Buffer.alloc(500, 8));
    const out = join(dir, 'new.img');
    await run('bootimg', 'repack', path, '--kernel', kernel, '--cmdline', 'console=ttyS0 new', '--ramdisk', ramdisk, '-o', out);
    const img = parseBootImage(readFileSync(out));
    expect(img.kernel.equals(readFileSync(kernel))).toBe(true);
    expect(img.ramdisk.equals(readFileSync(ramdisk))).toBe(true);
    expect(img.cmdline).toBe('console=ttyS0 new');
    expect(img.name).toBe('zlab_vd');
    await expect(run('bootimg', 'repack', path, '-o', out)).rejects.toThrow(/--kernel/);
    await expect(run('bootimg', 'repack', path, '--kernel', join(dir, 'nope'), '-o', out)).rejects.toThrow(/--kernel .*nope: cannot read it/);
  });
});
