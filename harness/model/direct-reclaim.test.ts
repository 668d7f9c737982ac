import { describe, expect, it } from '@jest/globals';
import { parseModelInput, type ModelInputInput } from './model-input.js';
import { directReclaimUs, reclaimCapacity, seedSpeedupBound } from './reclaim-closed-form.js';
import { predictRun } from './run-prediction.js';
import { DIRECT_RECLAIM_BATCH } from './reclaim-simulation.js';

/*
 * The laws with a direct-reclaim cost of its own: it prices only what the
 * eater reclaims for itself, so kswapd's capacity, the k = 0 baseline, the
 * speedup bounds, saturation and "no gain without free CPU" are untouched.
 */

const MiB = 1024 * 1024;

/** An eater that asks for more than kswapd can reclaim, so it reclaims part itself. */
function input(threads: number, t1DirectUs: number | undefined, over: Partial<ModelInputInput> = {}): ModelInputInput {
  return {
    device: { cpus: 4, zram: { algorithm: 'lz4' } },
    workload: { sizeBytes: 512 * MiB, ratio: 3, rateMiBps: 0, workers: 1 },
    costs: { t1Us: 1000, t2Us: 200, faultUs: 100, ...(t1DirectUs !== undefined ? { t1DirectUs } : {}) },
    design: { threads, queueDepth: 256, fallback: 'sync' },
    ...over,
  };
}

const predict = (i: ModelInputInput) => predictRun(parseModelInput(i));

describe('direct reclaim at its own cost', () => {
  it('without the term the eater is charged kswapd’s t1: the same as giving t1 for it', () => {
    for (const k of [0, 1, 4]) {
      const old = predict(input(k, undefined));
      const same = predict(input(k, 1000));
      expect(same.pgstealAnonPerSec).toBeCloseTo(old.pgstealAnonPerSec, 9);
      expect(same.allocstallPerSec).toBeCloseTo(old.allocstallPerSec!, 9);
      expect(same.breakdown.directUsPerFolio).toBe(old.breakdown.syncUsPerFolio);
    }
  });

  it('k = 0: kswapd at 1/W plus the eater at (1 + X·Wd)/(1/A + Wd) − X, worked by hand', () => {
    const r = predict(input(0, 300));
    // W = t1 + t2 = 1,200 µs; Wd = t1,direct + t2 = 500 µs; A = 1e6 / fault = 10,000 pages/s
    const x = 1 / 1200;
    const a = 1 / 100;
    const wd = 500;
    const achieved = (1 + x * wd) / (1 / a + wd);
    expect(r.pgstealAnonPerSec).toBeCloseTo(achieved * 1e6, 6);
    expect(r.allocstallPerSec).toBeCloseTo(((achieved - x) * 1e6) / DIRECT_RECLAIM_BATCH, 6);
    expect(r.kswapdCpuShare).toBeCloseTo(1, 9);
    expect(r.breakdown.directUsPerFolio).toBe(500);
  });

  it('a cheaper direct path raises the steal rate and the stalls, never kswapd’s capacity', () => {
    let previous = -Infinity;
    for (const t1d of [2000, 1000, 500, 100, 0]) {
      const r = predict(input(0, t1d));
      expect(r.pgstealAnonPerSec).toBeGreaterThan(previous);
      expect(r.stockPgstealAnonPerSec).toBeCloseTo(1e6 / 1200, 6);
      previous = r.pgstealAnonPerSec;
    }
  });

  it('never lets the eater reclaim more than it asks for', () => {
    const r = predict(input(0, 0));
    expect(r.pgstealAnonPerSec).toBeLessThanOrEqual(1e6 / 100 + 1e-6);
  });

  it('leaves the capacity laws alone: k = 0 baseline, the seed bound, saturation', () => {
    const params = (k: number, t1d: number) => parseModelInput(input(k, t1d));
    for (const t1d of [0, 250, 5000]) {
      const withTerm = predictRun(params(4, t1d));
      const without = predictRun(params(4, 1000));
      expect(withTerm.speedup).toBe(without.speedup);
      expect(withTerm.stockPgstealAnonPerSec).toBe(without.stockPgstealAnonPerSec);
      expect(withTerm.speedup).toBeLessThanOrEqual(seedSpeedupBound(1000, 200, 0, 4) * (1 + 1e-12));
      // t2/k < t1 + t3 already at k = 1: more threads add nothing, with or without the term
      const one = predictRun(params(1, t1d));
      const eight = predictRun(params(8, t1d));
      expect(eight.pgstealAnonPerSec).toBeCloseTo(one.pgstealAnonPerSec, 6);
    }
    const p = predictRun(params(0, 250)).params;
    expect(reclaimCapacity(p).pagesPerSec).toBeCloseTo(reclaimCapacity({ ...p, t1DirectUs: undefined }).pagesPerSec, 9);
    expect(directReclaimUs(p)).toBe(450);
  });

  it('no gain without free CPU, whatever the direct path costs', () => {
    for (const t1d of [0, 300, 3000]) {
      const busy = { device: { cpus: 4, backgroundCpus: 4, zram: { algorithm: 'lz4' as const } } };
      const stock = predict(input(0, t1d, busy));
      const kc = predict(input(4, t1d, busy));
      expect(kc.pgstealAnonPerSec).toBeLessThanOrEqual(stock.pgstealAnonPerSec * (1 + 1e-12));
    }
  });
});
