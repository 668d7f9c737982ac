import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootImage, parseBootImage } from '../deploy/bootimg.js';
import { DeployFailedError, type DeployRequest, type DeployResult } from '../deploy/deploy.js';
import { parseProcVersion } from '../deploy/kernel-identity.js';
import type { Device } from '../device/device.js';
import { checkBootImageFile } from '../nightly/kernel-deploy.js';
import { useTemporaryStateDir } from '../testing/temporary-state-dir.js';
import { UsageError } from '../util/errors.js';
import { flashedDeviceMeasurer, flashTargetFor, restoreKnownGood, type FlashOps } from './flash-measure.js';
import { BisectAbort, CommitSkip, type MeasureSource } from './measure-source.js';

// The deploy itself (bootloader, fastboot, boot, recovery ladder) is harness/deploy's
// and is exercised on the virtual device; here a small fake device runs whatever
// image was last deployed to it, so what bisect asks of it can be checked.

useTemporaryStateDir('zlab-bisect-flash-state-');
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'zlab-bisect-flash-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const banner = (tag: string, build: number) => `6.12.117-stock-6.12 (zlab@zlab-${tag}) (gcc 12.2.0) #${build} SMP Sat Nov 14 12:56:01 GMT 2026`;

/** A "bzImage" carrying a version banner, as a commit's build would give. */
function kernelFile(tag: string, build = 1): string {
  const path = join(work, `${tag}.bzImage`);
  writeFileSync(path, Buffer.from(`Linux version ${banner(tag, build)}\n\0code of ${tag}`));
  return path;
}

const RAMDISK = Buffer.from('the device own ramdisk');
const CMDLINE = 'console=ttyS0 zlab.zram_size=75%';

function knownGoodFile(): string {
  const path = join(work, 'known-good.img');
  writeFileSync(
    path,
    buildBootImage({ headerVersion: 2, kernel: Buffer.from(`Linux version 6.12.117+deb12-amd64 (debian-kernel@lists.debian.org) (gcc 12.2.0) #1 SMP Debian\n`), ramdisk: RAMDISK, cmdline: CMDLINE, name: 'zlab_x86_64' }),
  );
  return path;
}

function fakeDevice(goodPath: string, failing: (image: string) => 'boots' | 'recovered' | 'lost' = () => 'boots') {
  const state = { on: goodPath, deploys: [] as string[], opened: 0, runs: [] as string[] };
  const ops: FlashOps = {
    async running() {
      const image = parseBootImage(readFileSync(state.on));
      return { identity: parseProcVersion(image.kernel.toString('latin1')), cmdline: `${image.cmdline} androidboot.slot_suffix=_a` };
    },
    async deploy(request: DeployRequest) {
      state.deploys.push(request.imagePath);
      const fate = failing(request.imagePath);
      if (fate === 'lost') throw new DeployFailedError(`${request.imagePath} did not boot; recovery failed on every rung`, []);
      state.on = fate === 'recovered' ? goodPath : request.imagePath;
      return {
        serial: request.serial,
        deployed: fate === 'boots',
        rung: fate === 'boots' ? 'none' : 'power-cycle',
        rungNumber: fate === 'boots' ? 0 : 2,
        bootSeconds: 1,
        failure: fate === 'boots' ? null : 'no adb with sys.boot_completed=1 within 300 s',
      } as unknown as DeployResult;
    },
    knownGood: () => ({ path: goodPath, sha256: checkBootImageFile(goodPath).sha256, source: 'recorded', origin: 'slot a', recordedAt: null }),
    async open() {
      state.opened++;
      return {} as Device;
    },
    async runs(_device, commit, count) {
      state.runs.push(`${commit}x${count}`);
      return Array.from({ length: count }, () => (commit.startsWith('b') ? 700 : 1000));
    },
  };
  return { state, ops };
}

const target = { serial: 'emulator-5554', adbServerPort: 5037 };
const good = 'a'.repeat(40);
const bad = 'b'.repeat(40);

function source(): Extract<MeasureSource, { kind: 'device' }> {
  return {
    kind: 'device',
    repo: work,
    image: { kind: 'images', dir: work },
    metric: 'pgsteal_anon_per_sec',
    vm: { memory: '1G', cpus: 2, zramSize: '75%', zramAlgorithm: 'lz4', bootTimeoutSeconds: 300 },
    eat: { size: '120%', ratio: '3', retouch: '1', holdMs: '1000' },
    runTimeoutSeconds: 900,
    target,
  };
}

const kernels = (): Record<string, string> => ({ [good]: kernelFile('aaaa'), [bad]: kernelFile('bbbb') });

describe('bisect on a flashed device (-s SERIAL)', () => {
  it("flashes each commit's kernel inside the device's own image once, and measures it there", async () => {
    const goodImage = knownGoodFile();
    const { state, ops } = fakeDevice(goodImage);
    const byCommit = kernels();
    const measurer = await flashedDeviceMeasurer(source(), () => {}, { ...ops, kernelFor: async (c) => byCommit[c]! });
    expect(await measurer.measure(good, 2)).toEqual([1000, 1000]);
    expect(await measurer.measure(good, 1)).toEqual([1000]);
    expect(await measurer.measure(bad, 3)).toEqual([700, 700, 700]);
    await measurer.close();
    expect(state.deploys).toHaveLength(2);
    expect(state.runs).toEqual([`${good}x2`, `${good}x1`, `${bad}x3`]);
    // The commit's kernel, in the known-good image: its ramdisk, command line and product kept.
    const flashed = parseBootImage(readFileSync(state.deploys[1]!));
    expect(flashed.kernel.toString('latin1')).toContain('code of bbbb');
    expect(flashed.ramdisk.equals(RAMDISK)).toBe(true);
    expect(flashed.cmdline).toBe(CMDLINE);
    expect(checkBootImageFile(state.deploys[1]!).product).toBe('zlab_x86_64');

    // A later step process that finds the device on the commit's kernel does not flash it again.
    const next = await flashedDeviceMeasurer(source(), () => {}, { ...ops, kernelFor: async (c) => byCommit[c]! });
    expect(await next.measure(bad, 1)).toEqual([700]);
    await next.close();
    expect(state.deploys).toHaveLength(2);
  });

  it('skips a commit whose kernel does not boot (the device recovered), and stops when the device is lost', async () => {
    const goodImage = knownGoodFile();
    const byCommit = kernels();
    const recovering = fakeDevice(goodImage, (image) => (readFileSync(image).includes('code of bbbb') ? 'recovered' : 'boots'));
    const measurer = await flashedDeviceMeasurer(source(), () => {}, { ...recovering.ops, kernelFor: async (c) => byCommit[c]! });
    const skip = measurer.measure(bad, 3);
    await expect(skip).rejects.toThrow(CommitSkip);
    await expect(measurer.measure(bad, 3)).rejects.toThrow(/did not boot on emulator-5554 \(no adb with sys.boot_completed=1 within 300 s\); recovered by rung 2 \(power-cycle\)/);
    expect(recovering.state.on).toBe(goodImage);
    expect(recovering.state.runs).toEqual([]);
    await measurer.close();

    const losing = fakeDevice(goodImage, () => 'lost');
    const lost = await flashedDeviceMeasurer(source(), () => {}, { ...losing.ops, kernelFor: async (c) => byCommit[c]! });
    await expect(lost.measure(good, 3)).rejects.toThrow(BisectAbort);
    await lost.close();
  });

  it('puts the device back on its known-good kernel, and leaves it when it is already there', async () => {
    const goodImage = knownGoodFile();
    const { state, ops } = fakeDevice(goodImage);
    const byCommit = kernels();
    const measurer = await flashedDeviceMeasurer(source(), () => {}, { ...ops, kernelFor: async (c) => byCommit[c]! });
    await measurer.measure(bad, 2);
    await measurer.close();
    expect(await restoreKnownGood(target, 300, () => {}, ops)).toBe('restored');
    expect(state.on).toBe(goodImage);
    expect(state.deploys.at(-1)).toBe(goodImage);
    expect(await restoreKnownGood(target, 300, () => {}, ops)).toBe('already');
    expect(state.deploys).toHaveLength(2);
  });

  it('refuses a serial that is not one, or a device adb does not answer for', async () => {
    const { ops } = fakeDevice(knownGoodFile());
    await expect(flashTargetFor('phone; reboot', undefined, ops)).rejects.toThrow(/--serial: "phone; reboot" is not a device serial/);
    const silent = { running: async () => Promise.reject(new Error('device not found')) };
    const refused = flashTargetFor('R5CT1234', 5999, silent);
    await expect(refused).rejects.toThrow(UsageError);
    await expect(flashTargetFor('R5CT1234', 5999, silent)).rejects.toThrow(/--serial: R5CT1234 does not answer on the adb server at port 5999: device not found/);
    await expect(flashTargetFor('R5CT1234', 5999, ops)).resolves.toEqual({ serial: 'R5CT1234', adbServerPort: 5999 });
  });
});
