import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { compareRun, MeasuredMetricsSchema, type DivergenceReport } from './divergence.js';
import { describeZodIssues } from './model-input.js';
import { METRICS } from './run-prediction.js';

/**
 * "Where did the time go" for one run: the predicted split of each reclaimed
 * folio's CPU time by stage, what the measurement implies per folio, and the
 * divergences. Input: a prediction (as `zlab model predict --json` prints it)
 * and the run's measured metrics.
 */
const PredictionSchema = z.object({
  metric: z.enum(METRICS),
  value: z.number(),
  low: z.number(),
  high: z.number(),
  kind: z.enum(['exact', 'calibrated', 'rough']),
  unit: z.string(),
  basis: z.string(),
});

export const ExplainInputSchema = z.object({
  prediction: z.object({
    schema: z.literal('zlab.model.prediction'),
    version: z.literal(1),
    bottleneck: z.enum(['kswapd', 'compressors', 'cpu']),
    speedup: z.number(),
    fallbackShare: z.number(),
    predictions: z.array(PredictionSchema),
    params: z.object({ threads: z.number().int().min(0) }).passthrough(),
    breakdown: z.object({
      perFolioUs: z.object({
        scanUnmapUs: z.number(),
        compressInlineUs: z.number(),
        compressOffloadUs: z.number(),
        fileUs: z.number(),
        enqueueUs: z.number(),
        rescanUs: z.number(),
        wakeUs: z.number(),
      }),
      kswapdUsPerFolio: z.number(),
      compressorUsPerFolio: z.number(),
      reclaimCpus: z.number(),
      directPagesPerSec: z.number(),
    }),
  }),
  measured: MeasuredMetricsSchema.and(z.object({ pgstealKswapdPerSec: z.number().finite().nonnegative().optional() })),
});
export type ExplainInput = z.infer<typeof ExplainInputSchema>;

export interface Explanation {
  bottleneck: string;
  /** Predicted µs per reclaimed folio, by thread and stage. */
  predicted: { kswapd: Record<string, number>; compressors: Record<string, number> };
  /** µs per folio implied by the measured CPU shares and steal rate; null when not measured. */
  measuredUsPerFolio: { kswapd: number | null; compressors: number | null };
  /** Measured minus predicted µs per folio: time the model does not account for. */
  unexplainedUsPerFolio: { kswapd: number | null; compressors: number | null };
  divergence: DivergenceReport;
  lines: string[];
}

export function parseExplainInput(value: unknown, origin: string): ExplainInput {
  const parsed = ExplainInputSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${origin}: ${describeZodIssues(parsed.error)}`);
  return parsed.data;
}

export function explainRun(input: ExplainInput): Explanation {
  const { prediction: p, measured } = input;
  const parts = p.breakdown.perFolioUs;
  const kswapd = {
    scanUnmap: parts.scanUnmapUs,
    compressInline: parts.compressInlineUs,
    file: parts.fileUs,
    enqueue: parts.enqueueUs,
    rescan: parts.rescanUs,
    fallbackCompress: p.fallbackShare * (parts.compressOffloadUs + parts.wakeUs),
  };
  const compressors = {
    compress: (1 - p.fallbackShare) * parts.compressOffloadUs,
    wake: (1 - p.fallbackShare) * parts.wakeUs,
  };
  const kswapdTotal = sum(Object.values(kswapd));
  const compressorTotal = sum(Object.values(compressors));

  const totalSteal = (measured.pgstealAnonPerSec ?? NaN) + (measured.pgstealFilePerSec ?? 0);
  const kswapdSteal = measured.pgstealKswapdPerSec ?? (Number.isFinite(totalSteal) ? Math.max(0, totalSteal - p.breakdown.directPagesPerSec) : NaN);
  const perFolio = (share: number | undefined): number | null =>
    share !== undefined && Number.isFinite(kswapdSteal) && kswapdSteal > 0 ? (share * 1e6) / kswapdSteal : null;
  const measuredKswapd = perFolio(measured.kswapdCpuShare);
  const measuredCompressors = p.params.threads > 0 ? perFolio(measured.kcompressdCpuShare) : null;

  const { pgstealKswapdPerSec: _ignored, ...metrics } = measured;
  const divergence = compareRun(p.predictions, metrics);

  const lines: string[] = [];
  lines.push(`bottleneck: ${describeBottleneck(p.bottleneck, p.params.threads, p.breakdown.reclaimCpus)}`);
  lines.push(`kswapd, per reclaimed folio: ${fmtUs(kswapdTotal)} predicted${measuredKswapd !== null ? `, ${fmtUs(measuredKswapd)} measured` : ''}`);
  for (const [stage, us] of Object.entries(kswapd)) {
    if (us > 0) lines.push(`  ${stage.padEnd(17)} ${fmtUs(us).padStart(10)}  ${pct(us, kswapdTotal)}`);
  }
  if (p.params.threads > 0) {
    lines.push(`compressors, per reclaimed folio: ${fmtUs(compressorTotal)} predicted${measuredCompressors !== null ? `, ${fmtUs(measuredCompressors)} measured` : ''}`);
    for (const [stage, us] of Object.entries(compressors)) {
      if (us > 0) lines.push(`  ${stage.padEnd(17)} ${fmtUs(us).padStart(10)}  ${pct(us, compressorTotal)}`);
    }
    lines.push(`speedup over the stock kernel: ${p.speedup.toFixed(2)}×; kswapd compresses ${(p.fallbackShare * 100).toFixed(1)} % of queued folios itself`);
  }
  const unexplainedKswapd = measuredKswapd === null ? null : measuredKswapd - kswapdTotal;
  const unexplainedCompressors = measuredCompressors === null ? null : measuredCompressors - compressorTotal;
  if (unexplainedKswapd !== null && Math.abs(unexplainedKswapd) > 0.1 * kswapdTotal) {
    lines.push(`kswapd spends ${fmtUs(Math.abs(unexplainedKswapd))} per folio ${unexplainedKswapd > 0 ? 'more' : 'less'} than the model accounts for`);
  }
  if (unexplainedCompressors !== null && Math.abs(unexplainedCompressors) > 0.1 * Math.max(compressorTotal, 1e-9)) {
    lines.push(`compressors spend ${fmtUs(Math.abs(unexplainedCompressors))} per folio ${unexplainedCompressors > 0 ? 'more' : 'less'} than the model accounts for`);
  }
  if (divergence.flagged.length === 0) lines.push('every measured metric is inside its band');
  for (const f of divergence.flagged) lines.push(`${f.severity}: ${f.message}`);
  if (divergence.unmeasured.length > 0) lines.push(`not measured: ${divergence.unmeasured.join(', ')}`);

  return {
    bottleneck: p.bottleneck,
    predicted: { kswapd, compressors },
    measuredUsPerFolio: { kswapd: measuredKswapd, compressors: measuredCompressors },
    unexplainedUsPerFolio: { kswapd: unexplainedKswapd, compressors: unexplainedCompressors },
    divergence,
    lines,
  };
}

function describeBottleneck(b: string, threads: number, cpus: number): string {
  if (b === 'cpu') return `CPU: the reclaim threads have only ${cpus.toFixed(2)} CPUs free`;
  if (b === 'compressors') return `the ${threads} compressor thread(s): more threads or a cheaper algorithm would help`;
  return threads > 0 ? 'kswapd itself (scan, unmap, file): more compressor threads would not help' : 'kswapd itself: one thread does all of t1 + t2 + t3';
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

function fmtUs(us: number): string {
  return `${us.toFixed(3)} µs`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '';
}
