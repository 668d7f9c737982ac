import { ZlabError } from '../util/errors.js';
import type { MetricName } from './metric-catalog.js';
import { findSteadyWindow, type SteadyWindow, type SteadyWindowOptions } from './steady-window.js';
import { checkTimeSeries, valueAt, type TimeSeries } from './time-series.js';

/**
 * Names of the sampler's series that the metrics are computed from. Counters
 * are cumulative; CPU times in seconds; PSI totals in microseconds; zram sizes
 * in bytes; temperatures in °C.
 */
export interface SeriesNames {
  pgstealAnon: string;
  pgstealFile: string;
  /** Either one cumulative series or, when absent, the sum of series with this prefix. */
  allocstall: string;
  pswpout: string;
  kswapdCpu: string;
  kcompressdCpu: string;
  psiSomeTotal: string;
  psiFullTotal: string;
  zramOrig: string;
  zramCompr: string;
  /** Prefix of thermal zone series. */
  tempPrefix: string;
}

export const defaultSeriesNames: SeriesNames = {
  pgstealAnon: 'pgsteal_anon',
  pgstealFile: 'pgsteal_file',
  allocstall: 'allocstall',
  pswpout: 'pswpout',
  kswapdCpu: 'kswapd_cpu_s',
  kcompressdCpu: 'kcompressd_cpu_s',
  psiSomeTotal: 'psi_some_total_us',
  psiFullTotal: 'psi_full_total_us',
  zramOrig: 'zram_orig_data_size',
  zramCompr: 'zram_compr_data_size',
  tempPrefix: 'temp_',
};

export type RunMetrics = Partial<Record<MetricName, number>>;

export interface RunMetricsResult {
  window: SteadyWindow;
  metrics: RunMetrics;
}

export interface RunMetricsOptions extends SteadyWindowOptions {
  names?: Partial<SeriesNames>;
  /** Use this window instead of detecting one. */
  window?: { start: number; end: number };
}

/** Sum of all series whose name starts with `prefix` (allocstall_normal, allocstall_movable, …). */
function summedSeries(series: TimeSeries, prefix: string): number[] | undefined {
  const parts = Object.entries(series.values).filter(([k]) => k.startsWith(prefix));
  if (parts.length === 0) return undefined;
  return series.t.map((_, i) => parts.reduce((s, [, vs]) => s + vs[i]!, 0));
}

/**
 * Per-run metrics: counter deltas over the steady window divided by its
 * length. A metric whose series is missing is left out rather than reported
 * as zero.
 */
export function computeRunMetrics(series: TimeSeries, options: RunMetricsOptions = {}): RunMetricsResult {
  checkTimeSeries(series);
  const names = { ...defaultSeriesNames, ...options.names };
  if (!series.values[names.pgstealAnon] && !options.window) {
    throw new ZlabError('bug', `run metrics: no "${names.pgstealAnon}" series to find the steady window from`);
  }
  const found = options.window
    ? { ...options.window, level: Number.NaN }
    : findSteadyWindow(series, names.pgstealAnon, options);
  if (!found) {
    throw new ZlabError('plan', `run metrics: no steady reclaim window: "${names.pgstealAnon}" never rose steadily; does the workload exceed free memory?`);
  }
  const { start, end } = found;
  if (!(end > start)) throw new ZlabError('bug', `run metrics: window ${start}..${end} s is empty`);
  const span = end - start;
  const delta = (vs: number[] | undefined): number | undefined =>
    vs ? valueAt(series.t, vs, end) - valueAt(series.t, vs, start) : undefined;
  const perSecond = (vs: number[] | undefined, scale = 1): number | undefined => {
    const d = delta(vs);
    return d === undefined ? undefined : d / span / scale;
  };

  const v = series.values;
  const metrics: RunMetrics = { window_s: span };
  const put = (name: MetricName, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) metrics[name] = value;
  };
  put('pgsteal_anon_per_s', perSecond(v[names.pgstealAnon]));
  put('pgsteal_file_per_s', perSecond(v[names.pgstealFile]));
  put('allocstall_per_s', perSecond(v[names.allocstall] ?? summedSeries(series, names.allocstall)));
  put('pswpout_per_s', perSecond(v[names.pswpout]));
  put('kswapd_cpu_share', perSecond(v[names.kswapdCpu]));
  put('kcompressd_cpu_share', perSecond(v[names.kcompressdCpu]));
  put('psi_some_share', perSecond(v[names.psiSomeTotal], 1e6));
  put('psi_full_share', perSecond(v[names.psiFullTotal], 1e6));

  const orig = v[names.zramOrig];
  const compr = v[names.zramCompr];
  if (orig && compr) {
    // The ratio at the end of the window: what the pool holds after steady pressure.
    const c = valueAt(series.t, compr, end);
    if (c > 0) put('compression_ratio', valueAt(series.t, orig, end) / c);
  }
  // Peak temperature over the whole run, not just the window: heat lags load.
  let peak = Number.NEGATIVE_INFINITY;
  for (const [k, vs] of Object.entries(v)) {
    if (k.startsWith(names.tempPrefix)) for (const x of vs) if (Number.isFinite(x)) peak = Math.max(peak, x);
  }
  if (peak > Number.NEGATIVE_INFINITY) put('peak_temp_c', peak);
  return { window: found, metrics };
}
