import type { ReclaimParams } from './reclaim-params.js';

/** Where one reclaimed folio's CPU time goes, averaged over the anon/file and data-class mix (µs). */
export interface StageWork {
  /** Stock kernel: everything on kswapd (t1 + t2 + t3 of the seed, per folio). */
  syncUs: number;
  /** kswapd's share once compression is offloaded. */
  kswapdUs: number;
  /** The compressor threads' share (before wake-up costs). */
  offloadUs: number;
  /** Share of reclaimed folios that go through the queue. */
  queuedShare: number;
  parts: {
    scanUnmapUs: number;
    compressInlineUs: number;
    compressOffloadUs: number;
    fileUs: number;
    enqueueUs: number;
    rescanUs: number;
  };
}

export type Bottleneck = 'kswapd' | 'compressors' | 'cpu';

export interface Capacity {
  /** Folios reclaimed per second by kswapd (and its compressors) under sustained pressure. */
  pagesPerSec: number;
  anonPerSec: number;
  filePerSec: number;
  /** The same parameters on a stock kernel. */
  stockPagesPerSec: number;
  speedup: number;
  /** CPUs used (1 = one CPU fully busy). */
  kswapdCpu: number;
  kcompressdCpu: number;
  /** Share of queue-bound folios that kswapd compressed itself because the queue was full. */
  fallbackShare: number;
  bottleneck: Bottleneck;
  work: StageWork;
  /** Wake-ups per queued folio: 1 while compressors keep up, 0 when saturated. */
  wakesPerQueued: number;
}

export function stageWork(p: ReclaimParams): StageWork {
  const a = p.anonShare;
  const { zero, sameFilled, compressible } = p.mix;
  const scanUnmapUs = a * p.t1Us;
  const fileUs = (1 - a) * p.t3Us;
  const zeroUs = a * zero * p.t2ZeroUs;
  const sameUs = a * sameFilled * p.t2SameFilledUs;
  const compUs = a * compressible * p.t2CompressibleUs;
  const syncUs = scanUnmapUs + fileUs + zeroUs + sameUs + compUs;
  if (p.threads === 0) {
    return {
      syncUs,
      kswapdUs: syncUs,
      offloadUs: 0,
      queuedShare: 0,
      parts: { scanUnmapUs, compressInlineUs: zeroUs + sameUs + compUs, compressOffloadUs: 0, fileUs, enqueueUs: 0, rescanUs: 0 },
    };
  }
  const compressInlineUs = (p.zeroInline ? zeroUs : 0) + (p.sameFilledInline ? sameUs : 0);
  const compressOffloadUs = zeroUs + sameUs + compUs - compressInlineUs;
  const queuedShare =
    a * ((p.zeroInline ? 0 : zero) + (p.sameFilledInline ? 0 : sameFilled) + compressible);
  const enqueueUs = queuedShare * p.enqueueUs;
  const rescanUs = queuedShare * p.rescanFraction * p.t1Us;
  return {
    syncUs,
    kswapdUs: scanUnmapUs + fileUs + compressInlineUs + enqueueUs + rescanUs,
    offloadUs: compressOffloadUs,
    queuedShare,
    parts: { scanUnmapUs, compressInlineUs, compressOffloadUs, fileUs, enqueueUs, rescanUs },
  };
}

/**
 * CPU per folio the allocating task spends reclaiming for itself: synchronous
 * like a stock kswapd (direct reclaim never queues to the compressors), with
 * the direct path's own scan/unmap cost where it was calibrated.
 */
export function directReclaimUs(p: ReclaimParams): number {
  return stageWork({ ...p, threads: 0, t1Us: p.t1DirectUs ?? p.t1Us }).syncUs;
}

/** Stock kswapd: one thread doing t1 + t2 + t3, on at most one CPU. */
export function stockPagesPerSec(p: ReclaimParams): number {
  const w = stageWork({ ...p, threads: 0 });
  return rate(Math.min(1, p.reclaimCpus), w.syncUs);
}

/**
 * Reclaim capacity: the least of three bounds, each a resource that is used up.
 *   kswapd:       X · W_k ≤ 1                       (one thread)
 *   compressors:  X · W_c ≤ k                       (queue may block kswapd), or
 *                 X · (W_k + W_c) ≤ 1 + k            (a full queue makes kswapd compress too)
 *   CPUs:         X · (W_k + W_c) ≤ C                (what the eater and background leave)
 */
export function reclaimCapacity(p: ReclaimParams): Capacity {
  const work = stageWork(p);
  const stock = stockPagesPerSec(p);
  if (p.threads === 0) {
    return {
      pagesPerSec: stock,
      anonPerSec: stock * p.anonShare,
      filePerSec: stock * (1 - p.anonShare),
      stockPagesPerSec: stock,
      speedup: 1,
      kswapdCpu: (stock * work.syncUs) / 1e6,
      kcompressdCpu: 0,
      fallbackShare: 0,
      bottleneck: p.reclaimCpus < 1 ? 'cpu' : 'kswapd',
      work,
      wakesPerQueued: 0,
    };
  }
  const { x, bottleneck, compressorUs, wakes } = withWakeups(p, work);
  const pagesPerSec = x * 1e6;
  const fallbackShare =
    p.fallback === 'sync' && compressorUs > 0 && work.queuedShare > 0
      ? Math.max(0, 1 - p.threads / (x * compressorUs))
      : 0;
  return {
    pagesPerSec,
    anonPerSec: pagesPerSec * p.anonShare,
    filePerSec: pagesPerSec * (1 - p.anonShare),
    stockPagesPerSec: stock,
    speedup: stock > 0 ? pagesPerSec / stock : 1,
    kswapdCpu: x * (work.kswapdUs + fallbackShare * compressorUs),
    kcompressdCpu: x * (1 - fallbackShare) * compressorUs,
    fallbackShare,
    bottleneck,
    work,
    wakesPerQueued: wakes,
  };
}

/**
 * A compressor that keeps up with kswapd sleeps when the queue runs dry and is
 * woken for every folio; a saturated one never sleeps. In between, just enough
 * folios find a sleeping thread to keep the compressors at the edge of
 * saturation: the largest wake share at which they are not the bottleneck.
 */
function withWakeups(p: ReclaimParams, work: StageWork): ReturnType<typeof boundedRate> {
  if (p.wakeUs === 0 || work.queuedShare === 0) return boundedRate(p, work, 0);
  const saturated = (w: number): boolean => boundedRate(p, work, w).bottleneck === 'compressors';
  if (!saturated(1)) return boundedRate(p, work, 1);
  if (saturated(0)) return boundedRate(p, work, 0);
  let low = 0;
  let high = 1;
  for (let i = 0; i < 50; i++) {
    const mid = (low + high) / 2;
    if (saturated(mid)) high = mid;
    else low = mid;
  }
  return boundedRate(p, work, low);
}

/** Folios per µs allowed by the three bounds; ties name the earlier resource. */
function boundedRate(
  p: ReclaimParams,
  work: StageWork,
  wakes: number,
): { x: number; bottleneck: Bottleneck; compressorUs: number; wakes: number } {
  const wk = work.kswapdUs;
  const wc = work.offloadUs + work.queuedShare * p.wakeUs * wakes;
  const k = p.threads;
  const bounds: Array<[Bottleneck, number]> = [
    ['kswapd', perUs(1, wk)],
    ['compressors', p.fallback === 'sync' ? perUs(1 + k, wk + wc) : perUs(k, wc)],
    ['cpu', perUs(p.reclaimCpus, wk + wc)],
  ];
  let best = bounds[0]!;
  for (const b of bounds) if (b[1] < best[1] - 1e-15) best = b;
  return { x: best[1], bottleneck: best[0], compressorUs: wc, wakes };
}

function perUs(capacity: number, workUs: number): number {
  return workUs > 0 ? capacity / workUs : Number.POSITIVE_INFINITY;
}

function rate(cpus: number, workUs: number): number {
  return workUs > 0 ? (cpus / workUs) * 1e6 : Number.POSITIVE_INFINITY;
}

/** The seed's bound on the speedup: (t1 + t2 + t3) / max(t1 + t3, t2 / k), per batch. */
export function seedSpeedupBound(t1: number, t2: number, t3: number, k: number): number {
  if (k === 0) return 1;
  return (t1 + t2 + t3) / Math.max(t1 + t3, t2 / k);
}

/**
 * The bound once a full queue makes kswapd compress too (the designs under test
 * all do): kswapd is then one more compressor, so t2 / k becomes (t1 + t2 + t3) / (k + 1).
 */
export function fallbackSpeedupBound(t1: number, t2: number, t3: number, k: number): number {
  if (k === 0) return 1;
  return (t1 + t2 + t3) / Math.max(t1 + t3, (t1 + t2 + t3) / (k + 1));
}
