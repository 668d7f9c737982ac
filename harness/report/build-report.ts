import { resolve } from 'node:path';
import { compareAB, aaSelfCheck } from '../analysis/ab-compare.js';
import { bootstrapMedian } from '../analysis/bootstrap.js';
import { median } from '../analysis/descriptive.js';
import { checkRegression, type HistoryBandOptions } from '../analysis/history-band.js';
import { metricInfo, metricNames } from '../analysis/metric-catalog.js';
import { summarizeDivergence } from '../analysis/model-divergence.js';
import { defaultSeriesNames, type SeriesNames } from '../analysis/run-metrics.js';
import { counterRate, type TimeSeries } from '../analysis/time-series.js';
import type { ResultsStore } from '../store/results-store.js';
import { ZlabError, errorMessage } from '../util/errors.js';
import type {
  CellSeries,
  CellSummary,
  ComparisonEntry,
  IntegrityEntry,
  ModelEntry,
  NightlyReport,
  RegressionEntry,
  SelfCheckEntry,
  SeriesPoint,
} from './report-model.js';

export interface BuildReportOptions {
  /** Pairs to compare; by default the first cell against each other cell. */
  comparisons?: { baseline: string; candidate: string }[];
  /** Cells that ran the same thing twice and must not differ. */
  aaPairs?: { a: string; b: string }[];
  /** Metrics compared and checked against history. */
  headline?: string[];
  /** Seed for every bootstrap in the report. */
  seed?: number;
  resamples?: number;
  history?: HistoryBandOptions & { nights?: number };
  names?: Partial<SeriesNames> & { memFree?: string };
  now?: Date;
}

export const defaultHeadline = [
  'pgsteal_anon_per_s',
  'allocstall_per_s',
  'pswpout_per_s',
  'kswapd_cpu_share',
  'kcompressd_cpu_share',
  'psi_some_share',
  'psi_full_share',
  'compression_ratio',
  'peak_temp_c',
];

const maxChartPoints = 300;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Reads one run from the store and computes everything its report shows. */
export function buildNightlyReport(store: ResultsStore, runId: number, options: BuildReportOptions = {}): NightlyReport {
  const run = store.getRun(runId);
  const jobs = store.jobs(runId);
  const values = store.cellMetricValues(runId);
  const cellKeys = [...new Set(jobs.map((j) => j.cellKey))];
  const headline = options.headline ?? defaultHeadline;
  const boot = { seed: options.seed ?? 1, resamples: options.resamples ?? 4000 };

  for (const c of [...(options.comparisons ?? []).flatMap((p) => [p.baseline, p.candidate]), ...(options.aaPairs ?? []).flatMap((p) => [p.a, p.b])]) {
    if (!cellKeys.includes(c)) throw new ZlabError('usage', `report: cell "${c}" is not in run ${runId} (cells: ${cellKeys.join(', ') || 'none'})`);
  }

  const cells: CellSummary[] = cellKeys.map((cellKey) => {
    const mine = jobs.filter((j) => j.cellKey === cellKey);
    const passed = mine.filter((j) => j.status === 'passed');
    const metrics = [...(values.get(cellKey) ?? new Map<string, number[]>())]
      .filter(([, vs]) => vs.length > 0)
      .sort(([a], [b]) => order(a) - order(b))
      .map(([metric, vs]) => ({ metric, ...label(metric), estimate: bootstrapMedian(vs, boot) }));
    const first = passed[0] ?? mine[0];
    return {
      cellKey,
      jobs: mine.length,
      passed: passed.length,
      failed: mine.filter((j) => j.status === 'failed').length,
      metrics,
      identity: {
        devices: distinct(mine.map((j) => j.deviceSerial)),
        kernels: distinct(mine.map((j) => j.kernelId)),
        configs: distinct(mine.map((j) => j.configId)),
        environment: first ? store.environment(first.id) : null,
      },
    };
  });

  const pairs = options.comparisons ?? cellKeys.slice(1).map((candidate) => ({ baseline: cellKeys[0]!, candidate }));
  const comparisons: ComparisonEntry[] = [];
  for (const { baseline, candidate } of pairs) {
    for (const metric of headline) {
      const a = values.get(baseline)?.get(metric);
      const b = values.get(candidate)?.get(metric);
      if (!a && !b) continue;
      const entry: ComparisonEntry = { baseline, candidate, metric, label: metricInfo(metric).label, comparison: null };
      try {
        if (!a || !b) throw new ZlabError('plan', `not measured in ${!a ? baseline : candidate}`);
        entry.comparison = compareAB(metric, a, b, boot);
      } catch (err) {
        entry.note = errorMessage(err);
      }
      comparisons.push(entry);
    }
  }

  const selfChecks: SelfCheckEntry[] = [];
  const aaMetric = headline[0] ?? 'pgsteal_anon_per_s';
  for (const { a, b } of options.aaPairs ?? []) {
    selfChecks.push(selfCheck(a, b, aaMetric, values.get(a)?.get(aaMetric), values.get(b)?.get(aaMetric), boot));
  }
  for (const cellKey of cellKeys) {
    const vs = values.get(cellKey)?.get(aaMetric);
    if (vs && vs.length >= 8) selfChecks.push(selfCheck(cellKey, undefined, aaMetric, vs, undefined, boot));
  }

  const model: ModelEntry[] = [];
  const predictions = store.predictions(runId);
  for (const cellKey of cellKeys) {
    const mine = predictions.filter((p) => p.cellKey === cellKey);
    if (mine.length === 0) continue;
    const measured: Record<string, number> = {};
    for (const [metric, vs] of values.get(cellKey) ?? []) measured[metric] = median(vs);
    for (const row of summarizeDivergence(mine.map(({ cellKey: _, ...p }) => p), measured).rows) model.push({ cellKey, ...row });
  }
  for (const d of store.divergences(runId)) {
    const { id: _, ...row } = d;
    model.push({ ...row, relativeError: d.measured !== null && d.predicted !== 0 ? (d.measured - d.predicted) / Math.abs(d.predicted) : null });
  }

  const regressions: RegressionEntry[] = [];
  for (const cellKey of cellKeys) {
    for (const metric of headline) {
      const tonight = values.get(cellKey)?.get(metric);
      if (!tonight || tonight.length === 0) continue;
      const past = store
        .cellHistory(run.planName, cellKey, metric, { before: runId, nights: options.history?.nights ?? 14 })
        .map((n) => ({ runId: n.runId, date: isoDay(n.startedAt), median: median(n.values), tonight: false }));
      const tonightMedian = median(tonight);
      regressions.push({
        cellKey,
        check: checkRegression(metric, tonightMedian, past.map((p) => p.median), options.history),
        trend: [...past, { runId, date: isoDay(run.startedAt), median: tonightMedian, tonight: true }],
      });
    }
  }

  const integrity: IntegrityEntry[] = [];
  for (const j of jobs) {
    const summary = store.eaterSummary(j.id);
    if (!summary) continue;
    const corrupt = typeof summary.corruptPages === 'number' ? summary.corruptPages : null;
    integrity.push({
      cellKey: j.cellKey,
      jobId: j.id,
      repetition: j.repetition,
      corruptPages: corrupt,
      passed: corrupt === 0,
      message: corrupt === null ? 'the eater summary has no corruptPages count' : `${corrupt} corrupt pages`,
    });
  }

  const headlineByJob = new Map(store.metrics(runId).filter((r) => r.name === aaMetric).map((r) => [r.jobId, r.value]));
  const series: CellSeries[] = [];
  for (const cellKey of cellKeys) {
    const job = representativeJob(jobs.filter((j) => j.cellKey === cellKey && j.status === 'passed'), headlineByJob);
    if (!job) continue;
    const samples = store.samples(job);
    if (samples && samples.t.length > 1) series.push({ cellKey, jobId: job, points: chartPoints(samples, options.names) });
  }

  return {
    schema: 'zlab.nightly-report/1',
    plan: { name: run.planName, hash: run.planHash },
    run: {
      id: run.id,
      status: run.status,
      startedAt: new Date(run.startedAt).toISOString(),
      endedAt: run.endedAt === null ? null : new Date(run.endedAt).toISOString(),
      date: isoDay(run.startedAt),
      store: resolve(store.path),
    },
    generatedAt: (options.now ?? new Date()).toISOString(),
    cells,
    comparisons,
    selfChecks,
    model,
    regressions,
    integrity,
    jobs: jobs.map((j) => ({
      id: j.id,
      cellKey: j.cellKey,
      repetition: j.repetition,
      orderIndex: j.orderIndex,
      device: j.deviceSerial,
      status: j.status,
      failureKind: j.failureKind,
      failureMessage: j.failureMessage,
      attempts: j.attempts,
    })),
    series,
  };
}

function selfCheck(a: string, b: string | undefined, metric: string, va: number[] | undefined, vb: number[] | undefined, boot: { seed: number; resamples: number }): SelfCheckEntry {
  const entry: SelfCheckEntry = { cellKey: a, metric, check: null, ...(b ? { otherCell: b } : {}) };
  try {
    if (!va || (b && !vb)) throw new ZlabError('plan', `${metric} not measured`);
    entry.check = aaSelfCheck(metric, va, vb, boot);
  } catch (err) {
    entry.note = errorMessage(err);
  }
  return entry;
}

/** The passed job whose headline metric is closest to the cell's median. */
function representativeJob(passed: { id: number }[], byJob: Map<number, number>): number | undefined {
  const measured = passed.filter((j) => byJob.has(j.id));
  if (measured.length === 0) return passed[0]?.id;
  const m = median(measured.map((j) => byJob.get(j.id)!));
  return measured.reduce((best, j) => (Math.abs(byJob.get(j.id)! - m) < Math.abs(byJob.get(best.id)! - m) ? j : best)).id;
}

function chartPoints(s: TimeSeries, names: BuildReportOptions['names'] = {}): SeriesPoint[] {
  const n = { ...defaultSeriesNames, memFree: 'mem_free_kb', ...names };
  const t0 = s.t[0]!;
  const out: SeriesPoint[] = [];
  const addRate = (name: string, kind: SeriesPoint['kind'], series: string, scale: number) => {
    if (!s.values[name]) return;
    const r = counterRate(s, name);
    push(r.t, r.rate.map((v) => v * scale), kind, series);
  };
  const push = (t: number[], vs: number[], kind: SeriesPoint['kind'], series: string) => {
    const step = Math.max(1, Math.ceil(t.length / maxChartPoints));
    for (let i = 0; i < t.length; i += step) {
      const slice = vs.slice(i, i + step).filter(Number.isFinite);
      if (slice.length === 0) continue;
      const tt = t.slice(i, i + step);
      out.push({ t: round((tt.reduce((a, b) => a + b, 0) / tt.length) - t0), kind, series, value: round(slice.reduce((a, b) => a + b, 0) / slice.length) });
    }
  };
  addRate(n.pgstealAnon, 'reclaim', 'pgsteal_anon/s', 1);
  addRate(n.pgstealFile, 'reclaim', 'pgsteal_file/s', 1);
  if (s.values[n.memFree]) push(s.t, s.values[n.memFree]!.map((v) => v / 1024), 'memory', 'free MiB');
  addRate(n.psiSomeTotal, 'psi', 'some %', 1e-4);
  addRate(n.psiFullTotal, 'psi', 'full %', 1e-4);
  for (const [name, vs] of Object.entries(s.values)) {
    if (name.startsWith(n.tempPrefix)) push(s.t, vs, 'temperature', name.slice(n.tempPrefix.length));
  }
  addRate(n.kswapdCpu, 'cpu', 'kswapd', 1);
  addRate(n.kcompressdCpu, 'cpu', 'kcompressd', 1);
  return out;
}

function round(v: number): number {
  return Number(v.toPrecision(6));
}

function distinct(xs: (string | null)[]): string[] {
  return [...new Set(xs.filter((x): x is string => x !== null))];
}

function label(metric: string): { label: string; unit: string } {
  const info = metricInfo(metric);
  return { label: info.label, unit: info.unit };
}

function order(metric: string): number {
  const i = (metricNames as string[]).indexOf(metric);
  return i < 0 ? metricNames.length : i;
}
