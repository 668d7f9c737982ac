import { ZlabError } from '../util/errors.js';

export interface RankTest {
  /** U for the first group: pairs (a, b) with a > b, ties counting one half. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal';
}

/** Below this size (each group) and without ties the exact distribution is used. */
const exactLimit = 50;

/** Mid-ranks of the pooled sample and the tie correction term Σ(t³ − t). */
function midRanks(pooled: number[]): { ranks: number[]; tieTerm: number } {
  const order = pooled.map((v, i) => i).sort((i, j) => pooled[i]! - pooled[j]!);
  const ranks = new Array<number>(pooled.length);
  let tieTerm = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && pooled[order[j + 1]!] === pooled[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks, tieTerm };
}

/**
 * Exact null distribution of U for group sizes m and n without ties, as
 * probabilities. The largest pooled value comes from the first group with
 * probability m/(m+n) and then beats all n of the second, which gives
 * P(u; m, n) = m/(m+n)·P(u − n; m − 1, n) + n/(m+n)·P(u; m, n − 1).
 */
export function exactUDistribution(m: number, n: number): Float64Array {
  // row[j] holds the distribution for (i, j) while i advances.
  let prev: Float64Array[] = [];
  for (let j = 0; j <= n; j++) prev.push(Float64Array.of(1));
  for (let i = 1; i <= m; i++) {
    const row: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n; j++) {
      const d = new Float64Array(i * j + 1);
      const fromA = prev[j]!;
      const fromB = row[j - 1]!;
      const wa = i / (i + j);
      const wb = j / (i + j);
      for (let u = 0; u < fromA.length; u++) d[u + j]! += wa * fromA[u]!;
      for (let u = 0; u < fromB.length; u++) d[u]! += wb * fromB[u]!;
      row.push(d);
    }
    prev = row;
  }
  return prev[n]!;
}

/** Complementary error function, |relative error| < 1.2e-7 (Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Two-sided normal tail probability for a z score. */
export function twoSidedNormalP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/**
 * Mann–Whitney U test (two-sided) of whether values in `a` tend to differ from
 * values in `b`. Exact for small samples without ties; otherwise the normal
 * approximation with tie correction and continuity correction.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): RankTest {
  const xa = a.filter(Number.isFinite);
  const xb = b.filter(Number.isFinite);
  if (xa.length === 0 || xb.length === 0) {
    throw new ZlabError('bug', `mannWhitneyU: need values in both groups (got ${xa.length} and ${xb.length})`);
  }
  const m = xa.length;
  const n = xb.length;
  const { ranks, tieTerm } = midRanks([...xa, ...xb]);
  let rankSumA = 0;
  for (let i = 0; i < m; i++) rankSumA += ranks[i]!;
  const u = rankSumA - (m * (m + 1)) / 2;

  if (tieTerm === 0 && m < exactLimit && n < exactLimit) {
    const dist = exactUDistribution(m, n);
    const k = Math.round(u);
    let lower = 0;
    for (let i = 0; i <= k; i++) lower += dist[i]!;
    let upper = 0;
    for (let i = k; i < dist.length; i++) upper += dist[i]!;
    return { u, p: Math.min(1, 2 * Math.min(lower, upper)), method: 'exact' };
  }

  const total = m + n;
  const mu = (m * n) / 2;
  const variance = ((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  if (variance <= 0) return { u, p: 1, method: 'normal' };
  const diff = u - mu;
  const corrected = Math.max(0, Math.abs(diff) - 0.5);
  return { u, p: twoSidedNormalP(corrected / Math.sqrt(variance)), method: 'normal' };
}
