/**
 * The per-run metrics zlab reports, with units and which way is better, so
 * that comparisons and regressions can say "worse" rather than "changed".
 */
export type Direction = 'higher' | 'lower' | 'neutral';

export interface MetricInfo {
  label: string;
  unit: string;
  better: Direction;
}

export const metricCatalog = {
  pgsteal_anon_per_s: { label: 'pgsteal_anon', unit: 'pages/s', better: 'higher' },
  pgsteal_file_per_s: { label: 'pgsteal_file', unit: 'pages/s', better: 'neutral' },
  allocstall_per_s: { label: 'allocstall', unit: '1/s', better: 'lower' },
  pswpout_per_s: { label: 'pswpout', unit: 'pages/s', better: 'higher' },
  kswapd_cpu_share: { label: 'kswapd CPU', unit: 'CPUs', better: 'neutral' },
  kcompressd_cpu_share: { label: 'kcompressd CPU', unit: 'CPUs', better: 'neutral' },
  psi_some_share: { label: 'PSI some', unit: 'fraction', better: 'lower' },
  psi_full_share: { label: 'PSI full', unit: 'fraction', better: 'lower' },
  compression_ratio: { label: 'compression ratio', unit: '×', better: 'higher' },
  peak_temp_c: { label: 'peak temperature', unit: '°C', better: 'lower' },
  window_s: { label: 'steady window', unit: 's', better: 'neutral' },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof metricCatalog;

export const metricNames = Object.keys(metricCatalog) as MetricName[];

export function metricInfo(name: string): MetricInfo {
  return (metricCatalog as Record<string, MetricInfo>)[name] ?? { label: name, unit: '', better: 'neutral' };
}
