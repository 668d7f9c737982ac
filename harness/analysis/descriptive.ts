import { ZlabError } from '../util/errors.js';

function finiteOrThrow(values: readonly number[], what: string): number[] {
  const out = values.filter((v) => Number.isFinite(v));
  if (out.length === 0) throw new ZlabError('bug', `${what}: no finite values`);
  return out;
}

/** Quantile with linear interpolation between order statistics (type 7). */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new ZlabError('bug', `quantile: q=${q} is not within [0, 1]`);
  const sorted = finiteOrThrow(values, 'quantile').sort((a, b) => a - b);
  return sortedQuantile(sorted, q);
}

export function sortedQuantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median absolute deviation, unscaled. */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

export function mean(values: readonly number[]): number {
  const vs = finiteOrThrow(values, 'mean');
  return vs.reduce((s, v) => s + v, 0) / vs.length;
}
