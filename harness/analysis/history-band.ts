import { ZlabError } from '../util/errors.js';
import { mad, median } from './descriptive.js';
import { metricInfo } from './metric-catalog.js';

export interface HistoryBandOptions {
  /** Half-width of the band in robust standard deviations (1.4826·MAD). */
  k?: number;
  /** Fewest past nights needed before a band is drawn. */
  minNights?: number;
  /** Most recent nights used. */
  maxNights?: number;
  /** Smallest half-width as a fraction of the centre, so a quiet history does not flag noise. */
  minRelativeWidth?: number;
}

export interface HistoryBand {
  centre: number;
  low: number;
  high: number;
  nights: number;
}

export type RegressionStatus = 'within' | 'regression' | 'improvement' | 'shift' | 'insufficient history';

export interface RegressionCheck {
  metric: string;
  value: number;
  band: HistoryBand | null;
  status: RegressionStatus;
  message: string;
}

const defaults: Required<HistoryBandOptions> = { k: 3, minNights: 5, maxNights: 14, minRelativeWidth: 0.02 };

/**
 * The band of normal values from the cell's past nightly medians (oldest
 * first): median ± k robust standard deviations, never narrower than a small
 * fraction of the median.
 */
export function historyBand(pastNights: readonly number[], options: HistoryBandOptions = {}): HistoryBand | null {
  const o = { ...defaults, ...options };
  if (!(o.k > 0)) throw new ZlabError('bug', `historyBand: k=${o.k} must be positive`);
  const recent = pastNights.filter(Number.isFinite).slice(-o.maxNights);
  if (recent.length < o.minNights) return null;
  const centre = median(recent);
  const half = Math.max(o.k * 1.4826 * mad(recent), o.minRelativeWidth * Math.abs(centre));
  return { centre, low: centre - half, high: centre + half, nights: recent.length };
}

/** Tonight's cell median against its history band; only the worse side is a regression. */
export function checkRegression(metric: string, tonight: number, pastNights: readonly number[], options: HistoryBandOptions = {}): RegressionCheck {
  const band = historyBand(pastNights, options);
  if (!band) {
    return { metric, value: tonight, band, status: 'insufficient history', message: `${metric}: ${pastNights.length} past nights, need ${options.minNights ?? defaults.minNights}` };
  }
  if (tonight >= band.low && tonight <= band.high) {
    return { metric, value: tonight, band, status: 'within', message: `${metric} ${tonight.toPrecision(4)} within [${band.low.toPrecision(4)}, ${band.high.toPrecision(4)}]` };
  }
  const up = tonight > band.high;
  const better = metricInfo(metric).better;
  const status: RegressionStatus = better === 'neutral' ? 'shift' : up === (better === 'higher') ? 'improvement' : 'regression';
  return {
    metric,
    value: tonight,
    band,
    status,
    message: `${metric} ${tonight.toPrecision(4)} ${up ? 'above' : 'below'} the ${band.nights}-night band [${band.low.toPrecision(4)}, ${band.high.toPrecision(4)}]`,
  };
}
