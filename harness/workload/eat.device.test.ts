import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowDelta } from '../collect/series.js';
import { UsageError } from '../util/errors.js';
import { buildWorkloadBinaries } from './device-binaries.js';
import { DEVICE_TOOL_DIR } from './device-tools.js';
import { parseEatOptions } from './eat-options.js';
import { runEat, type EatResult } from './eat-run.js';
import { openWorkloadDevice, useZram, type DeviceFixture } from './virtual-device.fixture.js';

let fixture: DeviceFixture;
let dir: string;
let restoreZram: (() => Promise<void>) | undefined;

beforeAll(async () => {
  process.env.ZLAB_STATE_DIR ??= await mkdtemp(join(tmpdir(), 'zlab-state-'));
  dir = await mkdtemp(join(tmpdir(), 'zlab-eat-device-'));
  await buildWorkloadBinaries();
  fixture = await openWorkloadDevice((line) => process.stderr.write(`${line}\n`));
  // the run is specified for 1 GiB of RAM over 2 GiB of lz4 zram
  restoreZram = await useZram(fixture.device, { algorithm: 'lz4', disksizeBytes: 2 * 1024 ** 3 });
}, 300_000);

afterAll(async () => {
  await restoreZram?.().catch((err: Error) => process.stderr.write(`zram0 not restored: ${err.message}\n`));
  await fixture?.close();
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('the eater under pressure on the device', () => {
  let result: EatResult;

  beforeAll(async () => {
    // 1.5× RAM of 3:1 data, with same-filled and zero pages mixed in
    const request = parseEatOptions({ size: '150%', ratio: '3', sameFilled: '10%', zero: '5%', holdMs: '2000', retouch: '1', periodMs: '100' });
    result = await runEat(fixture.device, request, { localDir: join(dir, 'run'), progress: (m) => process.stderr.write(`${m}\n`) });
    process.stderr.write(`${JSON.stringify({ pages: result.summary.pages, swapped: result.summary.swappedBeforeRetouch, headline: { ...result.headline, warnings: undefined }, samePages: result.samePages, phases: result.summary.phases }, null, 1)}\n`);
  }, 1_800_000);

  it('swaps, and every page comes back intact', () => {
    const { summary, headline } = result;
    expect(summary.errors).toEqual([]);
    expect(summary.oomScoreAdj.applied).toBe(true);
    expect(summary.pages.written).toBe(summary.pages.target);
    expect(summary.pages.verified).toBe(summary.pages.written);
    expect(summary.corruptPages).toBe(0);
    expect(headline.valid).toBe(true);
    expect(headline.pswpout).toBeGreaterThan(0);
    expect(headline.zram?.origDataGrowthBytes).toBeGreaterThan(0);
    expect(headline.zram?.algorithm).toBe('lz4');
    expect(summary.swappedBeforeRetouch!.data).toBeGreaterThan(0);
  });

  it('shows pgsteal_anon rising during the fill', () => {
    const fill = result.summary.phases.find((p) => p.name === 'fill')!;
    const during = windowDelta(result.record, 'vmstat.pgsteal_anon', { startNs: fill.startBoottimeNs, endNs: fill.endBoottimeNs });
    expect(during).not.toBeNull();
    expect(during!.delta).toBeGreaterThan(0);
    expect(result.headline.pgstealAnonPerSec).toBeGreaterThan(0);
    expect(result.headline.kswapdCpuShare).toBeGreaterThan(0);
  });

  it("stores the eater's same-filled pages as same_pages and its zero pages in the swap zeromap", () => {
    const check = result.samePages!;
    expect(check).not.toBeNull();
    expect(check.eaterSameFilledSwapped).toBeGreaterThan(0);
    expect(check.eaterZeroSwapped).toBeGreaterThan(0);
    // 6.12: all-zero pages never reach zram; they are counted in swpout_zero
    expect(check.swpoutZeroGrowth).not.toBeNull();
    expect(check.swpoutZeroGrowth!).toBeGreaterThanOrEqual(check.eaterZeroSwapped);
    // same_pages grew by the eater's same-filled pages out in swap, give or
    // take pages still in the swap cache at the census and other processes'
    const tolerance = Math.max(64, Math.ceil(check.eaterSameFilledSwapped * 0.02));
    expect(Math.abs(check.difference!)).toBeLessThanOrEqual(tolerance);
  });
});

describe('bad input on the device', () => {
  it('refuses a size above RAM + swap before anything runs there', async () => {
    const before = (await fixture.device.shell(`ls ${DEVICE_TOOL_DIR}`)).stdout;
    await expect(runEat(fixture.device, parseEatOptions({ size: '400%' }), { localDir: join(dir, 'refused') })).rejects.toThrow(UsageError);
    await expect(runEat(fixture.device, parseEatOptions({ size: '400%' }), { localDir: join(dir, 'refused') })).rejects.toThrow(/--size: .* more than RAM \+ swap/);
    expect((await fixture.device.shell(`ls ${DEVICE_TOOL_DIR}`)).stdout).toBe(before);
  }, 60_000);
});
