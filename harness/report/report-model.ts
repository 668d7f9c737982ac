import type { Comparison, SelfCheck } from '../analysis/ab-compare.js';
import type { Estimate } from '../analysis/bootstrap.js';
import type { DivergenceRow } from '../analysis/model-divergence.js';
import type { RegressionCheck } from '../analysis/history-band.js';
import type { EnvironmentInput } from '../store/store-records.js';

/**
 * Everything a nightly report shows, computed once from the store and then
 * rendered into HTML, Markdown, JUnit XML and JSON. The JSON form is this
 * object as it stands.
 */
export interface NightlyReport {
  schema: 'zlab.nightly-report/1';
  plan: { name: string; hash: string };
  /** `store`: the results file the run is in (a run is its id within that file). */
  run: { id: number; status: string; startedAt: string; endedAt: string | null; date: string; store: string };
  generatedAt: string;
  cells: CellSummary[];
  comparisons: ComparisonEntry[];
  selfChecks: SelfCheckEntry[];
  model: ModelEntry[];
  regressions: RegressionEntry[];
  integrity: IntegrityEntry[];
  jobs: JobEntry[];
  /** Representative time series per cell for the charts. */
  series: CellSeries[];
}

export interface CellSummary {
  cellKey: string;
  jobs: number;
  passed: number;
  failed: number;
  metrics: { metric: string; label: string; unit: string; estimate: Estimate }[];
  identity: {
    devices: string[];
    kernels: string[];
    configs: string[];
    environment: EnvironmentInput | null;
  };
}

export interface ComparisonEntry {
  baseline: string;
  candidate: string;
  metric: string;
  label: string;
  comparison: Comparison | null;
  /** Why there is no comparison (too few runs, a zero baseline). */
  note?: string;
}

export interface SelfCheckEntry {
  cellKey: string;
  /** The second cell for an A/A pair; absent when one cell was split. */
  otherCell?: string;
  metric: string;
  check: SelfCheck | null;
  note?: string;
}

export interface ModelEntry extends DivergenceRow {
  cellKey: string;
  jobId?: number;
}

export interface RegressionEntry {
  cellKey: string;
  check: RegressionCheck;
  /** Past nights' medians, oldest first, then tonight. */
  trend: { runId: number; date: string; median: number; tonight: boolean }[];
}

/** Exact checks on what the workload saw (corrupt pages must be zero). */
export interface IntegrityEntry {
  cellKey: string;
  jobId: number;
  repetition: number;
  corruptPages: number | null;
  passed: boolean;
  message: string;
}

export interface JobEntry {
  id: number;
  cellKey: string;
  repetition: number;
  orderIndex: number;
  device: string | null;
  status: string;
  failureKind: string | null;
  failureMessage: string | null;
  attempts: number;
}

export interface CellSeries {
  cellKey: string;
  jobId: number;
  /** Seconds from the first sample. */
  points: SeriesPoint[];
}

export type SeriesKind = 'reclaim' | 'memory' | 'psi' | 'temperature' | 'cpu';

export interface SeriesPoint {
  t: number;
  kind: SeriesKind;
  series: string;
  value: number;
}
