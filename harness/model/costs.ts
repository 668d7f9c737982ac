import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { AlgorithmSchema, type Algorithm } from './device-profile.js';

/** How zram treats a page, which decides what compressing it costs. */
export const DATA_CLASSES = ['zero', 'sameFilled', 'compressible'] as const;
export const DataClassSchema = z.enum(DATA_CLASSES);
export type DataClass = z.infer<typeof DataClassSchema>;

/** One measured compression cost: µs of CPU per 4 KiB page. */
export const CompressCostSchema = z
  .object({
    algorithm: AlgorithmSchema,
    dataClass: DataClassSchema,
    /** Target ratio of the data (compressible class only). */
    ratio: z.number().min(1).max(64).optional(),
    usPerPage: z.number().nonnegative(),
  })
  .strict();
export type CompressCost = z.infer<typeof CompressCostSchema>;

/**
 * Per-page CPU costs of reclaim, after the seed's t1/t2/t3 split, plus the
 * overheads that only exist once compression moves to its own threads.
 */
export const CostsSchema = z
  .object({
    /** Scan and unmap one anonymous folio (kswapd). */
    t1Us: z.number().nonnegative(),
    /**
     * Scan and unmap one anonymous folio on the direct-reclaim path (the
     * allocating task reclaims for itself, on its own CPU). Absent in
     * calibrations made before it was measured: direct reclaim is then
     * charged kswapd's t1.
     */
    t1DirectUs: z.number().nonnegative().optional(),
    /** Reclaim one file folio (kswapd). */
    t3Us: z.number().nonnegative().default(0),
    /** Compression cost used when no measured point matches. */
    t2Us: z.number().nonnegative().optional(),
    /** Measured compression costs per algorithm × data class (× ratio). */
    t2Points: z.array(CompressCostSchema).default([]),
    /** kswapd's cost to queue one folio (fifo insert and wake_up call). */
    enqueueUs: z.number().nonnegative().default(0),
    /** A compressor thread's cost to be woken from sleep (context switch). */
    wakeUs: z.number().nonnegative().default(0),
    /** Extra scan work per queued folio, as a share of t1 (queued folios are met again on the LRU). */
    rescanFraction: z.number().min(0).max(10).default(0),
    /** The eater's own CPU per page it faults in and fills, outside reclaim. */
    faultUs: z.number().positive().default(1),
  })
  .strict();
export type Costs = z.output<typeof CostsSchema>;
export type CostsInput = z.input<typeof CostsSchema>;

/**
 * t2 for one algorithm and data class. Compressible data interpolates linearly
 * in the ratio between measured points and holds the end values outside them.
 */
export function compressCostUs(costs: Costs, algorithm: Algorithm, dataClass: DataClass, ratio?: number): number {
  const points = costs.t2Points.filter((p) => p.algorithm === algorithm && p.dataClass === dataClass);
  if (points.length > 0) {
    if (dataClass !== 'compressible' || ratio === undefined) return mean(points.map((p) => p.usPerPage));
    const withRatio = points.filter((p) => p.ratio !== undefined).sort((a, b) => a.ratio! - b.ratio!);
    if (withRatio.length === 0) return mean(points.map((p) => p.usPerPage));
    return interpolate(withRatio.map((p) => [p.ratio!, p.usPerPage] as const), ratio);
  }
  if (costs.t2Us !== undefined) return costs.t2Us;
  throw new UsageError(
    `no compression cost for ${algorithm} on ${dataClass} pages: calibrate it or give t2Us (--t2-us)`,
    { algorithm, dataClass },
  );
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function interpolate(points: ReadonlyArray<readonly [number, number]>, x: number): number {
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (x <= first[0]) return first[1];
  if (x >= last[0]) return last[1];
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x0, y0] = points[i - 1]!;
    if (x <= x1) return x1 === x0 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return last[1];
}
