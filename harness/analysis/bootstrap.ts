import { ZlabError } from '../util/errors.js';
import { sortedQuantile } from './descriptive.js';
import { seededRandom, type Random } from '../util/seeded-random.js';

export interface BootstrapOptions {
  /** Number of resamples; 4000 keeps the 2.5 % tails steady to about ±0.5 %. */
  resamples?: number;
  /** Two-sided confidence level. */
  confidence?: number;
  /** Seed so that a report can be reproduced exactly. */
  seed?: number;
}

export interface Estimate {
  value: number;
  low: number;
  high: number;
  n: number;
  confidence: number;
}

const defaults = { resamples: 4000, confidence: 0.95, seed: 1 };

function settle(options: BootstrapOptions): Required<BootstrapOptions> {
  const o = { ...defaults, ...options };
  if (!Number.isInteger(o.resamples) || o.resamples < 100) {
    throw new ZlabError('bug', `bootstrap: resamples=${o.resamples}; use an integer of at least 100`);
  }
  if (!(o.confidence > 0 && o.confidence < 1)) {
    throw new ZlabError('bug', `bootstrap: confidence=${o.confidence} is not within (0, 1)`);
  }
  return o;
}

function cleaned(values: readonly number[], what: string): number[] {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length === 0) throw new ZlabError('bug', `${what}: no finite values to estimate from`);
  return vs;
}

function resampleMedian(values: readonly number[], random: Random, scratch: number[]): number {
  const n = values.length;
  for (let i = 0; i < n; i++) scratch[i] = values[Math.floor(random() * n)]!;
  scratch.sort((a, b) => a - b);
  return sortedQuantile(scratch, 0.5);
}

function percentileInterval(stats: number[], confidence: number): [number, number] {
  stats.sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  return [sortedQuantile(stats, tail), sortedQuantile(stats, 1 - tail)];
}

/** Median with a percentile-bootstrap confidence interval. */
export function bootstrapMedian(values: readonly number[], options: BootstrapOptions = {}): Estimate {
  const o = settle(options);
  const vs = cleaned(values, 'bootstrapMedian');
  const sorted = [...vs].sort((a, b) => a - b);
  const value = sortedQuantile(sorted, 0.5);
  const random = seededRandom(o.seed);
  const scratch = new Array<number>(vs.length);
  const stats = new Array<number>(o.resamples);
  for (let b = 0; b < o.resamples; b++) stats[b] = resampleMedian(vs, random, scratch);
  const [low, high] = percentileInterval(stats, o.confidence);
  return { value, low, high, n: vs.length, confidence: o.confidence };
}

/**
 * Ratio of medians median(b) / median(a) with a percentile-bootstrap interval,
 * resampling each group on its own (the groups are independent runs).
 */
export function bootstrapMedianRatio(a: readonly number[], b: readonly number[], options: BootstrapOptions = {}): Estimate {
  const o = settle(options);
  const va = cleaned(a, 'bootstrapMedianRatio (A)');
  const vb = cleaned(b, 'bootstrapMedianRatio (B)');
  const ma = sortedQuantile([...va].sort((x, y) => x - y), 0.5);
  const mb = sortedQuantile([...vb].sort((x, y) => x - y), 0.5);
  if (ma === 0) throw new ZlabError('bug', 'bootstrapMedianRatio: the median of A is zero; a ratio is undefined');
  const random = seededRandom(o.seed);
  const sa = new Array<number>(va.length);
  const sb = new Array<number>(vb.length);
  const stats: number[] = [];
  for (let i = 0; i < o.resamples; i++) {
    const ra = resampleMedian(va, random, sa);
    const rb = resampleMedian(vb, random, sb);
    // A resample whose A median is zero has no ratio; it is left out.
    if (ra !== 0) stats.push(rb / ra);
  }
  if (stats.length < o.resamples / 2) {
    throw new ZlabError('bug', 'bootstrapMedianRatio: A is mostly zero; a ratio is not meaningful');
  }
  const [low, high] = percentileInterval(stats, o.confidence);
  return { value: mb / ma, low, high, n: Math.min(va.length, vb.length), confidence: o.confidence };
}
