import { describe, expect, it } from '@jest/globals';
import { metricNames } from '../analysis/metric-catalog.js';
import type { Prediction } from '../analysis/model-divergence.js';
import { parseSamplerRecord } from '../collect/sampler-record.js';
import { makeCalibration, type Calibration } from '../model/calibration.js';
import { CostsSchema } from '../model/costs.js';
import { predictEatRun } from '../model/device-calibration.js';
import { eatRunFigures } from '../model/eat-run-figures.js';
import type { EaterSummary } from '../workload/eater-summary.js';
import { CATALOG_METRIC, calibratedPredictions, calibrationDeviceName, recordJobPredictions } from './predictions.js';

const S = 1e9;
const COLUMNS = ['vmstat.pgsteal_anon', 'vmstat.pgsteal_file', 'vmstat.pgsteal_kswapd', 'vmstat.pgsteal_direct', 'meminfo.AnonPages', 'meminfo.MemAvailable', 'meminfo.MemTotal'];
// one sample a second; reclaim from 6 s at 1,000 anon pages/s
const steal = [0, 0, 0, 0, 10, 1000, 2000, 3000, 4000, 5000];

function record(options: { algorithm?: string; kcompressd?: boolean } = {}) {
  const header = [
    '# zlab-sampler 1', '# boot_id 11111111-2222-3333-4444-555555555555', '# anchor 1000000000 1700000000000000000', '# period_ns 1000000000',
    '# clk_tck 100', '# page_size 4096', '# ncpu 2', '# pid 99', '# comm kswapd', '# comm memeater', '# source vmstat /proc/vmstat ok 4',
    `# meta zram0.comp_algorithm ${options.algorithm ?? 'lz4'}`, `# columns ${COLUMNS.length + 1} t_ns ${COLUMNS.join(' ')}`, '# end',
  ];
  const body = steal.map((s, i) => `S ${(i + 1) * S} ${[s, 0, s * 0.4, s * 0.6, i * 4000, 800_000, 1_000_000].join(' ')}`);
  const threads = [
    'N 1000000000 40 40 kswapd0 kswapd0',
    'N 1000000000 77 77 memeater memeater',
    ...(options.kcompressd ? ['N 1000000000 41 41 kcompressd0 kcompressd0'] : []),
    `T 1000000000 40:0:0 77:0:0${options.kcompressd ? ' 41:0:0' : ''}`,
    `T 10000000000 40:100:200 77:200:100${options.kcompressd ? ' 41:10:10' : ''}`,
  ];
  return parseSamplerRecord(`${[...header, threads[0], threads[1], ...(options.kcompressd ? [threads[2]] : []), body[0], threads.at(-2), ...body.slice(1), threads.at(-1)].join('\n')}\n`);
}

const summary = {
  config: { sizeMib: 40, ratio: 3, zeroPct: 5, sameFilledPct: 10, rateMibps: 0, workers: 1, retouchPasses: 0 },
  pages: { zero: 500, sameFilled: 1000, data: 8500 },
  phases: [{ name: 'fill', startBoottimeNs: 1 * S, endBoottimeNs: 10 * S, pages: 10_000, mibPerSec: 4 }],
  swappedBeforeRetouch: null,
} as unknown as EaterSummary;

const device = { serial: 'emulator-5554', 'ro.product.model': 'zlab virtual device' };
const calibration = (withDirect: boolean): Calibration =>
  makeCalibration({
    device: 'zlab virtual device',
    kernelRelease: '6.12.117',
    costs: CostsSchema.parse({ t1Us: 900, ...(withDirect ? { t1DirectUs: 300 } : {}), t2Us: 60, faultUs: 60 }),
    now: new Date('2026-11-26T00:00:00Z'),
  });
const store = (cal: Calibration | undefined) => (name: string, release: string) => (cal && name === cal.device && release === cal.kernelRelease ? cal : undefined);

function sink() {
  const recorded: Array<{ runId: number; cellKey: string; p: Prediction }> = [];
  return { recorded, recordPrediction: (runId: number, cellKey: string, p: Prediction) => recorded.push({ runId, cellKey, p }) };
}

describe('calibrated predictions in the nightly', () => {
  it('maps only metrics the report catalogue measures', () => {
    for (const name of Object.values(CATALOG_METRIC)) expect(metricNames).toContain(name);
  });

  it("gives the model's values and bands under the catalogue's names", () => {
    const cal = calibration(true);
    const run = { device, kernelRelease: '6.12.117', summary, record: record() };
    const out = calibratedPredictions(run, store(cal));
    if (!out.recorded) throw new Error(out.reason);
    const model = predictEatRun(cal, { name: 'zlab virtual device', kernelRelease: '6.12.117', cpus: 2, zram: { algorithm: 'lz4' } }, summary, eatRunFigures(run.record, summary));
    const anon = model.predictions.find((p) => p.metric === 'pgstealAnonPerSec')!;
    expect(out.predictions.find((p) => p.metric === 'pgsteal_anon_per_s')).toEqual({ metric: 'pgsteal_anon_per_s', predicted: anon.value, low: anon.low, high: anon.high, kind: 'calibrated' });
    expect(anon.low).toBeCloseTo(anon.value * 0.8, 6);
    expect(out.predictions.map((p) => p.metric).sort()).toEqual(
      ['allocstall_per_s', 'compression_ratio', 'kcompressd_cpu_share', 'kswapd_cpu_share', 'pgsteal_anon_per_s', 'pgsteal_file_per_s'],
    );
    // a stock kernel has no compressor threads: exactly none of their CPU
    expect(out.predictions.find((p) => p.metric === 'kcompressd_cpu_share')).toMatchObject({ predicted: 0, low: 0, high: 0, kind: 'exact' });
    for (const p of out.predictions) expect(p.low <= p.predicted && p.predicted <= p.high).toBe(true);
    expect(out.notes).toEqual([]);
  });

  it('records them for the cell and says where they came from', () => {
    const s = sink();
    const lines: string[] = [];
    recordJobPredictions(s, 7, { cellKey: 'stock/default/fill', eat: { summary, record: record() }, environment: { device, kernel: { release: '6.12.117' } } }, (l) => lines.push(l), store(calibration(true)));
    expect(s.recorded.length).toBe(6);
    expect(s.recorded.every((r) => r.runId === 7 && r.cellKey === 'stock/default/fill')).toBe(true);
    expect(lines).toEqual([expect.stringMatching(/^calibrated predictions from zlab virtual device@6\.12\.117 .*pgsteal_anon_per_s/)]);
  });

  it('says so in a progress line, and records nothing, when no calibration exists', () => {
    const s = sink();
    const lines: string[] = [];
    recordJobPredictions(s, 1, { cellKey: 'c', eat: { summary, record: record() }, environment: { device, kernel: { release: '6.13.0' } } }, (l) => lines.push(l), store(calibration(true)));
    expect(s.recorded).toEqual([]);
    expect(lines).toEqual(['no calibration for zlab virtual device on 6.13.0: no calibrated predictions (zlab model calibrate -s SERIAL)']);
  });

  it('passes on the note of a calibration without the direct-reclaim cost', () => {
    const lines: string[] = [];
    recordJobPredictions(sink(), 1, { cellKey: 'c', eat: { summary, record: record() }, environment: { device, kernel: { release: '6.12.117' } } }, (l) => lines.push(l), store(calibration(false)));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^note: .*no direct-reclaim cost/);
  });

  it('makes no band up for a run the model cannot describe', () => {
    const run = { device, kernelRelease: '6.12.117', summary };
    const cal = store(calibration(true));
    expect(calibratedPredictions({ ...run, record: record({ kcompressd: true }) }, cal)).toEqual({ recorded: false, reason: expect.stringMatching(/1 kcompressd thread\(s\) ran/) });
    expect(calibratedPredictions({ ...run, record: record({ algorithm: 'snappy' }) }, cal)).toEqual({ recorded: false, reason: expect.stringMatching(/"snappy" is not one the model knows/) });
    const noT2 = makeCalibration({ device: 'zlab virtual device', kernelRelease: '6.12.117', costs: CostsSchema.parse({ t1Us: 1, t2Points: [{ algorithm: 'zstd', dataClass: 'compressible', ratio: 3, usPerPage: 5 }] }) });
    expect(calibratedPredictions({ ...run, record: record() }, store(noT2))).toEqual({ recorded: false, reason: expect.stringMatching(/no t2 for lz4/) });
    const calm = { ...summary, phases: [{ ...summary.phases[0]!, endBoottimeNs: 4 * S }] } as EaterSummary;
    expect(calibratedPredictions({ ...run, summary: calm, record: record() }, cal)).toEqual({ recorded: false, reason: expect.stringMatching(/cannot describe this run: .*no anonymous page was reclaimed/) });
    const lines: string[] = [];
    recordJobPredictions(sink(), 1, { cellKey: 'c' }, (l) => lines.push(l), cal);
    expect(lines).toEqual(['no calibrated predictions: the job left no run or no kernel release']);
  });

  it("predicts a kcompressd run with the kernel's design from its recorded knobs", () => {
    const cal = calibration(true);
    const knobs = { queueDepthPerThread: 256, threads: 1 };
    const run = { device, kernelRelease: '6.12.117', kcompressd: knobs, summary, record: record({ kcompressd: true }) };
    const out = calibratedPredictions(run, store(cal));
    if (!out.recorded) throw new Error(out.reason);
    const facts = { name: 'zlab virtual device', kernelRelease: '6.12.117', cpus: 2, zram: { algorithm: 'lz4' as const } };
    const figures = eatRunFigures(run.record, summary);
    const offloaded = predictEatRun(cal, facts, summary, figures, { threads: 1, queueDepth: 256, fallback: 'sync', sameFilledInline: true });
    expect(offloaded.params.threads).toBe(1);
    const anon = offloaded.predictions.find((p) => p.metric === 'pgstealAnonPerSec')!;
    expect(out.predictions.find((p) => p.metric === 'pgsteal_anon_per_s')).toMatchObject({ predicted: anon.value, low: anon.low, high: anon.high });
    // the compressor thread's CPU is a calibrated prediction now, not an exact 0
    const kc = out.predictions.find((p) => p.metric === 'kcompressd_cpu_share')!;
    expect(kc.kind).toBe('calibrated');
    expect(kc.predicted).toBeGreaterThan(0);
    expect(out.design).toBe('kcompressd: 1 thread(s), queue 256 folios (vm.kcompressd = 256), sync fallback, same-filled inline');
    expect(out.notes).toEqual([expect.stringMatching(/no enqueue, wake-up or re-scan cost/)]);
    // and it is not the stock prediction
    const stock = predictEatRun(cal, facts, summary, figures);
    expect(stock.params.threads).toBe(0);
    expect(offloaded.predictions.find((p) => p.metric === 'kswapdCpuShare')!.value).not.toBe(stock.predictions.find((p) => p.metric === 'kswapdCpuShare')!.value);
  });

  it('predicts stock reclaim on a kcompressd kernel whose offload is off', () => {
    const run = { device, kernelRelease: '6.12.117', kcompressd: { queueDepthPerThread: 0, threads: 1 }, summary, record: record({ kcompressd: true }) };
    const out = calibratedPredictions(run, store(calibration(true)));
    if (!out.recorded) throw new Error(out.reason);
    expect(out.predictions.find((p) => p.metric === 'kcompressd_cpu_share')).toMatchObject({ predicted: 0, kind: 'exact' });
    expect(out.design).toMatch(/kcompressd off/);
  });

  it('refuses kcompressd threads on a kernel recorded without knobs', () => {
    const run = { device, kernelRelease: '6.12.117', kcompressd: null, summary, record: record({ kcompressd: true }) };
    expect(calibratedPredictions(run, store(calibration(true)))).toEqual({ recorded: false, reason: expect.stringMatching(/kcompressd thread\(s\) ran on a kernel without vm\.kcompressd knobs/) });
  });

  it('takes the knobs from the job environment, and names knobs it cannot read', () => {
    const s = sink();
    const lines: string[] = [];
    const environment = { device, kernel: { release: '6.12.117', kcompressd: { queueDepthPerThread: 256, threads: 1 } } };
    recordJobPredictions(s, 3, { cellKey: 'kcompressd/lz4/fill', eat: { summary, record: record({ kcompressd: true }) }, environment }, (l) => lines.push(l), store(calibration(true)));
    expect(s.recorded.find((r) => r.p.metric === 'kcompressd_cpu_share')!.p.kind).toBe('calibrated');
    expect(lines[0]).toMatch(/^calibrated predictions from zlab virtual device@6\.12\.117 \(.*\), kcompressd: 1 thread\(s\), queue 256 folios/);

    const bad = sink();
    const badLines: string[] = [];
    recordJobPredictions(bad, 3, { cellKey: 'c', eat: { summary, record: record({ kcompressd: true }) }, environment: { device, kernel: { release: '6.12.117', kcompressd: { depth: 256 } } } }, (l) => badLines.push(l), store(calibration(true)));
    expect(bad.recorded).toEqual([]);
    expect(badLines).toEqual(['no calibrated predictions: the recorded kcompressd knobs {"depth":256} are not {queueDepthPerThread, threads}']);
  });

  it('looks a device up by its model, else its serial', () => {
    expect(calibrationDeviceName(device)).toBe('zlab virtual device');
    expect(calibrationDeviceName({ serial: 'R58M' })).toBe('R58M');
    expect(calibrationDeviceName({ 'ro.product.model': ' ' })).toBeUndefined();
  });
});
