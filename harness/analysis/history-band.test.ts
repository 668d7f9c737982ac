import { describe, expect, it } from '@jest/globals';
import { checkRegression, historyBand } from './history-band.js';
import { normal, seededRandom } from '../util/seeded-random.js';

describe('historyBand', () => {
  it('is a robust band around past nights, unmoved by one bad night', () => {
    const past = [100, 102, 98, 101, 99, 100, 103, 97, 40];
    const band = historyBand(past)!;
    expect(band.centre).toBe(100);
    expect(band.low).toBeGreaterThan(90);
    expect(band.high).toBeLessThan(110);
    expect(band.nights).toBe(9);
  });

  it('uses only the most recent nights and needs enough of them', () => {
    expect(historyBand([1, 2, 3, 4])).toBeNull();
    const band = historyBand([...Array(20).fill(10), ...Array(14).fill(50)])!;
    expect(band.centre).toBe(50);
  });

  it('never collapses to a single number on a flat history', () => {
    const band = historyBand([100, 100, 100, 100, 100])!;
    expect(band.high - band.low).toBeCloseTo(4, 9);
  });

  it('holds its nominal rate: few false flags on stable nights', () => {
    const random = seededRandom(8);
    let flags = 0;
    for (let i = 0; i < 300; i++) {
      const past = Array.from({ length: 14 }, () => normal(random, 1000, 30));
      if (checkRegression('pgsteal_anon_per_s', normal(random, 1000, 30), past).status !== 'within') flags++;
    }
    expect(flags / 300).toBeLessThan(0.05);
  });
});

describe('checkRegression', () => {
  const past = [1000, 1010, 990, 1005, 995, 1002, 998];

  it('flags a drop in a higher-is-better metric as a regression', () => {
    const r = checkRegression('pgsteal_anon_per_s', 850, past);
    expect(r.status).toBe('regression');
    expect(r.message).toMatch(/below the 7-night band/);
  });

  it('calls the other side an improvement, and follows the metric direction', () => {
    expect(checkRegression('pgsteal_anon_per_s', 1200, past).status).toBe('improvement');
    expect(checkRegression('allocstall_per_s', 1200, past).status).toBe('regression');
    expect(checkRegression('kswapd_cpu_share', 1200, past).status).toBe('shift');
    expect(checkRegression('pgsteal_anon_per_s', 1003, past).status).toBe('within');
  });

  it('says when history is too short', () => {
    expect(checkRegression('pgsteal_anon_per_s', 5, [1, 2]).status).toBe('insufficient history');
  });
});
