import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { METRICS, type MetricName, type Prediction, type PredictionKind } from './run-prediction.js';

/** How much a miss matters follows from how much the prediction could be trusted. */
export type Severity = 'bug' | 'warning' | 'note';

export const SEVERITY_OF: Record<PredictionKind, Severity> = {
  exact: 'bug',
  calibrated: 'warning',
  rough: 'note',
};

const MEANING: Record<Severity, string> = {
  bug: 'an exact prediction missed: probably a bug in the kernel or in zlab',
  warning: 'outside the calibrated band: a stale calibration, or an effect the model lacks',
  note: 'outside a rough band: worth a look, not a verdict',
};

export interface MetricComparison {
  metric: MetricName;
  kind: PredictionKind;
  predicted: number;
  low: number;
  high: number;
  measured: number;
  /** (measured − predicted) / predicted; null when the prediction is 0. */
  relativeError: number | null;
  within: boolean;
  /** Set when outside the band. */
  severity?: Severity;
  direction?: 'above' | 'below';
  message?: string;
}

export interface DivergenceReport {
  comparisons: MetricComparison[];
  /** The flagged metrics, worst severity first. */
  flagged: MetricComparison[];
  /** Predicted metrics that the run did not measure. */
  unmeasured: MetricName[];
  worst: Severity | 'none';
}

export const MeasuredMetricsSchema = z.partialRecord(z.enum(METRICS), z.number().finite());
export type MeasuredMetrics = z.infer<typeof MeasuredMetricsSchema>;

export function compareRun(predictions: readonly Prediction[], measured: MeasuredMetrics): DivergenceReport {
  const parsed = MeasuredMetricsSchema.safeParse(measured);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`measured metrics: ${issue?.path.join('.') || '(top level)'}: ${issue?.message}`);
  }
  const comparisons: MetricComparison[] = [];
  const unmeasured: MetricName[] = [];
  for (const p of predictions) {
    const value = parsed.data[p.metric];
    if (value === undefined) {
      unmeasured.push(p.metric);
      continue;
    }
    comparisons.push(compareOne(p, value));
  }
  const rank: Record<Severity, number> = { bug: 0, warning: 1, note: 2 };
  const flagged = comparisons.filter((c) => !c.within).sort((a, b) => rank[a.severity!] - rank[b.severity!]);
  return { comparisons, flagged, unmeasured, worst: flagged[0]?.severity ?? 'none' };
}

export function compareOne(p: Prediction, measured: number): MetricComparison {
  // Exact predictions are counts: compare as integers, with no slack at all.
  const within = p.kind === 'exact' ? Math.round(measured) >= p.low && Math.round(measured) <= p.high : measured >= p.low && measured <= p.high;
  const relativeError = p.value !== 0 ? (measured - p.value) / p.value : null;
  const base: MetricComparison = {
    metric: p.metric,
    kind: p.kind,
    predicted: p.value,
    low: p.low,
    high: p.high,
    measured,
    relativeError,
    within,
  };
  if (within) return base;
  const severity = SEVERITY_OF[p.kind];
  const direction = measured > p.high ? 'above' : 'below';
  const by = relativeError === null ? '' : ` (${relativeError > 0 ? '+' : ''}${(relativeError * 100).toFixed(1)} %)`;
  return {
    ...base,
    severity,
    direction,
    message: `${p.metric}: measured ${fmt(measured)} ${p.unit} is ${direction} the ${p.kind} band [${fmt(p.low)}, ${fmt(p.high)}] around ${fmt(p.value)}${by}: ${MEANING[severity]}`,
  };
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toString() : Number(v.toPrecision(3)).toString();
}
