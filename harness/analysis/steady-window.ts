import { ZlabError } from '../util/errors.js';
import { sortedQuantile } from './descriptive.js';
import { counterRate, type TimeSeries } from './time-series.js';

export interface SteadyWindow {
  /** Seconds on the series' own clock. */
  start: number;
  end: number;
  /** Median rate of the counter inside the window (per second). */
  level: number;
}

export interface SteadyWindowOptions {
  /** Rate points smoothed by a running median of this many points (odd). */
  smooth?: number;
  /** A point is "under pressure" when its smoothed rate is at least this fraction of the plateau. */
  threshold?: number;
  /** Fraction of the active stretch dropped at each end, so edges of ramp-up and release stay out. */
  trim?: number;
  /** Fewest rate points a window may have. */
  minPoints?: number;
}

const defaults: Required<SteadyWindowOptions> = { smooth: 5, threshold: 0.5, trim: 0.1, minPoints: 3 };

function runningMedian(values: number[], width: number): number[] {
  const half = Math.floor(width / 2);
  return values.map((_, i) => {
    const slice = values.slice(Math.max(0, i - half), i + half + 1).filter(Number.isFinite);
    return slice.length ? sortedQuantile(slice.sort((a, b) => a - b), 0.5) : Number.NaN;
  });
}

/**
 * Finds the steady pressure window of a run from the rate of one cumulative
 * counter (pgsteal_anon by default): the longest stretch where the smoothed
 * rate stays near its plateau, trimmed at both ends. Returns null when the
 * counter never rose (no reclaim happened).
 */
export function findSteadyWindow(series: TimeSeries, counter = 'pgsteal_anon', options: SteadyWindowOptions = {}): SteadyWindow | null {
  const o = { ...defaults, ...options };
  if (!Number.isInteger(o.smooth) || o.smooth < 1 || o.smooth % 2 === 0) {
    throw new ZlabError('bug', `findSteadyWindow: smooth=${o.smooth}; use an odd integer ≥ 1`);
  }
  if (!(o.threshold > 0 && o.threshold < 1)) throw new ZlabError('bug', `findSteadyWindow: threshold=${o.threshold} is not within (0, 1)`);
  if (!(o.trim >= 0 && o.trim < 0.5)) throw new ZlabError('bug', `findSteadyWindow: trim=${o.trim} is not within [0, 0.5)`);

  const { t, rate } = counterRate(series, counter);
  if (rate.length < o.minPoints) return null;
  const smooth = runningMedian(rate, o.smooth);
  const finite = smooth.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  // The plateau is a high quantile of the smoothed rate: robust to a few spikes.
  const plateau = sortedQuantile(finite, 0.9);
  if (!(plateau > 0)) return null;

  let best: [number, number] | null = null;
  let runStart = -1;
  for (let i = 0; i <= smooth.length; i++) {
    const active = i < smooth.length && smooth[i]! >= o.threshold * plateau;
    if (active && runStart < 0) runStart = i;
    if (!active && runStart >= 0) {
      if (!best || i - runStart > best[1] - best[0]) best = [runStart, i];
      runStart = -1;
    }
  }
  if (!best) return null;
  const length = best[1] - best[0];
  const cut = Math.floor(length * o.trim);
  const first = best[0] + cut;
  const last = best[1] - cut - 1;
  if (last - first + 1 < o.minPoints) return null;

  // Interval i spans series.t[i] .. series.t[i + 1].
  const start = series.t[first]!;
  const end = series.t[last + 1]!;
  const inside = rate.slice(first, last + 1).filter(Number.isFinite).sort((a, b) => a - b);
  return { start, end, level: sortedQuantile(inside, 0.5) };
}
