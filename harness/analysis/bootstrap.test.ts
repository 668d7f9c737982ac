import { describe, expect, it } from '@jest/globals';
import { bootstrapMedian, bootstrapMedianRatio } from './bootstrap.js';
import { normal, seededRandom } from '../util/seeded-random.js';

describe('bootstrapMedian', () => {
  it('covers the true median about 95 % of the time', () => {
    const random = seededRandom(42);
    const trials = 300;
    let covered = 0;
    for (let i = 0; i < trials; i++) {
      const sample = Array.from({ length: 15 }, () => normal(random, 100, 10));
      const e = bootstrapMedian(sample, { resamples: 1000, seed: i });
      if (e.low <= 100 && 100 <= e.high) covered++;
    }
    const rate = covered / trials;
    expect(rate).toBeGreaterThan(0.88);
    expect(rate).toBeLessThan(0.995);
  });

  it('is reproducible from its seed and brackets the sample median', () => {
    const sample = [5, 9, 2, 7, 4, 8, 6];
    const a = bootstrapMedian(sample, { seed: 7 });
    expect(bootstrapMedian(sample, { seed: 7 })).toEqual(a);
    expect(a.value).toBe(6);
    expect(a.low).toBeLessThanOrEqual(6);
    expect(a.high).toBeGreaterThanOrEqual(6);
    expect(a.n).toBe(7);
  });

  it('ignores non-finite values and refuses an empty sample', () => {
    expect(bootstrapMedian([1, Number.NaN, 3]).value).toBe(2);
    expect(() => bootstrapMedian([Number.NaN])).toThrow(/no finite values/);
    expect(() => bootstrapMedian([1, 2], { resamples: 5 })).toThrow(/resamples=5/);
  });
});

describe('bootstrapMedianRatio', () => {
  it('covers the true ratio of medians', () => {
    const random = seededRandom(9);
    let covered = 0;
    const trials = 200;
    for (let i = 0; i < trials; i++) {
      const a = Array.from({ length: 12 }, () => normal(random, 100, 8));
      const b = Array.from({ length: 12 }, () => normal(random, 130, 8));
      const e = bootstrapMedianRatio(a, b, { resamples: 1000, seed: i });
      if (e.low <= 1.3 && 1.3 <= e.high) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.86);
  });

  it('refuses a zero median in A', () => {
    expect(() => bootstrapMedianRatio([0, 0, 0], [1, 2, 3])).toThrow(/median of A is zero/);
  });
});
