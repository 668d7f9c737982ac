/**
 * The guest's getprop and setprop, run with the initramfs's own busybox in a
 * chroot of the unpacked image (chroot needs root, as the virtual device's
 * host set-up does).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildInitramfs } from './initramfs.js';
import { selectKernel } from './kernel.js';

const isRoot = process.getuid?.() === 0;
const describeAsRoot = isRoot ? describe : describe.skip;
if (!isRoot) process.stderr.write('guest property scripts: skipped, chroot needs root\n');

let dir: string;
let root: string;
const savedCache = process.env.ZLAB_CACHE_DIR;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-guest-props-'));
  process.env.ZLAB_CACHE_DIR = join(dir, 'cache');
  writeFileSync(join(dir, 'adbd'), 'not run here');
  const image = await buildInitramfs({ kernel: selectKernel(), adbdPath: join(dir, 'adbd') });
  root = join(dir, 'root');
  mkdirSync(root);
  await execa('cpio', ['-id', '--quiet', '--no-absolute-filenames'], { cwd: root, input: gunzipSync(readFileSync(image.path)) });
  mkdirSync(join(root, 'run', 'zlab'), { recursive: true });
  writeFileSync(join(root, 'run', 'zlab', 'props'), '');
});

afterAll(() => {
  if (savedCache === undefined) delete process.env.ZLAB_CACHE_DIR;
  else process.env.ZLAB_CACHE_DIR = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

const guest = (...command: string[]) => execa('chroot', [root, ...command], { reject: false, env: { PATH: '/system/bin:/bin:/sbin' } });

describeAsRoot('guest getprop and setprop', () => {
  it('lists every property as sorted [key]: [value] lines', async () => {
    const { stdout, exitCode } = await guest('/system/bin/getprop');
    expect(exitCode).toBe(0);
    const lines = stdout.split('\n');
    expect(lines).toContain('[ro.product.cpu.abi]: [x86_64]');
    expect(lines).toContain('[ro.product.model]: [zlab virtual device]');
    for (const line of lines) expect(line).toMatch(/^\[[^\]]+\]: \[.*\]$/);
    expect([...lines].sort()).toEqual(lines);
  });

  it('prints one value, an empty line or the default for an unset key', async () => {
    expect((await guest('/system/bin/getprop', 'ro.product.device')).stdout).toBe('zlab_x86_64');
    const missing = await guest('/system/bin/getprop', 'no.such.key');
    expect(missing.exitCode).toBe(0);
    expect(missing.stdout).toBe('');
    expect((await guest('/system/bin/getprop', 'no.such.key', 'fallback')).stdout).toBe('fallback');
  });

  it('sets and replaces runtime properties, values with spaces and = included', async () => {
    expect((await guest('/system/bin/setprop', 'sys.boot_completed', '0')).exitCode).toBe(0);
    expect((await guest('/system/bin/setprop', 'sys.boot_completed', '1')).exitCode).toBe(0);
    expect((await guest('/system/bin/setprop', 'zlab.note', 'a b=c')).exitCode).toBe(0);
    expect((await guest('/system/bin/getprop', 'sys.boot_completed')).stdout).toBe('1');
    expect((await guest('/system/bin/getprop', 'zlab.note')).stdout).toBe('a b=c');
    const all = (await guest('/system/bin/getprop')).stdout.split('\n');
    expect(all.filter((l) => l.startsWith('[sys.boot_completed]'))).toEqual(['[sys.boot_completed]: [1]']);
  });

  it('refuses to change a read-only property or take a bad name', async () => {
    const readOnly = await guest('/system/bin/setprop', 'ro.product.model', 'other');
    expect(readOnly.exitCode).toBe(1);
    expect(readOnly.stderr).toContain('ro.product.model is read-only');
    expect((await guest('/system/bin/getprop', 'ro.product.model')).stdout).toBe('zlab virtual device');
    const bad = await guest('/system/bin/setprop', 'bad;name', 'x');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('invalid property name');
    expect((await guest('/system/bin/setprop', 'only.key')).exitCode).toBe(1);
  });
});
