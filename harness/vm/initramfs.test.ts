import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeCpioNewc } from './cpio-newc.js';
import { buildInitramfs } from './initramfs.js';
import { selectKernel } from './kernel.js';

let dir: string;
const savedCache = process.env.ZLAB_CACHE_DIR;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-initramfs-'));
  process.env.ZLAB_CACHE_DIR = join(dir, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.ZLAB_CACHE_DIR;
  else process.env.ZLAB_CACHE_DIR = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

/** List (and optionally extract) an archive with Debian's cpio. */
async function cpioList(archive: Buffer): Promise<string[]> {
  const { stdout } = await execa('cpio', ['-it', '--quiet'], { input: archive });
  return stdout.split('\n');
}

describe('cpio newc writer', () => {
  it("writes archives Debian's cpio reads back byte for byte", async () => {
    const data = Buffer.from('odd length data\n');
    const archive = writeCpioNewc([
      { type: 'dir', path: 'etc' },
      { type: 'file', path: 'etc/props', data, mode: 0o640 },
      { type: 'symlink', path: 'etc/link', target: '/etc/props' },
    ]);
    expect(await cpioList(archive)).toEqual(['etc', 'etc/props', 'etc/link']);
    const out = join(dir, 'extract');
    await execa('sh', ['-c', `mkdir -p ${out} && cd ${out} && cpio -id --quiet`], { input: archive });
    expect(readFileSync(join(out, 'etc/props')).equals(data)).toBe(true);
    const { stdout } = await execa('stat', ['-c', '%a %N', join(out, 'etc/props'), join(out, 'etc/link')]);
    expect(stdout).toContain('640 ');
    expect(stdout).toContain("-> '/etc/props'");
  });

  it('refuses paths that climb out and duplicates', () => {
    expect(() => writeCpioNewc([{ type: 'dir', path: '../x' }])).toThrow(/bad initramfs path/);
    expect(() => writeCpioNewc([{ type: 'dir', path: 'a' }, { type: 'dir', path: '/a' }])).toThrow(/duplicate/);
  });
});

describe('initramfs', () => {
  it("holds busybox, adbd, the guest scripts, props and the kernel's zram modules in load order", async () => {
    const adbd = join(dir, 'adbd');
    writeFileSync(adbd, 'adbd stand-in: only its bytes are packed here');
    const kernel = selectKernel();
    const first = await buildInitramfs({ kernel, adbdPath: adbd });
    expect(first.cached).toBe(false);
    expect(first.path.startsWith(join(dir, 'cache', 'initramfs'))).toBe(true);
    const names = await cpioList(gunzipSync(readFileSync(first.path)));
    for (const path of ['init', 'bin/busybox', 'bin/sh', 'sbin/adbd', 'sbin/zlab-reboot', 'system/bin/getprop', 'system/bin/setprop', 'etc/zlab/props', 'etc/inittab', 'dev/console', 'lib/modules/zram.ko', 'lib/modules/load-order']) {
      expect(names).toContain(path);
    }
    // Modules are stored unpacked: busybox insmod cannot read .ko.xz.
    expect(names.some((n) => n.endsWith('.xz'))).toBe(false);
    expect(first.modules.indexOf('lz4_compress.ko')).toBeLessThan(first.modules.indexOf('zram.ko'));

    const extract = join(dir, 'root');
    await execa('sh', ['-c', `mkdir -p ${extract} && cd ${extract} && cpio -id --quiet`], { input: gunzipSync(readFileSync(first.path)) });
    expect(readFileSync(join(extract, 'lib/modules/load-order'), 'utf8').trim().split('\n')).toEqual(first.modules);
    expect(readFileSync(join(extract, 'lib/modules/release'), 'utf8')).toBe(`${kernel.release}\n`);
    expect(readFileSync(join(extract, 'lib/modules/zram.ko')).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const props = readFileSync(join(extract, 'etc/zlab/props'), 'utf8');
    expect(props).toContain('ro.product.cpu.abi=x86_64\n');
    expect(props).toContain(`ro.build.fingerprint=zlab/zlab_vd/zlab_x86_64:${kernel.release}/`);

    const again = await buildInitramfs({ kernel, adbdPath: adbd });
    expect(again).toEqual({ ...first, cached: true });
    writeFileSync(adbd, 'another adbd');
    const rebuilt = await buildInitramfs({ kernel, adbdPath: adbd });
    expect(rebuilt.cached).toBe(false);
    expect(rebuilt.path).not.toBe(first.path);
  });

  it('carries no modules for a kernel without them', async () => {
    const adbd = join(dir, 'adbd');
    writeFileSync(adbd, 'x');
    const image = await buildInitramfs({ kernel: { path: '/nonexistent/bzImage', release: '6.12.0-tiny', modulesDir: null }, adbdPath: adbd });
    expect(image.modules).toEqual([]);
    const names = await cpioList(gunzipSync(readFileSync(image.path)));
    expect(names.filter((n) => n.startsWith('lib/modules/'))).toEqual([]);
  });

  it('says how to build a missing adbd', async () => {
    await expect(buildInitramfs({ kernel: selectKernel(), adbdPath: join(dir, 'absent-adbd') })).rejects.toThrow(/make -C device-scripts/);
  });
});
