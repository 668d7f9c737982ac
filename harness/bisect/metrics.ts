import type { Headline } from '../collect/headline.js';
import { metricInfo } from '../analysis/metric-catalog.js';
import { UsageError } from '../util/errors.js';
import type { Direction } from './decision.js';

/** Metrics a device measurement can produce, read from an eater run's headline. */
const headlineMetrics = {
  pgsteal_anon_per_sec: { catalog: 'pgsteal_anon_per_s', read: (h: Headline) => h.pgstealAnonPerSec },
  pswpout_per_sec: { catalog: 'pswpout_per_s', read: (h: Headline) => h.pswpoutPerSec },
  allocstall_per_sec: { catalog: 'allocstall_per_s', read: (h: Headline) => h.allocstallPerSec },
  kswapd_cpu_share: { catalog: 'kswapd_cpu_share', read: (h: Headline) => h.kswapdCpuShare },
  kcompressd_cpu_share: { catalog: 'kcompressd_cpu_share', read: (h: Headline) => h.kcompressdCpuShare },
  psi_some_share: { catalog: 'psi_some_share', read: (h: Headline) => h.psiSomeShare },
  psi_full_share: { catalog: 'psi_full_share', read: (h: Headline) => h.psiFullShare },
  compression_ratio: { catalog: 'compression_ratio', read: (h: Headline) => h.zram?.compressionRatio ?? null },
} as const;

export type HeadlineMetric = keyof typeof headlineMetrics;
export const headlineMetricNames = Object.keys(headlineMetrics) as HeadlineMetric[];

/** The catalogue spells rates `_per_s`; both spellings name the same metric. */
function canonical(name: string): string {
  return name.replace(/_per_s$/, '_per_sec');
}

/** A metric a device run can measure, or a usage error listing the known ones. */
export function headlineMetric(name: string): HeadlineMetric {
  const key = canonical(name);
  if (!(key in headlineMetrics)) {
    throw new UsageError(`--metric: "${name}" is not a metric a device run measures; use one of ${headlineMetricNames.join(', ')}`);
  }
  return key as HeadlineMetric;
}

/** The metric's value in one run's headline; null when the run could not give it. */
export function readHeadlineMetric(metric: HeadlineMetric, headline: Headline): number | null {
  const value = headlineMetrics[metric].read(headline);
  return value !== null && Number.isFinite(value) ? value : null;
}

/** A metric name for a measurement command's output: a plain identifier. */
export function checkMetricName(name: string): string {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) {
    throw new UsageError(`--metric: "${name}" is not a metric name (lower-case letters, digits and "_", starting with a letter)`);
  }
  return name;
}

/**
 * Which way is better: the command line's word when given, else the
 * catalogue's; a metric whose better direction is unknown must be told.
 */
export function metricDirection(name: string, flags: { higherIsBetter?: boolean; lowerIsBetter?: boolean }): Direction {
  if (flags.higherIsBetter && flags.lowerIsBetter) throw new UsageError('--higher-is-better and --lower-is-better contradict each other');
  if (flags.higherIsBetter) return 'higher-is-better';
  if (flags.lowerIsBetter) return 'lower-is-better';
  const key = canonical(name);
  const catalogName = key in headlineMetrics ? headlineMetrics[key as HeadlineMetric].catalog : name;
  const better = metricInfo(catalogName).better;
  if (better === 'higher') return 'higher-is-better';
  if (better === 'lower') return 'lower-is-better';
  throw new UsageError(`--metric: which way is better for "${name}" is not known; say --higher-is-better or --lower-is-better`);
}
