import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Device } from '../../../harness/device/device.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyConfiguration, discoverDevice, restoreConfiguration } from '../../../harness/configure/apply-configuration.js';
import { knobSummary, type DeviceState } from '../../../harness/configure/device-state.js';
import { loadSnapshot, snapshotPath } from '../../../harness/configure/snapshot-store.js';
import { readBootId } from '../../../harness/collect/sampler-control.js';
import { column, windowDelta } from '../../../harness/collect/series.js';
import { runDoctor, type DoctorReport } from '../../../harness/doctor/doctor.js';
import { describeOnDevice, resolveTestDevice } from '../../../harness/testing/on-device.js';
import { unmetRequirements } from '../../../harness/testing/requirements.js';
import { buildWorkloadBinaries } from '../../../harness/workload/device-binaries.js';
import { parseEatOptions } from '../../../harness/workload/eat-options.js';
import { runEat, type EatResult } from '../../../harness/workload/eat-run.js';
import { expectedKcompressd, otherAlgorithm, roundTripTarget } from './lab-choices.js';

/*
 * The lab suite: what a lab checks on a phone before trusting it with
 * experiments, and what CI checks on the virtual device. Each part states
 * what it needs; a device lacking it skips that part with the reason.
 * The parts run in order in one file: they share one device and must not
 * overlap (the round trip rebuilds zram0, the eater fills it).
 */

function note(part: string, figures: Record<string, unknown>): void {
  process.stderr.write(`[lab] ${part}: ${JSON.stringify(figures)}\n`);
}

// Read up front (before any part is declared): the round trip's algorithm is
// one of its requirements, and a bad ZLAB_EXPECT_KCOMPRESSD must fail the run.
const expectKcompressd = expectedKcompressd();
const probed = await resolveTestDevice();
let roundTripAlgorithm = 'lz4';
if (typeof probed !== 'string') {
  const line = (await probed.shell('cat /sys/block/zram0/comp_algorithm 2>/dev/null')).stdout.trim();
  const current = /\[([^\]]+)\]/.exec(line)?.[1] ?? null;
  roundTripAlgorithm = otherAlgorithm(current, line.replace(/[[\]]/g, ' ').split(/\s+/).filter(Boolean));
}

await describeOnDevice('zram configuration round trip', { requires: { root: true, zram: true, algorithms: [roundTripAlgorithm] } }, (device) => {
  afterAll(async () => {
    // A failed step must not leave the phone reconfigured for the next suite.
    await restoreConfiguration(device, { handleSignals: false }).catch((err: Error) => process.stderr.write(`[lab] restore after the round trip failed: ${err.message}\n`));
  }, 300_000);

  it(`applies ${roundTripAlgorithm}, a new disksize, swappiness and page-cluster, reads them back, and restores to the first snapshot`, async () => {
    // Restoring on top of an older pending snapshot would restore to that, not to now.
    expect({ pending: loadSnapshot(device.serial) && snapshotPath(device.serial) }).toEqual({ pending: null });
    const before = await discoverDevice(device);
    const target = roundTripTarget(before, roundTripAlgorithm);
    const started = Date.now();

    const report = await applyConfiguration(device, target.config, { handleSignals: false });
    expect(report.changes.map((c) => c.knob).sort()).toEqual(['vm.page_cluster', 'vm.swappiness', 'zram0'].sort());
    const applied: DeviceState = await discoverDevice(device);
    const zram0 = applied.zram.find((z) => z.index === 0)!;
    expect({ algorithm: zram0.algorithm, disksize: zram0.disksize }).toEqual({ algorithm: target.algorithm, disksize: target.disksizeBytes });
    expect({ swappiness: applied.sysctls.swappiness, pageCluster: applied.sysctls['page-cluster'] }).toEqual({ swappiness: target.swappiness, pageCluster: target.pageCluster });
    // zram0 stays swap if it was swap.
    expect(zram0.swap === null).toBe(before.zram.find((z) => z.index === 0)!.swap === null);

    const restored = await restoreConfiguration(device, { handleSignals: false });
    expect(restored.restored).toBe(true);
    const after = await discoverDevice(device);
    expect(knobSummary(after)).toEqual(knobSummary(before));
    expect(loadSnapshot(device.serial)).toBeNull();
    note('round trip', {
      from: { algorithm: before.zram[0]?.algorithm, disksize: before.zram[0]?.disksize, swappiness: before.sysctls.swappiness, pageCluster: before.sysctls['page-cluster'] },
      to: { algorithm: target.algorithm, disksize: target.disksizeBytes, swappiness: target.swappiness, pageCluster: target.pageCluster },
      seconds: (Date.now() - started) / 1000,
    });
  }, 600_000);
});

// The eater and sampler parts judge the same run from two sides; the first
// part that needs it starts it, so the device fills once (minutes under TCG).
const SAMPLER_PERIOD_MS = 100;
let eaterRun: Promise<EatRun> | undefined;

interface EatRun {
  result: EatResult;
  bootBefore: string;
  bootAfter: string;
}

function sharedEaterRun(device: Device): Promise<EatRun> {
  eaterRun ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlab-lab-eat-'));
    try {
      await buildWorkloadBinaries();
      // All of RAM (more than is free) of 3:1 data, a quarter same-filled, one
      // re-touch pass to read every page back: pressure enough to swap, and as
      // short as that allows. Larger sizes mostly lengthen the re-touch, which
      // thrashes (every page is pushed out before it is read again).
      const request = parseEatOptions({ size: process.env.ZLAB_LAB_EAT_SIZE ?? '100%', ratio: '3', sameFilled: '25%', holdMs: '0', retouch: '1', periodMs: String(SAMPLER_PERIOD_MS) });
      const bootBefore = await readBootId(device);
      const started = Date.now();
      const result = await runEat(device, request, { localDir: dir, progress: (m) => process.stderr.write(`[lab] eater: ${m}\n`) });
      const bootAfter = await readBootId(device);
      note('eater', {
        sizeMib: result.plan.sizeMib,
        seconds: (Date.now() - started) / 1000,
        phases: result.summary.phases.map((p) => `${p.name} ${((p.endBoottimeNs - p.startBoottimeNs) / 1e9).toFixed(1)} s`),
        pages: result.summary.pages,
        pswpout: result.headline.pswpout,
        pgstealAnonPerSec: result.headline.pgstealAnonPerSec,
        compressionRatio: result.headline.zram?.compressionRatio,
      });
      return { result, bootBefore, bootAfter };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return eaterRun;
}

const EATER_TIMEOUT_MS = 1_500_000;

await describeOnDevice('eater integrity', { requires: { root: true, zram: true, minMemoryMiB: 512 } }, (device) => {
  let result: EatResult;
  beforeAll(async () => {
    ({ result } = await sharedEaterRun(device));
  }, EATER_TIMEOUT_MS);

  it('writes every page and reads every page back intact', () => {
    const { summary } = result;
    expect(summary.errors).toEqual([]);
    expect(summary.pages.written).toBe(summary.pages.target);
    expect(summary.pages.verified).toBe(summary.pages.written);
    expect(summary.corruptPages).toBe(0);
    expect(summary.firstCorrupt).toEqual([]);
  });

  it('pushes pages out to zram (pswpout > 0) and stores them there', () => {
    expect(result.headline.valid).toBe(true);
    expect(result.headline.pswpout).toBeGreaterThan(0);
    expect(result.headline.zram?.origDataGrowthBytes).toBeGreaterThan(0);
    expect(result.summary.swappedBeforeRetouch?.data).toBeGreaterThan(0);
  });
});

await describeOnDevice('sampler', { requires: { root: true, zram: true, minMemoryMiB: 512 } }, (device) => {
  let run: EatRun;
  beforeAll(async () => {
    run = await sharedEaterRun(device);
  }, EATER_TIMEOUT_MS);

  it(`keeps to its ${SAMPLER_PERIOD_MS} ms schedule, counts every tick it missed, and stops cleanly`, () => {
    const { record } = run.result;
    expect(record.header.periodNs).toBe(SAMPLER_PERIOD_MS * 1e6);
    expect(record.truncated).toBe(false);
    expect(record.end).not.toBeNull();
    const { samples, overruns } = record.end!;
    expect(samples).toBe(record.tNs.length);
    const spanMs = (record.tNs[record.tNs.length - 1]! - record.tNs[0]!) / 1e6;
    const gaps = Array.from(record.tNs.subarray(1), (t, i) => (t - record.tNs[i]!) / 1e6).sort((a, b) => a - b);
    const quantile = (q: number) => gaps[Math.floor(q * (gaps.length - 1))]!;
    note('sampler', { samples, overruns, seconds: spanMs / 1000, gapMs: { min: gaps[0], p10: quantile(0.1), median: quantile(0.5), max: gaps[gaps.length - 1] } });
    // A starved device (pressure, an emulated CPU) may miss ticks, but every
    // tick of the asked period is either a sample or a counted overrun.
    expect(Math.abs((samples - 1 + overruns) * SAMPLER_PERIOD_MS - spanMs)).toBeLessThanOrEqual(Math.max(3 * SAMPLER_PERIOD_MS, spanMs * 0.01));
    // Never more samples than ticks (a late sample is followed by an on-time
    // one, so single gaps may be short), and on time whenever the device lets it.
    expect(samples - 1).toBeLessThanOrEqual(spanMs / SAMPLER_PERIOD_MS + 1);
    expect(quantile(0.1)).toBeLessThan(SAMPLER_PERIOD_MS * 1.25);
  });

  it('parses into valid series: counters never go backwards, vmstat and zram columns are there', () => {
    const { record, headline } = run.result;
    expect(headline.reasons).toEqual([]);
    expect(headline.valid).toBe(true);
    for (const name of ['vmstat.pgsteal_anon', 'vmstat.pswpout']) {
      const values = column(record, name);
      expect(values).toHaveLength(record.tNs.length);
      expect(values.every((v) => Number.isFinite(v))).toBe(true);
    }
    expect(record.columns.has('zram0.mm.orig_data_size')).toBe(true);
  });

  it('shows pgsteal_anon rising while the eater fills memory', () => {
    const fill = run.result.summary.phases.find((p) => p.name === 'fill');
    expect(fill).toBeDefined();
    const during = windowDelta(run.result.record, 'vmstat.pgsteal_anon', { startNs: fill!.startBoottimeNs, endNs: fill!.endBoottimeNs });
    expect(during?.delta).toBeGreaterThan(0);
  });

  it('keeps one boot id: before, in the record, and after', () => {
    expect(run.result.record.header.bootId).toBe(run.bootBefore);
    expect(run.bootAfter).toBe(run.bootBefore);
  });
});

await describeOnDevice('kcompressd presence', {}, (device) => {
  let report: DoctorReport;

  beforeAll(async () => {
    report = await runDoctor(device);
    const k = report.kcompressd;
    note('kcompressd', { kernel: report.kernel, present: k.present, design: k.design, threads: k.threads, knobs: k.knobs, expected: expectKcompressd ?? 'not told' });
  }, 120_000);

  it('the doctor and the requirement check agree on kcompressd', async () => {
    const unmetIfPresent = await unmetRequirements(device, { kcompressd: true });
    expect(unmetIfPresent.length === 0).toBe(report.kcompressd.present);
    // A finding names its evidence: threads or knobs, and a design.
    if (report.kcompressd.present) expect(report.kcompressd.threads.length + Object.keys(report.kcompressd.knobs).length).toBeGreaterThan(0);
    else expect(report.kcompressd.design).toBe('none');
  });

  const expectation = expectKcompressd === undefined ? 'not asserted: set ZLAB_EXPECT_KCOMPRESSD=1 or 0 to name the kernel under test' : expectKcompressd ? 'present, as ZLAB_EXPECT_KCOMPRESSD=1 expects' : 'absent, as ZLAB_EXPECT_KCOMPRESSD=0 expects';
  (expectKcompressd === undefined ? it.skip : it)(`kcompressd is ${expectation}`, () => {
    expect(report.kcompressd.present).toBe(expectKcompressd);
  });
});
