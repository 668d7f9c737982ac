import { ZlabError } from '../util/errors.js';
import type { EaterParams, ReclaimParams } from './reclaim-params.js';
import { SeededRandom } from '../util/seeded-random.js';

/**
 * A discrete-event simulation of one node's reclaim, for what the closed form
 * cannot say: queue occupancy, the share of folios kswapd compresses itself
 * when the queue is full, wake-ups, and when the eater starts to stall.
 *
 * Threads: kswapd and k compressors share the reclaim CPUs (processor sharing:
 * n runnable threads on C CPUs each run at min(1, C / n)); the eater runs on
 * its own CPUs. Time is simulated, never measured.
 */
export interface SimulationOptions {
  /** Folios to reclaim (kswapd and direct together) before stopping. */
  pages: number;
  seed: number;
  /** Coefficient of variation of every per-folio cost; 0 = deterministic costs. */
  costJitter?: number;
  /** Share of the run left out of the rates, so that start-up does not count. */
  warmupFraction?: number;
  /**
   * The eater and the free-page watermarks it pushes against. Without it the
   * pressure never lets up: kswapd never sleeps and nobody stalls.
   */
  eater?: EaterParams & { watermarks?: Watermarks };
}

export interface Watermarks {
  min: number;
  low: number;
  high: number;
}

export interface SimulationResult {
  windowUs: number;
  pgstealAnonPerSec: number;
  pgstealFilePerSec: number;
  pgstealKswapdPerSec: number;
  pgstealDirectPerSec: number;
  kswapdCpuShare: number;
  kcompressdCpuShare: number;
  allocstallPerSec: number;
  /** Share of queue-bound folios kswapd compressed itself (sync fallback). */
  fallbackShare: number;
  /** Share of the window kswapd spent waiting for queue room (block design). */
  kswapdBlockedShare: number;
  wakeupsPerSec: number;
  meanQueueOccupancy: number;
  maxQueueOccupancy: number;
  eaterAllocPerSec: number;
}

/** Folios reclaimed per direct-reclaim attempt (SWAP_CLUSTER_MAX); each attempt is one allocstall. */
export const DIRECT_RECLAIM_BATCH = 32;

const DEFAULT_WATERMARKS: Watermarks = { min: 1024, low: 1280, high: 1536 };

type PageClass = 'file' | 'zero' | 'sameFilled' | 'compressible';

interface Folio {
  anon: boolean;
  /** Work kswapd does before handing the folio on (or all of it, when not queued). */
  kswapdUs: number;
  /** Compression work that may be queued; 0 = the folio never enters the queue. */
  offloadUs: number;
}

interface Thread {
  busy: boolean;
  remaining: number;
  cpuUs: number;
  onDone: () => void;
}

/** Deals classes in exact proportion, deterministically (largest remainder). */
class ProportionalDealer<K extends string> {
  private readonly credit: Map<K, number>;

  constructor(private readonly shares: ReadonlyArray<readonly [K, number]>) {
    this.credit = new Map(shares.map(([k]) => [k, 0]));
  }

  next(): K {
    let best: K | undefined;
    let bestCredit = Number.NEGATIVE_INFINITY;
    for (const [k, share] of this.shares) {
      const c = (this.credit.get(k) ?? 0) + share;
      this.credit.set(k, c);
      if (share > 0 && c > bestCredit) {
        bestCredit = c;
        best = k;
      }
    }
    if (best === undefined) throw new ZlabError('bug', 'class mix has no positive share');
    this.credit.set(best, bestCredit - 1);
    return best;
  }
}

export function simulateReclaim(p: ReclaimParams, options: SimulationOptions): SimulationResult {
  if (!Number.isInteger(options.pages) || options.pages < 100) {
    throw new ZlabError('usage', `simulation pages must be an integer of at least 100, got ${options.pages}`);
  }
  const rng = new SeededRandom(options.seed);
  const jitter = options.costJitter ?? 0;
  const warmupPages = Math.floor(options.pages * (options.warmupFraction ?? 0.1));
  const eater = options.eater;
  const marks = eater?.watermarks ?? DEFAULT_WATERMARKS;
  const k = p.threads;

  const cost = (us: number): number => (jitter > 0 && us > 0 ? us * Math.max(0.05, 1 + jitter * rng.gaussian()) : us);
  const classShares = (): Array<readonly [PageClass, number]> => [
    ['file', 1 - p.anonShare],
    ['zero', p.anonShare * p.mix.zero],
    ['sameFilled', p.anonShare * p.mix.sameFilled],
    ['compressible', p.anonShare * p.mix.compressible],
  ];
  const kswapdDealer = new ProportionalDealer(classShares());
  const directDealer = new ProportionalDealer(classShares());

  const t2Of = (cls: PageClass): number =>
    cls === 'zero' ? p.t2ZeroUs : cls === 'sameFilled' ? p.t2SameFilledUs : cls === 'compressible' ? p.t2CompressibleUs : 0;
  const inline = (cls: PageClass): boolean =>
    cls === 'file' || (cls === 'zero' && p.zeroInline) || (cls === 'sameFilled' && p.sameFilledInline);

  const makeFolio = (cls: PageClass, offloading: boolean): Folio => {
    if (cls === 'file') return { anon: false, kswapdUs: cost(p.t3Us), offloadUs: 0 };
    const t2 = cost(t2Of(cls));
    if (!offloading || inline(cls)) return { anon: true, kswapdUs: cost(p.t1Us) + t2, offloadUs: 0 };
    let rescans = Math.floor(p.rescanFraction);
    if (rng.next() < p.rescanFraction - rescans) rescans += 1;
    return { anon: true, kswapdUs: cost(p.t1Us) * (1 + rescans) + p.enqueueUs, offloadUs: t2 };
  };

  // Counters (totals; the window subtracts the snapshot taken after warm-up).
  const c = {
    t: 0,
    stealAnon: 0,
    stealFile: 0,
    stealKswapd: 0,
    stealDirect: 0,
    allocstalls: 0,
    queueAttempts: 0,
    fallbacks: 0,
    wakeups: 0,
    blockedUs: 0,
    queueArea: 0,
    allocated: 0,
    kswapdCpu: 0,
    compressorCpu: 0,
  };
  let snapshot: typeof c | undefined;
  let maxQueue = 0;
  let free = eater ? marks.high : Number.POSITIVE_INFINITY;

  const queue: Folio[] = [];
  let blockedFolio: Folio | undefined;

  const reclaimed = (folio: Folio, byKswapd: boolean): void => {
    if (folio.anon) c.stealAnon += 1;
    else c.stealFile += 1;
    if (byKswapd) c.stealKswapd += 1;
    else c.stealDirect += 1;
    free += 1;
    if (!snapshot && c.stealAnon + c.stealFile >= warmupPages) snapshot = { ...c, kswapdCpu: kswapd.cpuUs, compressorCpu: sumCpu(compressors) };
  };

  const kswapd: Thread = { busy: false, remaining: 0, cpuUs: 0, onDone: () => undefined };
  const compressors: Thread[] = Array.from({ length: k }, () => ({ busy: false, remaining: 0, cpuUs: 0, onDone: () => undefined }));

  const startCompress = (thread: Thread): void => {
    const folio = queue.shift();
    if (!folio) {
      thread.busy = false;
      return;
    }
    if (blockedFolio) {
      // A slot freed: the waiting kswapd queues its folio and goes on.
      queue.push(blockedFolio);
      blockedFolio = undefined;
      kswapdNext();
    }
    thread.busy = true;
    thread.remaining = folio.offloadUs;
    thread.onDone = () => {
      reclaimed(folio, true);
      startCompress(thread);
    };
  };

  const wakeOne = (): void => {
    const idle = compressors.find((t) => !t.busy);
    if (!idle) return;
    c.wakeups += 1;
    idle.busy = true;
    idle.remaining = p.wakeUs;
    idle.onDone = () => startCompress(idle);
  };

  const hand = (folio: Folio): void => {
    c.queueAttempts += 1;
    if (queue.length < p.queueDepth) {
      queue.push(folio);
      maxQueue = Math.max(maxQueue, queue.length);
      wakeOne();
      kswapdNext();
    } else if (p.fallback === 'sync') {
      c.fallbacks += 1;
      kswapd.busy = true;
      kswapd.remaining = folio.offloadUs;
      kswapd.onDone = () => {
        reclaimed(folio, true);
        kswapdNext();
      };
    } else {
      blockedFolio = folio;
      kswapd.busy = false;
    }
  };

  const pressure = (): boolean => !eater || free < marks.high;

  function kswapdNext(): void {
    if (!pressure()) {
      kswapd.busy = false;
      return;
    }
    const folio = makeFolio(kswapdDealer.next(), k > 0);
    kswapd.busy = true;
    kswapd.remaining = folio.kswapdUs;
    kswapd.onDone =
      folio.offloadUs > 0
        ? () => hand(folio)
        : () => {
            reclaimed(folio, true);
            kswapdNext();
          };
  }

  // The eater: allocate one page per step while free pages last; at the min
  // watermark it reclaims a batch itself (one allocstall) before going on.
  const eaterThread: Thread = { busy: false, remaining: 0, cpuUs: 0, onDone: () => undefined };
  const eaterStep = eater ? 1e6 / eater.demandPagesPerSec : 0;
  const eaterAllocate = (): void => {
    eaterThread.busy = true;
    if (free > marks.min) {
      eaterThread.remaining = eaterStep;
      eaterThread.onDone = () => {
        free -= 1;
        c.allocated += 1;
        if (!kswapd.busy && !blockedFolio && free < marks.low) kswapdNext();
        eaterAllocate();
      };
      return;
    }
    c.allocstalls += 1;
    const folios = Array.from({ length: DIRECT_RECLAIM_BATCH }, () => makeFolio(directDealer.next(), false));
    const work = folios.reduce((s, f) => s + f.kswapdUs, 0);
    eaterThread.remaining = work / eater!.workers;
    eaterThread.onDone = () => {
      for (const f of folios) reclaimed(f, false);
      eaterAllocate();
    };
  };

  kswapdNext();
  if (eater) eaterAllocate();

  const reclaimers = [...compressors, kswapd];
  // Compressors first in every pass, so that a slot they free is there for kswapd.
  const everyone = eater ? [...reclaimers, eaterThread] : reclaimers;
  let steps = 0;
  const stepLimit = options.pages * (k + 4) * 20 + 1_000_000;
  while (c.stealAnon + c.stealFile < options.pages) {
    if (++steps > stepLimit) throw new ZlabError('bug', 'reclaim simulation made no progress');
    const running = reclaimers.filter((t) => t.busy).length;
    const speed = running > p.reclaimCpus ? p.reclaimCpus / running : 1;
    let dt = Number.POSITIVE_INFINITY;
    for (const t of everyone) {
      if (!t.busy) continue;
      const s = t === eaterThread ? 1 : speed;
      dt = Math.min(dt, t.remaining / s);
    }
    if (!Number.isFinite(dt)) throw new ZlabError('bug', 'reclaim simulation deadlocked: no thread can run');
    c.t += dt;
    c.queueArea += queue.length * dt;
    if (blockedFolio) c.blockedUs += dt;
    for (const t of everyone) {
      if (!t.busy) continue;
      const s = t === eaterThread ? 1 : speed;
      t.remaining -= s * dt;
      t.cpuUs += s * dt;
    }
    for (const t of everyone) {
      if (t.busy && t.remaining <= 1e-9) {
        t.remaining = 0;
        t.onDone();
      }
    }
  }

  const start = snapshot ?? { ...c, t: 0, stealAnon: 0, stealFile: 0, stealKswapd: 0, stealDirect: 0, allocstalls: 0, queueAttempts: 0, fallbacks: 0, wakeups: 0, blockedUs: 0, queueArea: 0, allocated: 0, kswapdCpu: 0, compressorCpu: 0 };
  const windowUs = c.t - start.t;
  const perSec = (n: number): number => (windowUs > 0 ? (n * 1e6) / windowUs : 0);
  const attempts = c.queueAttempts - start.queueAttempts;
  return {
    windowUs,
    pgstealAnonPerSec: perSec(c.stealAnon - start.stealAnon),
    pgstealFilePerSec: perSec(c.stealFile - start.stealFile),
    pgstealKswapdPerSec: perSec(c.stealKswapd - start.stealKswapd),
    pgstealDirectPerSec: perSec(c.stealDirect - start.stealDirect),
    kswapdCpuShare: windowUs > 0 ? (kswapd.cpuUs - start.kswapdCpu) / windowUs : 0,
    kcompressdCpuShare: windowUs > 0 ? (sumCpu(compressors) - start.compressorCpu) / windowUs : 0,
    allocstallPerSec: perSec(c.allocstalls - start.allocstalls),
    fallbackShare: attempts > 0 ? (c.fallbacks - start.fallbacks) / attempts : 0,
    kswapdBlockedShare: windowUs > 0 ? (c.blockedUs - start.blockedUs) / windowUs : 0,
    wakeupsPerSec: perSec(c.wakeups - start.wakeups),
    meanQueueOccupancy: windowUs > 0 ? (c.queueArea - start.queueArea) / windowUs : 0,
    maxQueueOccupancy: maxQueue,
    eaterAllocPerSec: perSec(c.allocated - start.allocated),
  };
}

function sumCpu(threads: Thread[]): number {
  return threads.reduce((s, t) => s + t.cpuUs, 0);
}
