import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellCommand, shellQuote } from '../device/shell-quote.js';
import { describeOnDevice } from '../testing/on-device.js';
import { buildWorkloadBinaries } from '../workload/device-binaries.js';
import { parseEatOptions, type EatOptionsInput } from '../workload/eat-options.js';
import { runEat } from '../workload/eat-run.js';
import { useZram } from '../workload/virtual-device.fixture.js';
import { findCalibration } from './calibration-store.js';
import { calibrateDevice, predictEatRun, readDeviceFacts, samePagesForPagesOut, type DeviceCalibrationResult, type DeviceFacts } from './device-calibration.js';
import { compareOne, compareRun, type MetricComparison } from './divergence.js';
import { eatRunFigures, type EatRunFigures } from './eat-run-figures.js';
import type { RunPrediction } from './run-prediction.js';

/*
 * Calibrate on one stock baseline run (lz4, data at 3:1), then predict two
 * other stock runs — data at 2:1, and zstd — and hold the predictions against
 * what they measured. To keep the suite short on an emulated device, 600 MiB
 * of RAM is taken by a ramfs ballast (unevictable) and the eater fills 420 MiB
 * without a re-touch pass, so each run is over in about a minute.
 */
const BALLAST_DIR = '/data/local/tmp/zlab-ballast';
const CLEAR_BALLAST = `for i in 1 2 3; do rm -f ${shellQuote(`${BALLAST_DIR}/ballast`)}; umount ${shellQuote(BALLAST_DIR)} 2>/dev/null || break; done; rmdir ${shellQuote(BALLAST_DIR)} 2>/dev/null`;
const RUN: EatOptionsInput = { size: '420M', sameFilled: '10%', zero: '5%', holdMs: '0', retouch: '0', periodMs: '100' };

interface PredictedRun {
  figures: EatRunFigures;
  prediction: RunPrediction;
  pgsteal: MetricComparison;
  /** The model's memory-balance same_pages (how many pages must go out), against the measurement. */
  samePagesBalance: MetricComparison | undefined;
  /** The model's same_pages law applied to the pages that did go out (pswpout + swpout_zero). */
  samePagesLaw: MetricComparison;
}

await describeOnDevice('calibration on the device, predictions of other stock runs', { requires: { root: true, zram: true, algorithms: ['lz4', 'zstd'] } }, (device) => {
  let dir: string;
  let facts: DeviceFacts;
  let calibrated: DeviceCalibrationResult;
  let restoreZram: (() => Promise<void>) | undefined;
  const runs: Record<string, PredictedRun> = {};

  const predicted = async (name: string, ratio: string): Promise<void> => {
    const eat = await runEat(device, parseEatOptions({ ...RUN, ratio }), { localDir: join(dir, name) });
    const figures = eatRunFigures(eat.record, eat.summary);
    const prediction = predictEatRun(calibrated.calibration, await readDeviceFacts(device), eat.summary, figures);
    // a run whose record lacks same_pages at the fill's ends fails only the same_pages checks
    const report = compareRun(prediction.predictions, {
      pgstealAnonPerSec: figures.pgstealAnonPerSec,
      ...(figures.samePagesFillGrowth !== null ? { zramSamePages: figures.samePagesFillGrowth } : {}),
    });
    const by = (m: string) => report.comparisons.find((c) => c.metric === m)!;
    const law = samePagesForPagesOut(eat.summary, figures.pagesOutOverFill);
    const samePagesLaw = compareOne(
      { metric: 'zramSamePages', value: law, low: Math.floor(law * 0.9), high: Math.ceil(law * 1.1), kind: 'calibrated', unit: 'pages', basis: 'same-filled share of the pages out' },
      figures.samePagesFillGrowth ?? Number.NaN,
    );
    runs[name] = { figures, prediction, pgsteal: by('pgstealAnonPerSec'), samePagesBalance: report.comparisons.find((c) => c.metric === 'zramSamePages'), samePagesLaw };
    process.stderr.write(
      `${name}: pgsteal_anon/s predicted ${prediction.pgstealAnonPerSec.toFixed(0)}, measured ${figures.pgstealAnonPerSec.toFixed(0)} ` +
        `(${((runs[name].pgsteal.relativeError ?? 0) * 100).toFixed(1)} %); kswapd ${figures.kswapdSteals} + direct ${figures.directSteals} steals over ${figures.pressure.seconds.toFixed(1)} s; kswapd CPU ${prediction.kswapdCpuShare.toFixed(2)} vs ` +
        `${(figures.kswapdCpuUs / 1e6 / figures.pressure.seconds).toFixed(2)}; eater µs/page before pressure ${figures.faultUs?.toFixed(1)} (baseline ${calibrated.calibration.costs.faultUs.toFixed(1)}); ` +
        `same_pages measured ${figures.samePagesFillGrowth}, ` +
        `by the law on ${figures.pagesOutOverFill} pages out ${law}, by the memory balance ${runs[name].samePagesBalance?.predicted ?? 'n/a'}\n`,
    );
  };

  beforeAll(async () => {
    process.env.ZLAB_STATE_DIR ??= await mkdtemp(join(tmpdir(), 'zlab-state-'));
    dir = await mkdtemp(join(tmpdir(), 'zlab-calibration-device-'));
    await buildWorkloadBinaries(['memeater', 'sampler', 'zramcost']);
    // a ballast left by an interrupted run is cleared first
    await device.run(`${CLEAR_BALLAST}; true`);
    await device.run(
      [
        shellCommand(['mkdir', '-p', BALLAST_DIR]),
        `${shellCommand(['mount', '-t', 'ramfs', 'ramfs', BALLAST_DIR])}`,
        `${shellCommand(['dd', 'if=/dev/zero', `of=${BALLAST_DIR}/ballast`, 'bs=1048576', 'count=600'])} 2>/dev/null`,
      ].join(' && '),
      { timeoutMs: 120_000 },
    );
    restoreZram = await useZram(device, { algorithm: 'lz4', disksizeBytes: 1024 ** 3 });
    facts = await readDeviceFacts(device);
    calibrated = await calibrateDevice(
      device,
      { algorithms: ['lz4', 'zstd'], ratios: [2, 3], pages: 256, repeat: 5, force: true },
      { localDir: join(dir, 'baseline'), baselineEat: { ...RUN, ratio: '3' }, progress: (m) => process.stderr.write(`${m}\n`) },
    );
    const c = calibrated.calibration.costs;
    process.stderr.write(
      `t1 ${c.t1Us.toFixed(1)} µs, t1 direct ${c.t1DirectUs?.toFixed(1) ?? 'not measured'} µs, fault ${c.faultUs.toFixed(1)} µs; t2 ${c.t2Points.map((p) => `${p.algorithm}/${p.dataClass}${p.ratio ?? ''} ${p.usPerPage.toFixed(1)}`).join(', ')}\n`,
    );
    const base = calibrated.baseline!;
    const self = predictEatRun(calibrated.calibration, facts, base.summary, base.figures);
    process.stderr.write(
      `baseline: pgsteal_anon/s measured ${base.figures.pgstealAnonPerSec.toFixed(0)}, its own prediction ${self.pgstealAnonPerSec.toFixed(0)}; ` +
        `kswapd ${base.figures.kswapdSteals} + direct ${base.figures.directSteals} steals over ${base.figures.pressure.seconds.toFixed(1)} s\n`,
    );
    await predicted('lz4-ratio2', '2');
    await restoreZram();
    restoreZram = await useZram(device, { algorithm: 'zstd', disksizeBytes: 1024 ** 3 });
    await predicted('zstd-ratio3', '3');
  }, 900_000);

  afterAll(async () => {
    await restoreZram?.().catch((err: Error) => process.stderr.write(`zram0 not restored: ${err.message}\n`));
    await device.run(`${CLEAR_BALLAST}; true`).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('measures t2 per algorithm and data class, and stores the calibration for the device and kernel', () => {
    const points = calibrated.calibration.costs.t2Points;
    for (const algorithm of ['lz4', 'zstd'] as const) {
      for (const dataClass of ['zero', 'sameFilled', 'compressible'] as const) {
        expect(points.some((p) => p.algorithm === algorithm && p.dataClass === dataClass && p.usPerPage > 0)).toBe(true);
      }
    }
    // zram stored the generator's data at the ratio it was made for
    for (const cell of calibrated.cells!.filter((c) => c.dataClass === 'compressible')) {
      expect(cell.achievedRatio! / cell.ratio!).toBeGreaterThan(0.95);
      expect(cell.achievedRatio! / cell.ratio!).toBeLessThan(1.15);
    }
    for (const cell of calibrated.cells!.filter((c) => c.dataClass !== 'compressible')) expect(cell.samePages).toBe(256);
    expect(calibrated.calibration.costs.t1Us).toBeGreaterThan(0);
    // the stock baseline makes the eater reclaim for itself, so the direct path is measured
    expect(calibrated.calibration.version).toBe(2);
    expect(calibrated.calibration.costs.t1DirectUs).toBeGreaterThanOrEqual(0);
    expect(calibrated.reused).toBe(false);
    expect(findCalibration(facts.name, facts.kernelRelease)?.createdAt).toBe(calibrated.calibration.createdAt);
  });

  it('reuses the stored calibration unless forced', async () => {
    const again = await calibrateDevice(device, { algorithms: ['lz4', 'zstd'] }, { localDir: join(dir, 'unused') });
    expect(again.reused).toBe(true);
    expect(again.calibration.createdAt).toBe(calibrated.calibration.createdAt);
  });

  it('removes the scratch zram device it measured on', async () => {
    expect((await device.run('ls /sys/block')).split(/\s+/).filter((n) => n.startsWith('zram'))).toEqual(['zram0']);
  });

  // ±20 % is not asserted on the emulated device: most steals there are direct
  // reclaim by the eater, priced by the calibrated direct-reclaim cost since
  // calibration version 2 (before, at kswapd's t1); and the emulator's
  // speed follows the host's load from one run to the next (docs/model.md,
  // "On the virtual device"). What holds in every run measured is the lower
  // side of the band: the model does not over-predict.
  it.each(['lz4-ratio2', 'zstd-ratio3'])('predicts pgsteal_anon/s of the %s run no higher than the measurement allows', (name) => {
    const run = runs[name]!;
    expect(run.pgsteal.kind).toBe('calibrated');
    expect(run.pgsteal.low).toBeCloseTo(run.pgsteal.predicted * 0.8, 6);
    expect(run.pgsteal.measured).toBeGreaterThanOrEqual(run.pgsteal.low);
    // a miss, if any, is flagged above the band as a calibrated warning
    if (!run.pgsteal.within) expect([run.pgsteal.direction, run.pgsteal.severity]).toEqual(['above', 'warning']);
  });

  // The exact form (same_pages = same-filled pages out, from the eater's
  // census) needs a re-touch pass, 2–3 minutes per run here; without it the
  // pages out are measured and the model's proportional law is held to its
  // calibrated band. The memory balance alone over-counts the pages out on
  // this device (docs/model.md), so it is reported, not asserted.
  it.each(['lz4-ratio2', 'zstd-ratio3'])('gives zram same_pages of the %s run from the pages that went out', (name) => {
    const run = runs[name]!;
    expect(run.figures.pagesOutOverFill).toBeGreaterThan(0);
    expect(run.samePagesLaw.measured).toBeGreaterThanOrEqual(run.samePagesLaw.low);
    expect(run.samePagesLaw.measured).toBeLessThanOrEqual(run.samePagesLaw.high);
  });
});
