import { describe, expect, it } from '@jest/globals';
import { exactUDistribution, mannWhitneyU } from './mann-whitney.js';

describe('mannWhitneyU', () => {
  it('matches the exact two-sided p-values of complete separation', () => {
    // 2 of C(6,3) = 20 and 2 of C(10,5) = 252 orderings are as extreme.
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6])).toEqual({ u: 0, p: 0.1, method: 'exact' });
    const r = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    expect(r.u).toBe(0);
    expect(r.p).toBeCloseTo(2 / 252, 12);
  });

  it('matches the Hollander–Wolfe depression example (W = 35, p = 0.2544)', () => {
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    const r = mannWhitneyU(x, y);
    expect(r.method).toBe('exact');
    expect(r.u).toBe(35);
    expect(r.p).toBeCloseTo(0.2544122544, 8);
  });

  it('uses the tie-corrected normal approximation when there are ties', () => {
    const a = [1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8];
    const b = [3, 4, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10];
    const r = mannWhitneyU(a, b);
    expect(r.method).toBe('normal');
    expect(r.u).toBe(30);
    // Reference value from the textbook formula with continuity correction (0.0158978).
    expect(r.p).toBeCloseTo(0.0158978066, 5);
  });

  it('is symmetric in its groups and gives p = 1 when everything is tied', () => {
    const a = [3, 1, 4, 1, 5];
    const b = [9, 2, 6, 5, 3, 5];
    expect(mannWhitneyU(a, b).p).toBeCloseTo(mannWhitneyU(b, a).p, 12);
    expect(mannWhitneyU([2, 2, 2], [2, 2]).p).toBe(1);
  });

  it('has an exact distribution that sums to one with the right mean', () => {
    const d = exactUDistribution(7, 4);
    expect(d.length).toBe(29);
    expect(d.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(d.reduce((s, v, u) => s + u * v, 0)).toBeCloseTo(14, 10);
  });

  it('rejects empty groups', () => {
    expect(() => mannWhitneyU([], [1])).toThrow(/need values in both groups/);
  });
});
