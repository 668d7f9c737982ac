import { describe, expect, it } from '@jest/globals';
import {
  fallbackSpeedupBound,
  reclaimCapacity,
  seedSpeedupBound,
  stageWork,
  stockPagesPerSec,
} from './reclaim-closed-form.js';
import { reclaimCpus, type ReclaimParams } from './reclaim-params.js';
import { simulateReclaim } from './reclaim-simulation.js';
import { SeededRandom } from '../util/seeded-random.js';

const base: ReclaimParams = {
  anonShare: 1,
  t1Us: 1.2,
  t3Us: 0,
  mix: { zero: 0, sameFilled: 0, compressible: 1 },
  t2ZeroUs: 0,
  t2SameFilledUs: 0,
  t2CompressibleUs: 2.1,
  zeroInline: true,
  sameFilledInline: false,
  threads: 4,
  queueDepth: 256,
  fallback: 'sync',
  enqueueUs: 0,
  wakeUs: 0,
  rescanFraction: 0,
  reclaimCpus: 8,
};

/** Random but reproducible parameter sets over wide ranges. */
function randomParams(rng: SeededRandom, overrides: Partial<ReclaimParams> = {}): ReclaimParams {
  const zero = rng.between(0, 0.4);
  const sameFilled = rng.between(0, 0.6 - zero);
  return {
    anonShare: rng.between(0.2, 1),
    t1Us: rng.between(0.1, 10),
    t3Us: rng.between(0, 5),
    mix: { zero, sameFilled, compressible: 1 - zero - sameFilled },
    t2ZeroUs: rng.between(0.05, 1),
    t2SameFilledUs: rng.between(0.05, 1),
    t2CompressibleUs: rng.between(0.5, 40),
    zeroInline: rng.next() < 0.5,
    sameFilledInline: rng.next() < 0.5,
    threads: Math.floor(rng.between(0, 9)),
    queueDepth: Math.floor(rng.between(1, 5000)),
    fallback: rng.next() < 0.5 ? 'sync' : 'block',
    enqueueUs: rng.between(0, 0.5),
    wakeUs: rng.between(0, 3),
    rescanFraction: rng.between(0, 0.5),
    reclaimCpus: rng.between(0.2, 16),
    ...overrides,
  };
}

/** The seed's per-batch t1, t2, t3 for a parameter set (per reclaimed folio). */
function seedTerms(p: ReclaimParams): { t1: number; t2: number; t3: number } {
  const w = stageWork({ ...p, threads: 0 });
  return { t1: w.parts.scanUnmapUs, t2: w.parts.compressInlineUs, t3: w.parts.fileUs };
}

describe('closed form: the laws of the model', () => {
  it('k = 0 is the synchronous baseline: one thread doing t1 + t2 + t3', () => {
    const rng = new SeededRandom(7);
    for (let i = 0; i < 500; i++) {
      const p = randomParams(rng, { threads: 0 });
      const { t1, t2, t3 } = seedTerms(p);
      const c = reclaimCapacity(p);
      expect(c.pagesPerSec).toBeCloseTo((Math.min(1, p.reclaimCpus) / (t1 + t2 + t3)) * 1e6, 6);
      expect(c.pagesPerSec).toBe(stockPagesPerSec(p));
      expect(c.kcompressdCpu).toBe(0);
      expect(c.speedup).toBe(1);
    }
  });

  it('queue, wake-up and re-scan parameters change nothing when k = 0', () => {
    const stock = reclaimCapacity({ ...base, threads: 0 });
    const tweaked = reclaimCapacity({ ...base, threads: 0, queueDepth: 1, enqueueUs: 5, wakeUs: 9, rescanFraction: 3, fallback: 'block' });
    expect(tweaked.pagesPerSec).toBe(stock.pagesPerSec);
  });

  it('with all compression offloaded and no fallback, speedup never exceeds (t1+t2+t3) / max(t1+t3, t2/k)', () => {
    const rng = new SeededRandom(11);
    for (let i = 0; i < 2000; i++) {
      const p = randomParams(rng, { fallback: 'block', zeroInline: false, sameFilledInline: false, threads: 1 + Math.floor(rng.between(0, 8)) });
      const { t1, t2, t3 } = seedTerms(p);
      const c = reclaimCapacity(p);
      const bound = seedSpeedupBound(t1, t2, t3, p.threads);
      expect(c.speedup).toBeLessThanOrEqual(bound * (1 + 1e-9));
    }
    // The bound is tight: with free CPUs and no overheads it is reached.
    const tight = { ...base, fallback: 'block' as const, zeroInline: false, threads: 1 };
    expect(reclaimCapacity(tight).speedup).toBeCloseTo(seedSpeedupBound(1.2, 2.1, 0, 1), 9);
  });

  it('with the synchronous fallback, kswapd is one more compressor: speedup ≤ (t1+t2+t3) / max(t1+t3, (t1+t2+t3)/(k+1))', () => {
    const rng = new SeededRandom(12);
    for (let i = 0; i < 2000; i++) {
      const p = randomParams(rng, { fallback: 'sync', zeroInline: false, sameFilledInline: false });
      const { t1, t2, t3 } = seedTerms(p);
      expect(reclaimCapacity(p).speedup).toBeLessThanOrEqual(fallbackSpeedupBound(t1, t2, t3, p.threads) * (1 + 1e-9));
    }
    // …and this bound can exceed the seed's: one slow compressor plus kswapd beat one compressor alone.
    const p = { ...base, threads: 1, zeroInline: false };
    expect(reclaimCapacity(p).speedup).toBeGreaterThan(seedSpeedupBound(1.2, 2.1, 0, 1));
    expect(reclaimCapacity(p).speedup).toBeCloseTo(fallbackSpeedupBound(1.2, 2.1, 0, 1), 9);
  });

  it('never beats the stock kernel when no CPU is free', () => {
    const rng = new SeededRandom(13);
    for (let i = 0; i < 1000; i++) {
      const cpus = 1 + Math.floor(rng.between(0, 8));
      const busy = cpus + rng.between(0, 4);
      const p = randomParams(rng, { reclaimCpus: reclaimCpus(cpus, busy) });
      expect(p.reclaimCpus).toBeLessThanOrEqual(1);
      const c = reclaimCapacity(p);
      expect(c.pagesPerSec).toBeLessThanOrEqual(c.stockPagesPerSec * (1 + 1e-9));
    }
  });

  it('saturates once t2/k < t1 + t3: more threads add nothing', () => {
    const rng = new SeededRandom(14);
    for (let i = 0; i < 500; i++) {
      const p = randomParams(rng, { reclaimCpus: 64, wakeUs: 0, enqueueUs: 0, rescanFraction: 0, zeroInline: false, sameFilledInline: false });
      const { t1, t2, t3 } = seedTerms(p);
      const kStar = Math.max(1, Math.ceil(t2 / (t1 + t3) + 1e-9));
      const at = reclaimCapacity({ ...p, threads: kStar }).pagesPerSec;
      for (const k of [kStar + 1, kStar + 5, kStar + 20]) {
        expect(reclaimCapacity({ ...p, threads: k }).pagesPerSec).toBeCloseTo(at, 6);
      }
      expect(at).toBeCloseTo((1 / (t1 + t3)) * 1e6, 6);
      // Below saturation a thread more does help.
      if (kStar > 1) expect(reclaimCapacity({ ...p, threads: kStar - 1 }).pagesPerSec).toBeLessThan(at);
    }
  });

  it('a fuller queue-bound design shifts work to kswapd only when compressors are the bottleneck', () => {
    const keeping = reclaimCapacity({ ...base, threads: 4 });
    expect(keeping.bottleneck).toBe('kswapd');
    expect(keeping.fallbackShare).toBe(0);
    const slow = reclaimCapacity({ ...base, threads: 1 });
    expect(slow.bottleneck).toBe('compressors');
    expect(slow.fallbackShare).toBeGreaterThan(0);
    expect(slow.kswapdCpu).toBeCloseTo(1, 9);
    expect(slow.kcompressdCpu).toBeCloseTo(1, 9);
  });
});

describe('discrete-event simulation', () => {
  const cases: Array<[string, Partial<ReclaimParams>]> = [
    ['stock kernel', { threads: 0 }],
    ['four threads, kswapd-bound, with wake-ups', { threads: 4, wakeUs: 1, enqueueUs: 0.02 }],
    ['one thread, compressor-bound, sync fallback', { threads: 1 }],
    ['one thread, compressor-bound, blocking queue', { threads: 1, fallback: 'block' }],
    ['CPU-bound: 1.5 CPUs for five threads', { threads: 4, reclaimCpus: 1.5 }],
    ['anon and file mix with same-filled pages', { threads: 2, anonShare: 0.7, t3Us: 0.8, mix: { zero: 0.1, sameFilled: 0.2, compressible: 0.7 }, t2ZeroUs: 0.3, t2SameFilledUs: 0.4 }],
  ];
  for (const [name, overrides] of cases) {
    it(`agrees with the closed form: ${name}`, () => {
      const p = { ...base, ...overrides };
      const c = reclaimCapacity(p);
      const s = simulateReclaim(p, { pages: 20_000, seed: 3 });
      expect(s.pgstealAnonPerSec + s.pgstealFilePerSec).toBeGreaterThan(c.pagesPerSec * 0.97);
      expect(s.pgstealAnonPerSec + s.pgstealFilePerSec).toBeLessThan(c.pagesPerSec * 1.03);
      expect(s.kswapdCpuShare).toBeCloseTo(c.kswapdCpu, 1);
      expect(s.kcompressdCpuShare).toBeCloseTo(c.kcompressdCpu, 1);
      expect(s.fallbackShare).toBeCloseTo(c.fallbackShare, 1);
      expect(s.pgstealAnonPerSec / (s.pgstealAnonPerSec + s.pgstealFilePerSec)).toBeCloseTo(p.anonShare, 2);
    });
  }

  it('repeats exactly for a seed and differs for another when costs jitter', () => {
    const p = { ...base, threads: 2, wakeUs: 0.5, rescanFraction: 0.3 };
    const a = simulateReclaim(p, { pages: 5000, seed: 42, costJitter: 0.3 });
    const b = simulateReclaim(p, { pages: 5000, seed: 42, costJitter: 0.3 });
    const c = simulateReclaim(p, { pages: 5000, seed: 43, costJitter: 0.3 });
    expect(b).toEqual(a);
    expect(c.windowUs).not.toBe(a.windowUs);
  });

  it('k = 0 in the simulation is the synchronous baseline', () => {
    const s = simulateReclaim({ ...base, threads: 0, wakeUs: 3, enqueueUs: 1 }, { pages: 5000, seed: 1 });
    expect(s.pgstealAnonPerSec).toBeCloseTo(1e6 / (1.2 + 2.1), 0);
    expect(s.kcompressdCpuShare).toBe(0);
    expect(s.wakeupsPerSec).toBe(0);
    expect(s.maxQueueOccupancy).toBe(0);
  });

  it('a full queue shows as occupancy at the queue depth; a fast one stays nearly empty', () => {
    const full = simulateReclaim({ ...base, threads: 1, queueDepth: 64 }, { pages: 20_000, seed: 1 });
    expect(full.maxQueueOccupancy).toBe(64);
    expect(full.meanQueueOccupancy).toBeGreaterThan(60);
    const fast = simulateReclaim({ ...base, threads: 4, queueDepth: 64 }, { pages: 20_000, seed: 1 });
    expect(fast.meanQueueOccupancy).toBeLessThan(2);
    expect(fast.fallbackShare).toBe(0);
  });

  it('allocstalls start once the eater allocates faster than reclaim frees', () => {
    const stock = { ...base, threads: 0 };
    const capacity = reclaimCapacity(stock).pagesPerSec;
    const eater = (demand: number) => ({ demandPagesPerSec: demand, workers: 1, faultUs: 1 });
    const below = simulateReclaim(stock, { pages: 20_000, seed: 1, eater: eater(capacity * 0.8) });
    expect(below.allocstallPerSec).toBe(0);
    expect(below.pgstealDirectPerSec).toBe(0);
    expect(below.kswapdCpuShare).toBeCloseTo(0.8, 1);
    const above = simulateReclaim(stock, { pages: 20_000, seed: 1, eater: eater(capacity * 1.5) });
    expect(above.allocstallPerSec).toBeGreaterThan(0);
    expect(above.pgstealDirectPerSec).toBeGreaterThan(0);
    expect(above.kswapdCpuShare).toBeCloseTo(1, 2);
    // kcompressd raises the onset: the same eater no longer stalls.
    const offloaded = simulateReclaim({ ...base, threads: 4 }, { pages: 20_000, seed: 1, eater: eater(capacity * 1.5) });
    expect(offloaded.allocstallPerSec).toBe(0);
  });

  it('refuses a run too short to measure', () => {
    expect(() => simulateReclaim(base, { pages: 10, seed: 1 })).toThrow(/at least 100/);
  });
});
