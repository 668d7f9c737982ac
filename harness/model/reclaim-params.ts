import { compressCostUs } from './costs.js';
import type { ModelInput } from './model-input.js';
import { PAGE_BYTES } from './workload.js';

/** Shares of the anonymous folios reclaimed, per data class (they sum to 1). */
export interface ClassMix {
  zero: number;
  sameFilled: number;
  compressible: number;
}

/**
 * The reclaim model's parameters as plain numbers: what the closed form and
 * the simulation take. All costs are µs of CPU per 4 KiB folio.
 */
export interface ReclaimParams {
  anonShare: number;
  t1Us: number;
  /** t1 on the direct-reclaim path; undefined: the same as kswapd's t1. */
  t1DirectUs?: number;
  t3Us: number;
  mix: ClassMix;
  t2ZeroUs: number;
  t2SameFilledUs: number;
  t2CompressibleUs: number;
  /** Zero folios are caught before the hook (6.12 zeromap) and never queued. */
  zeroInline: boolean;
  sameFilledInline: boolean;
  threads: number;
  queueDepth: number;
  fallback: 'sync' | 'block';
  enqueueUs: number;
  wakeUs: number;
  rescanFraction: number;
  /** CPUs the reclaim threads (kswapd and compressors together) can use. */
  reclaimCpus: number;
}

/** What the eater asks of the kernel. */
export interface EaterParams {
  /** Pages per second the eater would allocate if never stalled. */
  demandPagesPerSec: number;
  workers: number;
  faultUs: number;
}

export const ALL_COMPRESSIBLE: ClassMix = { zero: 0, sameFilled: 0, compressible: 1 };

/**
 * CPUs left for reclaim: what the eater and background load leave free, but
 * never less than one fair share of a busy machine — kswapd always runs. The
 * compressor threads are assumed to gain nothing from preempting the eater.
 */
export function reclaimCpus(cpus: number, busyCpus: number): number {
  const free = cpus - busyCpus;
  const fairShare = cpus / (Math.ceil(Math.max(0, busyCpus) - 1e-9) + 1);
  return Math.min(cpus, Math.max(free, fairShare));
}

/** CPUs the eater keeps busy outside reclaim. */
export function eaterCpus(eater: EaterParams | undefined): number {
  if (!eater) return 0;
  return Math.min(eater.workers, (eater.demandPagesPerSec * eater.faultUs) / 1e6);
}

export function eaterParams(input: ModelInput): EaterParams | undefined {
  const w = input.workload;
  if (!w) return undefined;
  const maxRate = (w.workers * 1e6) / input.costs.faultUs;
  const demand = w.rateMiBps > 0 ? Math.min(maxRate, (w.rateMiBps * 1024 * 1024) / PAGE_BYTES) : maxRate;
  return { demandPagesPerSec: demand, workers: w.workers, faultUs: input.costs.faultUs };
}

/** The workload's class mix; with no workload every page is compressible. */
export function classMix(input: ModelInput): ClassMix {
  const w = input.workload;
  if (!w) return ALL_COMPRESSIBLE;
  if (w.pageCounts) {
    const total = w.pageCounts.zero + w.pageCounts.sameFilled + w.pageCounts.compressible;
    if (total > 0) {
      return {
        zero: w.pageCounts.zero / total,
        sameFilled: w.pageCounts.sameFilled / total,
        compressible: w.pageCounts.compressible / total,
      };
    }
  }
  const zero = w.zeroFraction;
  const sameFilled = Math.min(1 - zero, w.sameFilledFraction);
  return { zero, sameFilled, compressible: Math.max(0, 1 - zero - sameFilled) };
}

/** Anonymous share of reclaim: explicit, else the anon and file sizes of the workload. */
export function anonShare(input: ModelInput): number {
  if (input.anonShare !== undefined) return input.anonShare;
  const w = input.workload;
  if (!w) return input.costs.t3Us > 0 ? 0.5 : 1;
  const fileBytes = w.fileBackedMiB * 1024 * 1024;
  return w.sizeBytes / (w.sizeBytes + fileBytes);
}

export function resolveParams(input: ModelInput): ReclaimParams {
  const algorithm = input.device.zram.algorithm;
  const mix = classMix(input);
  const ratio = input.workload?.ratio;
  const cost = (cls: 'zero' | 'sameFilled' | 'compressible', share: number): number =>
    // A class with no pages needs no cost, so no calibration point either.
    share > 0 ? compressCostUs(input.costs, algorithm, cls, cls === 'compressible' ? ratio : undefined) : 0;
  const busy = input.device.backgroundCpus + eaterCpus(eaterParams(input));
  return {
    anonShare: anonShare(input),
    t1Us: input.costs.t1Us,
    ...(input.costs.t1DirectUs !== undefined ? { t1DirectUs: input.costs.t1DirectUs } : {}),
    t3Us: input.costs.t3Us,
    mix,
    t2ZeroUs: cost('zero', mix.zero),
    t2SameFilledUs: cost('sameFilled', mix.sameFilled),
    t2CompressibleUs: cost('compressible', mix.compressible),
    // Without the zeromap, zram sees zero folios as same-filled ones.
    zeroInline: input.device.zeromap || input.design.sameFilledInline,
    sameFilledInline: input.design.sameFilledInline,
    threads: input.design.threads,
    queueDepth: input.design.queueDepth,
    fallback: input.design.fallback,
    enqueueUs: input.costs.enqueueUs,
    wakeUs: input.costs.wakeUs,
    rescanFraction: input.costs.rescanFraction,
    reclaimCpus: reclaimCpus(input.device.cpus, busy),
  };
}
