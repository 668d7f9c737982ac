import { UsageError } from '../util/errors.js';
import type { ModelInput } from './model-input.js';
import { directReclaimUs, reclaimCapacity, type Bottleneck, type Capacity } from './reclaim-closed-form.js';
import { eaterParams, resolveParams, type ReclaimParams } from './reclaim-params.js';
import { DIRECT_RECLAIM_BATCH, simulateReclaim, type SimulationResult } from './reclaim-simulation.js';
import { classPageCounts, PAGE_BYTES } from './workload.js';

/** How far a prediction can be trusted, and so how a miss is read. */
export type PredictionKind = 'exact' | 'calibrated' | 'rough';

export const METRICS = [
  'pgstealAnonPerSec',
  'pgstealFilePerSec',
  'kswapdCpuShare',
  'kcompressdCpuShare',
  'allocstallPerSec',
  'pswpout',
  'zramSamePages',
  'compressionRatio',
  'swapInsOnRetouch',
] as const;
export type MetricName = (typeof METRICS)[number];

export interface Prediction {
  metric: MetricName;
  value: number;
  /** The tolerance band: a measurement inside [low, high] agrees. */
  low: number;
  high: number;
  kind: PredictionKind;
  unit: string;
  /** One line on what the value rests on. */
  basis: string;
}

export interface RunPrediction {
  schema: 'zlab.model.prediction';
  version: 1;
  pgstealAnonPerSec: number;
  pgstealFilePerSec: number;
  kswapdCpuShare: number;
  kcompressdCpuShare: number;
  /** null: no workload was given, so nobody allocates and nothing stalls. */
  allocstallPerSec: number | null;
  stockPgstealAnonPerSec: number;
  speedup: number;
  bottleneck: Bottleneck;
  fallbackShare: number;
  predictions: Prediction[];
  breakdown: {
    /** µs of CPU per reclaimed folio, by stage (averaged over the mix). */
    perFolioUs: Capacity['work']['parts'] & { wakeUs: number };
    syncUsPerFolio: number;
    /** What the eater spends per folio it reclaims itself. */
    directUsPerFolio: number;
    kswapdUsPerFolio: number;
    compressorUsPerFolio: number;
    reclaimCpus: number;
    queuedShare: number;
    wakesPerQueued: number;
    /** Folios per second the eater asks for; null without a workload. */
    demandPagesPerSec: number | null;
    directPagesPerSec: number;
  };
  memory: { anonPages: number; swappedPages: number; sameFilledPages: number; zeroPages: number } | null;
  params: ReclaimParams;
  simulation?: SimulationResult;
}

export interface PredictOptions {
  /** Also run the discrete-event simulation (queue occupancy, fallback share, stalls). */
  simulate?: { pages: number; seed: number };
}

export function predictRun(input: ModelInput, options: PredictOptions = {}): RunPrediction {
  const params = resolveParams(input);
  const capacity = reclaimCapacity(params);
  if (!(capacity.work.syncUs > 0)) {
    throw new UsageError('every per-folio cost is zero: give t1, t2 or t3 (--t1-us, --t2-us, --t3-us) above 0');
  }
  const eater = eaterParams(input);
  const directUs = directReclaimUs(params);
  const wakeUs = capacity.work.queuedShare * params.wakeUs * capacity.wakesPerQueued;

  // kswapd can reclaim capacity.pagesPerSec; the eater asks for demand. Below
  // capacity kswapd idles part of the time; above it the eater reclaims the
  // rest itself (direct reclaim, 32 folios per allocstall) on its own CPUs.
  const capacityPerUs = capacity.pagesPerSec / 1e6;
  let kswapdPerUs = capacityPerUs;
  let directPerUs = 0;
  let busy = 1;
  if (eater) {
    const demandPerUs = eater.demandPagesPerSec / 1e6;
    if (demandPerUs <= capacityPerUs) {
      kswapdPerUs = demandPerUs;
      busy = capacityPerUs > 0 ? demandPerUs / capacityPerUs : 0;
    } else {
      const w = directUs / eater.workers;
      const achieved = (1 + capacityPerUs * w) / (1 / demandPerUs + w);
      directPerUs = Math.max(0, achieved - capacityPerUs);
    }
  }
  const totalPerSec = (kswapdPerUs + directPerUs) * 1e6;
  const anonPerSec = totalPerSec * params.anonShare;
  const filePerSec = totalPerSec * (1 - params.anonShare);
  const kswapdCpu = capacity.kswapdCpu * busy;
  const kcompressdCpu = capacity.kcompressdCpu * busy;
  const allocstallPerSec = eater ? (directPerUs * 1e6) / DIRECT_RECLAIM_BATCH : null;
  const stockAnon = capacity.stockPagesPerSec * params.anonShare;

  const predictions: Prediction[] = [
    {
      metric: 'pgstealAnonPerSec',
      value: anonPerSec,
      ...relative(anonPerSec, 0.2),
      kind: 'calibrated',
      unit: 'pages/s',
      basis: `${capacity.bottleneck}-bound reclaim${directPerUs > 0 ? (params.t1DirectUs !== undefined ? ' plus direct reclaim at its calibrated cost' : " plus direct reclaim charged kswapd's t1") : ''} from calibrated t1/t2/t3`,
    },
    {
      metric: 'pgstealFilePerSec',
      value: filePerSec,
      ...rough(filePerSec, 0.05 * totalPerSec),
      kind: 'rough',
      unit: 'pages/s',
      basis: `anon share ${round(params.anonShare, 3)} of reclaim assumed`,
    },
    {
      metric: 'kswapdCpuShare',
      value: kswapdCpu,
      low: Math.max(0, kswapdCpu * 0.8 - 0.02),
      high: Math.min(1.02, kswapdCpu * 1.2 + 0.02),
      kind: 'calibrated',
      unit: 'CPUs',
      basis: busy < 1 ? 'kswapd keeps up with the eater and idles between batches' : 'kswapd runs without pause',
    },
    params.threads === 0
      ? { metric: 'kcompressdCpuShare', value: 0, low: 0, high: 0, kind: 'exact', unit: 'CPUs', basis: 'a stock kernel has no compressor threads' }
      : {
          metric: 'kcompressdCpuShare',
          value: kcompressdCpu,
          ...relative(kcompressdCpu, 0.25),
          kind: 'calibrated',
          unit: 'CPUs',
          basis: `${params.threads} threads, ${round(capacity.fallbackShare * 100, 1)} % of queued folios compressed by kswapd`,
        },
  ];
  if (allocstallPerSec !== null) {
    predictions.push({
      metric: 'allocstallPerSec',
      value: allocstallPerSec,
      ...rough(allocstallPerSec, (0.01 * eater!.demandPagesPerSec) / DIRECT_RECLAIM_BATCH),
      kind: 'rough',
      unit: 'stalls/s',
      basis: directPerUs > 0 ? 'the eater allocates faster than kswapd reclaims' : 'kswapd keeps up with the eater',
    });
  }
  const memory = memoryTotals(input, params);
  if (memory) predictions.push(...memoryPredictions(input, memory));

  const result: RunPrediction = {
    schema: 'zlab.model.prediction',
    version: 1,
    pgstealAnonPerSec: anonPerSec,
    pgstealFilePerSec: filePerSec,
    kswapdCpuShare: kswapdCpu,
    kcompressdCpuShare: kcompressdCpu,
    allocstallPerSec,
    stockPgstealAnonPerSec: stockAnon,
    speedup: capacity.speedup,
    bottleneck: capacity.bottleneck,
    fallbackShare: capacity.fallbackShare,
    predictions,
    breakdown: {
      perFolioUs: { ...capacity.work.parts, wakeUs },
      syncUsPerFolio: capacity.work.syncUs,
      directUsPerFolio: directUs,
      kswapdUsPerFolio: capacity.work.kswapdUs,
      compressorUsPerFolio: capacity.work.offloadUs + wakeUs,
      reclaimCpus: params.reclaimCpus,
      queuedShare: capacity.work.queuedShare,
      wakesPerQueued: capacity.wakesPerQueued,
      demandPagesPerSec: eater ? eater.demandPagesPerSec : null,
      directPagesPerSec: directPerUs * 1e6,
    },
    memory: memory
      ? { anonPages: memory.anonPages, swappedPages: memory.swappedPages, sameFilledPages: memory.sameFilledPages, zeroPages: memory.zeroPages }
      : null,
    params,
  };
  if (options.simulate) {
    result.simulation = simulateReclaim(params, {
      pages: options.simulate.pages,
      seed: options.simulate.seed,
      ...(eater ? { eater } : {}),
    });
  }
  return result;
}

interface MemoryTotals {
  anonPages: number;
  swappedPages: number;
  sameFilledPages: number;
  zeroPages: number;
  compressiblePages: number;
  allSwapped: boolean;
}

/**
 * How many of the eater's pages must leave RAM by the end of the fill. A
 * swapped compressible page still costs 1/r of a page in the zram pool; zero
 * and same-filled pages cost nothing. The file set is assumed to stay cached.
 */
function memoryTotals(input: ModelInput, p: ReclaimParams): MemoryTotals | null {
  const w = input.workload;
  const ram = input.device.ramBytes;
  if (!w || ram === undefined) return null;
  const counts = classPageCounts(w);
  const available = input.device.availableBytes ?? 0.85 * ram;
  const forAnon = Math.max(0, available - w.fileBackedMiB * 1024 * 1024);
  const over = counts.total * PAGE_BYTES - forAnon;
  const poolShare = p.mix.compressible / w.ratio;
  let swapped = over <= 0 ? 0 : Math.ceil(over / (PAGE_BYTES * Math.max(1e-9, 1 - poolShare)));
  if (input.device.zram.disksizeBytes !== undefined) swapped = Math.min(swapped, Math.floor(input.device.zram.disksizeBytes / PAGE_BYTES));
  swapped = Math.min(swapped, counts.total);
  return {
    anonPages: counts.total,
    swappedPages: swapped,
    sameFilledPages: counts.sameFilled,
    zeroPages: counts.zero,
    compressiblePages: counts.compressible,
    allSwapped: swapped === counts.total,
  };
}

/**
 * zram's same_pages: the same-filled pages it holds (and the zero ones too
 * when no zeromap catches them first). Exact whenever the whole buffer is out.
 */
export function expectedSamePages(m: { swappedPages: number; anonPages: number; sameFilledPages: number; zeroPages: number }, zeromap: boolean): number {
  const sameLike = m.sameFilledPages + (zeromap ? 0 : m.zeroPages);
  if (m.swappedPages >= m.anonPages) return sameLike;
  return m.anonPages > 0 ? Math.round((sameLike * m.swappedPages) / m.anonPages) : 0;
}

function memoryPredictions(input: ModelInput, m: MemoryTotals): Prediction[] {
  const zeromap = input.device.zeromap;
  const w = input.workload!;
  const out: Prediction[] = [];
  const shareNonZero = m.anonPages > 0 ? 1 - (zeromap ? m.zeroPages / m.anonPages : 0) : 0;
  const pswpout = Math.round(m.swappedPages * shareNonZero);
  out.push({
    metric: 'pswpout',
    value: pswpout,
    ...relative(pswpout, 0.3),
    kind: 'rough',
    unit: 'pages',
    basis: `memory balance at the end of the fill${zeromap ? '; zero pages go to the zeromap, not pswpout' : ''}`,
  });
  const same = expectedSamePages(m, zeromap);
  out.push(
    m.allSwapped
      ? { metric: 'zramSamePages', value: same, low: same, high: same, kind: 'exact', unit: 'pages', basis: 'every eater page is out; the pattern fixes the count' }
      : {
          metric: 'zramSamePages',
          value: same,
          low: Math.floor(same * 0.9),
          high: Math.ceil(same * 1.1),
          kind: 'calibrated',
          unit: 'pages',
          basis: 'same-filled share of the swapped pages',
        },
  );
  const stored = m.compressiblePages + m.sameFilledPages + (zeromap ? 0 : m.zeroPages);
  if (m.compressiblePages > 0) {
    const ratio = (stored / m.compressiblePages) * w.ratio;
    out.push({
      metric: 'compressionRatio',
      value: ratio,
      ...relative(ratio, 0.15),
      kind: 'calibrated',
      unit: 'orig/compr',
      basis: `data at ${w.ratio}:1, same-filled pages stored without compressed bytes`,
    });
  }
  if (w.retouchPasses > 0) {
    // A pass over more memory than fits evicts ahead of itself: at least the
    // swapped pages come back, at most every page that is not in the zeromap.
    const low = Math.round(m.swappedPages * shareNonZero) * w.retouchPasses;
    const high = Math.round(m.anonPages * shareNonZero) * w.retouchPasses;
    out.push({
      metric: 'swapInsOnRetouch',
      value: low,
      low: Math.floor(low * 0.8),
      high: Math.max(high, low),
      kind: 'rough',
      unit: 'pages',
      basis: `${w.retouchPasses} pass(es) over the buffer; LRU order decides how many more come back`,
    });
  }
  return out;
}

function relative(value: number, share: number): { low: number; high: number } {
  return { low: value * (1 - share), high: value * (1 + share) };
}

function rough(value: number, slack: number): { low: number; high: number } {
  return { low: Math.max(0, value / 2 - slack), high: value * 2 + slack };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
