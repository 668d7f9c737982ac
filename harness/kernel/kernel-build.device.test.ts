import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AdbServer, startAdbServer } from '../device/adb-server.js';
import { Device } from '../device/device.js';
import { runDoctor } from '../doctor/doctor.js';
import { startVirtualDevice, stopVirtualDevice } from '../vm/api.js';
import { checkBoot } from './boot-check.js';
import { buildKernel } from './build.js';
import { kernelsDir, loadRecipe } from './recipe.js';

/**
 * Builds both recipes (minutes cold, seconds when cached: builds are reused
 * by input hash, so CI builds each kernel at most once) and boots each under
 * QEMU with a busybox initramfs, as the virtual device does.
 */
const eater = join(kernelsDir, '..', 'device-scripts', 'out', 'x86_64', 'memeater');
const log = (line: string) => process.stderr.write(`${line}\n`);
const MIB = 1024 * 1024;

describe('kernel recipes build and boot', () => {
  it('stock-6.12: boots with zram swap and has no kcompressd', async () => {
    const build = await buildKernel(loadRecipe('stock-6.12'), { log });
    expect(existsSync(build.bootImage)).toBe(true);
    const report = await checkBoot({ bzImage: build.bzImage, timeoutMs: 180_000 });
    expect(report.completed).toBe(true);
    expect(report.release).toBe(build.kernelRelease);
    expect(report.zram).toBe(true);
    expect(report.compAlgorithms?.split(/\s+/).map((a) => a.replace(/[[\]]/g, ''))).toEqual(expect.arrayContaining(['lzo', 'lzo-rle', 'lz4', 'zstd']));
    expect(report.swapKib).toBe(2048 * 1024 - 4);
    expect(report.kcompressdThreads).toEqual([]);
    expect(report.knobs).toBeUndefined();
  }, 3_600_000);

  it('kcompressd-6.12: threads and knobs work; eater pages come back intact', async () => {
    const build = await buildKernel(loadRecipe('kcompressd-6.12'), { log });
    const eaterMib = 2048;
    const report = await checkBoot({ bzImage: build.bzImage, memMib: 1024, eater, eaterMib, eaterRatio: 3, timeoutMs: 1_800_000 });
    log(`kcompressd boot check: ${report.seconds} s, vmstat ${JSON.stringify(report.vmstat)}, counters ${JSON.stringify(report.counters)}`);
    expect(report.completed).toBe(true);
    expect(report.release).toBe(build.kernelRelease);
    expect(report.kcompressdThreads).toEqual(['kcompressd0']);
    expect(report.knobs).toEqual({
      depth: 256,
      threads: 1,
      threadsAfter: { '3': ['kcompressd0', 'kcompressd0:1', 'kcompressd0:2'], '0': [], '1': ['kcompressd0'] },
    });
    // The integrity check: every page written comes back as written.
    expect(report.eater?.writtenPages).toBe((eaterMib * MIB) / 4096);
    expect(report.eater?.verifiedPages).toBe(report.eater?.writtenPages);
    expect(report.eater?.corruptPages).toBe(0);
    // The pages really went through swap, and kswapd really handed folios to kcompressd.
    expect(report.vmstat.pswpout).toBeGreaterThan((eaterMib - 1024) * 256);
    expect(report.vmstat.pswpin).toBeGreaterThan(0);
    expect(report.counters.queued).toBeGreaterThan(0);
    expect(report.counters.completed).toBe(report.counters.queued);
    expect(report.counters.queued_now).toBe(0);
  }, 3_600_000);
});

describe('built kernels on the virtual device', () => {
  let server: AdbServer;
  let work: string;
  const savedState = process.env.ZLAB_STATE_DIR;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'zlab-kernel-vd-'));
    process.env.ZLAB_STATE_DIR = join(work, 'state');
    server = await startAdbServer();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (savedState === undefined) delete process.env.ZLAB_STATE_DIR;
    else process.env.ZLAB_STATE_DIR = savedState;
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it.each([
    ['stock-6.12', false],
    ['kcompressd-6.12', true],
  ])('%s boots to adb and zlab doctor finds kcompressd: %s', async (name, expected) => {
    const build = await buildKernel(loadRecipe(name), { log });
    const vm = await startVirtualDevice({ kernel: build.bzImage, adbServerPort: server.port, name: `kernel-${name}` });
    try {
      expect(vm.kernelRelease).toBe(build.kernelRelease);
      const device = await Device.open(vm.serial, { server: { host: '127.0.0.1', port: server.port } });
      const report = await runDoctor(device);
      log(`${name} on the virtual device: boot ${vm.bootSeconds} s; doctor kcompressd: ${JSON.stringify(report.kcompressd)}`);
      expect(report.kcompressd.present).toBe(expected);
      if (expected) expect(report.kcompressd.threads).toContain('kcompressd0');
    } finally {
      await stopVirtualDevice(vm.serial);
    }
  }, 3_600_000);
});
