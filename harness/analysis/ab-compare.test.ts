import { describe, expect, it } from '@jest/globals';
import { aaSelfCheck, compareAB } from './ab-compare.js';
import { normal, seededRandom } from '../util/seeded-random.js';

const draw = (random: () => number, n: number, mean: number, sd: number) => Array.from({ length: n }, () => normal(random, mean, sd));

describe('compareAB', () => {
  it('calls a clear difference, with the right direction per metric', () => {
    const random = seededRandom(1);
    // zram lz4 vs zstd-like: 30 % more pages stolen per second, 5 % noise.
    const a = draw(random, 8, 300_000, 15_000);
    const b = draw(random, 8, 390_000, 15_000);
    const up = compareAB('pgsteal_anon_per_s', a, b);
    expect(up.significant).toBe(true);
    expect(up.verdict).toBe('better');
    expect(up.ratio.low).toBeGreaterThan(1.15);
    expect(up.ratio.high).toBeLessThan(1.45);
    expect(up.rankTest.p).toBeLessThan(0.01);
    // More allocation stalls is worse.
    expect(compareAB('allocstall_per_s', a, b).verdict).toBe('worse');
    expect(compareAB('kswapd_cpu_share', a, b).verdict).toBe('changed');
  });

  it('rarely flags A/A: false alarms stay near the nominal 5 %', () => {
    const random = seededRandom(2);
    let flagged = 0;
    const trials = 200;
    for (let i = 0; i < trials; i++) {
      const a = draw(random, 8, 100, 10);
      const b = draw(random, 8, 100, 10);
      if (compareAB('pgsteal_anon_per_s', a, b, { resamples: 1000, seed: i }).significant) flagged++;
    }
    expect(flagged / trials).toBeLessThan(0.12);
  });

  it('cannot call a change from two runs against three, however far apart', () => {
    const c = compareAB('pgsteal_anon_per_s', [100, 101], [200, 201, 202]);
    expect(c.ratio.low).toBeGreaterThan(1);
    expect(c.rankTest.p).toBeCloseTo(0.2, 12);
    expect(c.significant).toBe(false);
    expect(c.verdict).toBe('no change');
  });

  it('needs two runs per side', () => {
    expect(() => compareAB('x', [1], [2, 3])).toThrow(/at least 2 runs per side/);
  });
});

describe('aaSelfCheck', () => {
  it('passes on one cell split by alternate runs, even with slow drift', () => {
    const random = seededRandom(3);
    const runs = Array.from({ length: 12 }, (_, i) => normal(random, 100 + i, 3));
    const check = aaSelfCheck('pgsteal_anon_per_s', runs);
    expect(check.passed).toBe(true);
    expect(check.comparison.a.n).toBe(6);
  });

  it('fails when the two "identical" sets are not', () => {
    const random = seededRandom(4);
    const check = aaSelfCheck('pgsteal_anon_per_s', draw(random, 8, 100, 2), draw(random, 8, 120, 2));
    expect(check.passed).toBe(false);
  });

  it('needs eight runs to split', () => {
    expect(() => aaSelfCheck('m', [1, 2, 3, 4, 5, 6, 7])).toThrow(/at least 8 runs/);
  });

});
