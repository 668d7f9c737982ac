import { z } from 'zod';
import { ZlabError } from '../util/errors.js';

/** What the model engineer's code hands over for one metric. */
export const predictionSchema = z
  .object({
    metric: z.string().min(1),
    predicted: z.number().finite(),
    low: z.number().finite(),
    high: z.number().finite(),
    kind: z.enum(['exact', 'calibrated', 'rough']),
  })
  .refine((p) => p.low <= p.predicted && p.predicted <= p.high, {
    message: 'needs low ≤ predicted ≤ high',
  });

export type Prediction = z.infer<typeof predictionSchema>;

export type DivergenceSeverity = 'ok' | 'divergent' | 'failure' | 'unmeasured';

export interface DivergenceRow {
  metric: string;
  kind: Prediction['kind'];
  predicted: number;
  low: number;
  high: number;
  measured: number | null;
  /** (measured − predicted) / |predicted|; null when either is missing or predicted is 0. */
  relativeError: number | null;
  severity: DivergenceSeverity;
  message: string;
}

export interface DivergenceSummary {
  rows: DivergenceRow[];
  divergent: number;
  failures: number;
  unmeasured: number;
}

export function parsePrediction(input: unknown, where = 'prediction'): Prediction {
  const r = predictionSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.length ? `.${issue.path.join('.')}` : '';
    throw new ZlabError('bug', `${where}${path}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Holds measurements against the model. A measurement outside [low, high] is
 * a divergence; for an exact prediction (e.g. same_pages from a known fill,
 * zero corrupt pages) it is a failure: a bug in the kernel or in zlab.
 */
export function summarizeDivergence(predictions: readonly unknown[], measured: Readonly<Record<string, number | undefined>>): DivergenceSummary {
  const rows = predictions.map((raw, i): DivergenceRow => {
    const p = parsePrediction(raw, `predictions[${i}]`);
    const m = measured[p.metric];
    if (m === undefined || !Number.isFinite(m)) {
      return { ...p, measured: null, relativeError: null, severity: 'unmeasured', message: `no measurement of ${p.metric}` };
    }
    const relativeError = p.predicted !== 0 ? (m - p.predicted) / Math.abs(p.predicted) : null;
    const inside = m >= p.low && m <= p.high;
    const severity: DivergenceSeverity = inside ? 'ok' : p.kind === 'exact' ? 'failure' : 'divergent';
    const message = inside
      ? `${p.metric} ${fmt(m)} within [${fmt(p.low)}, ${fmt(p.high)}]`
      : `${p.metric} measured ${fmt(m)}, ${p.kind} model expects [${fmt(p.low)}, ${fmt(p.high)}] (predicted ${fmt(p.predicted)})`;
    return { ...p, measured: m, relativeError, severity, message };
  });
  return {
    rows,
    divergent: rows.filter((r) => r.severity === 'divergent').length,
    failures: rows.filter((r) => r.severity === 'failure').length,
    unmeasured: rows.filter((r) => r.severity === 'unmeasured').length,
  };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
