import { z } from 'zod';
import { ZlabError } from '../util/errors.js';

const count = z.number().int().nonnegative();

const phaseSchema = z.object({
  name: z.string(),
  startBoottimeNs: count,
  endBoottimeNs: count,
  pages: count,
  mibPerSec: z.number().nonnegative(),
});

/** The JSON summary the eater prints (device-scripts/memeater). */
export const eaterSummarySchema = z.object({
  tool: z.literal('memeater'),
  version: z.literal(1),
  pageSize: z.number().int().positive(),
  config: z.object({
    sizeMib: count,
    ratio: z.number().min(1),
    zeroPct: z.number().min(0).max(100),
    sameFilledPct: z.number().min(0).max(100),
    seed: count,
    workers: z.number().int().positive(),
    rateMibps: z.number().nonnegative(),
    holdMs: count,
    retouchPasses: count,
    fileMib: count,
  }),
  // wall-clock ns exceed 2^53: kept as a (rounded) number, never used for arithmetic on ns
  clock: z.object({ startBoottimeNs: count, startRealtimeNs: z.number().nonnegative(), endBoottimeNs: count }),
  oomScoreAdj: z.object({ requested: z.number().int().nullable(), applied: z.boolean(), error: z.string().nullable() }),
  pages: z.object({
    target: count,
    written: count,
    zero: count,
    sameFilled: count,
    data: count,
    verified: count,
    corrupt: count,
  }),
  /** Pages of each kind out in swap just before the first re-touch (from pagemap); null when unknown. */
  swappedBeforeRetouch: z.object({ zero: count, sameFilled: count, data: count }).nullable(),
  corruptPages: count,
  firstCorrupt: z.array(z.object({ page: count, offset: count, firstBadByte: count })),
  phases: z.array(phaseSchema),
  file: z.object({ mib: count, passes: count, bytesRead: count }).nullable(),
  errors: z.array(z.string()),
});

export type EaterSummary = z.infer<typeof eaterSummarySchema>;
export type EaterPhase = z.infer<typeof phaseSchema>;

/** Parse the eater's stdout (one JSON document). */
export function parseEaterSummary(text: string): EaterSummary {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ZlabError('device', `the eater's summary is not JSON: ${text.slice(0, 200)}`, {}, { cause: err });
  }
  const parsed = eaterSummarySchema.safeParse(json);
  if (!parsed.success) {
    throw new ZlabError('device', `the eater's summary has an unexpected shape: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** The boottime window [start, end] of a named phase, in ns, or undefined. */
export function phaseWindow(summary: EaterSummary, name: string): { startNs: number; endNs: number } | undefined {
  const phase = summary.phases.find((p) => p.name === name);
  return phase ? { startNs: phase.startBoottimeNs, endNs: phase.endBoottimeNs } : undefined;
}
