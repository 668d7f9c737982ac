import { ZlabError } from '../util/errors.js';

/**
 * A sampler's output in the form analysis works on: one time axis in seconds
 * (device CLOCK_BOOTTIME) and any number of named series of the same length.
 * Counters are cumulative as read from the kernel; gauges are instantaneous.
 */
export interface TimeSeries {
  t: number[];
  values: Record<string, number[]>;
}

/** Checks shape and monotonic time so later code can index freely. */
export function checkTimeSeries(series: TimeSeries, what = 'series'): void {
  const { t, values } = series;
  if (!Array.isArray(t)) throw new ZlabError('bug', `${what}: t is not an array`);
  for (let i = 0; i < t.length; i++) {
    const v = t[i]!;
    if (!Number.isFinite(v)) throw new ZlabError('bug', `${what}: t[${i}] is not a finite number`);
    if (i > 0 && v <= t[i - 1]!) {
      throw new ZlabError('bug', `${what}: time does not increase at t[${i}] (${t[i - 1]} then ${v})`);
    }
  }
  for (const [name, vs] of Object.entries(values)) {
    if (!Array.isArray(vs) || vs.length !== t.length) {
      throw new ZlabError('bug', `${what}: series "${name}" has ${Array.isArray(vs) ? vs.length : 'no'} points, t has ${t.length}`);
    }
  }
}

/** Per-interval rate of a cumulative counter, placed at interval midpoints. */
export function counterRate(series: TimeSeries, name: string): { t: number[]; rate: number[] } {
  const vs = series.values[name];
  if (!vs) throw new ZlabError('bug', `no series named "${name}"`);
  const t: number[] = [];
  const rate: number[] = [];
  for (let i = 1; i < series.t.length; i++) {
    const dt = series.t[i]! - series.t[i - 1]!;
    // A counter that goes backwards was reset (reboot, module reload): no rate for that step.
    const dv = vs[i]! - vs[i - 1]!;
    t.push((series.t[i]! + series.t[i - 1]!) / 2);
    rate.push(dv >= 0 ? dv / dt : Number.NaN);
  }
  return { t, rate };
}

/** Value of a series at time `at` by linear interpolation (clamped at the ends). */
export function valueAt(t: number[], vs: number[], at: number): number {
  if (t.length === 0) return Number.NaN;
  if (at <= t[0]!) return vs[0]!;
  if (at >= t[t.length - 1]!) return vs[vs.length - 1]!;
  let lo = 0;
  let hi = t.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! <= at) lo = mid;
    else hi = mid;
  }
  const f = (at - t[lo]!) / (t[hi]! - t[lo]!);
  return vs[lo]! + f * (vs[hi]! - vs[lo]!);
}
