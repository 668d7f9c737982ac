import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { metricInfo } from '../analysis/metric-catalog.js';
import type { NightlyReport, SeriesKind } from './report-model.js';

/**
 * Report charts: vega-lite specifications compiled to vega and rendered
 * headless to SVG text, which the HTML inlines.
 */
export interface Chart {
  id: string;
  title: string;
  svg: string;
}

const width = 620;

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const kindTitles: Record<SeriesKind, { title: string; y: string }> = {
  reclaim: { title: 'Reclaim rate', y: 'pages/s' },
  memory: { title: 'Free memory', y: 'MiB' },
  psi: { title: 'Memory pressure (PSI)', y: '% of time stalled' },
  temperature: { title: 'Temperatures', y: '°C' },
  cpu: { title: 'Reclaim thread CPU', y: 'CPUs' },
};

export function timeSeriesSpec(report: NightlyReport, kind: SeriesKind): TopLevelSpec | null {
  const values = report.series.flatMap((s) => s.points.filter((p) => p.kind === kind).map((p) => ({ cell: s.cellKey, t: p.t, series: p.series, value: p.value })));
  if (values.length === 0) return null;
  const multi = new Set(values.map((v) => v.series)).size > 1;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: kindTitles[kind].title,
    width,
    height: 170,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'seconds into the run' },
      y: { field: 'value', type: 'quantitative', title: kindTitles[kind].y },
      color: { field: 'cell', type: 'nominal', title: 'cell' },
      ...(multi ? { strokeDash: { field: 'series', type: 'nominal', title: 'series' } } : {}),
      detail: { field: 'series', type: 'nominal' },
    },
  };
}

export function ratioSpec(report: NightlyReport): TopLevelSpec | null {
  const values = report.comparisons
    .filter((c) => c.comparison)
    .map((c) => ({
      row: `${c.label}: ${c.candidate} / ${c.baseline}`,
      value: c.comparison!.ratio.value,
      low: c.comparison!.ratio.low,
      high: c.comparison!.ratio.high,
      verdict: c.comparison!.verdict,
    }));
  if (values.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'A/B: ratio of medians with 95 % CI',
    width: width - 260,
    data: { values },
    layer: [
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y: rowAxis, x: { field: 'low', type: 'quantitative', title: 'ratio (1 = no change)', scale: { zero: false } }, x2: { field: 'high' }, color: { field: 'verdict', type: 'nominal', scale: verdictColours } } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { y: rowAxis, x: { field: 'value', type: 'quantitative' }, color: { field: 'verdict', type: 'nominal', scale: verdictColours } } },
      { data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#666' }, encoding: { x: { field: 'one', type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}

const rowAxis = { field: 'row', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } } as const;

const verdictColours = {
  domain: ['better', 'worse', 'changed', 'no change'],
  range: ['#2e7d32', '#c62828', '#ef6c00', '#4c78a8'],
};

export function modelSpec(report: NightlyReport): TopLevelSpec | null {
  const values = report.model
    .filter((m) => m.measured !== null && m.predicted !== 0)
    .map((m) => ({
      row: `${m.cellKey}: ${metricInfo(m.metric).label}`,
      low: m.low / m.predicted,
      high: m.high / m.predicted,
      measured: m.measured! / m.predicted,
      severity: m.severity,
    }));
  if (values.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Model vs measured (relative to prediction)',
    width: width - 260,
    data: { values },
    encoding: { y: rowAxis },
    layer: [
      { mark: { type: 'bar', color: '#b3cde3', height: 12 }, encoding: { x: { field: 'low', type: 'quantitative', title: 'measured / predicted (band shaded)', scale: { zero: false } }, x2: { field: 'high' } } },
      { mark: { type: 'point', filled: true, size: 70 }, encoding: { x: { field: 'measured', type: 'quantitative' }, color: { field: 'severity', type: 'nominal', scale: { domain: ['ok', 'divergent', 'failure'], range: ['#2e7d32', '#ef6c00', '#c62828'] } } } },
    ],
  } as TopLevelSpec;
}

export function historySpec(report: NightlyReport, metric: string): TopLevelSpec | null {
  const entries = report.regressions.filter((r) => r.check.metric === metric && r.trend.length > 1);
  if (entries.length === 0) return null;
  const points = entries.flatMap((r) => r.trend.map((p) => ({ cell: r.cellKey, date: p.date, median: p.median, tonight: p.tonight })));
  const bands = entries.filter((r) => r.check.band).map((r) => ({ cell: r.cellKey, low: r.check.band!.low, high: r.check.band!.high }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `History: ${metricInfo(metric).label} (nightly median, band from past nights)`,
    width,
    height: 170,
    layer: [
      ...(bands.length
        ? [{ data: { values: bands }, mark: { type: 'rect' as const, opacity: 0.15 }, encoding: { y: { field: 'low', type: 'quantitative' as const }, y2: { field: 'high' }, color: { field: 'cell', type: 'nominal' as const } } }]
        : []),
      { data: { values: points }, mark: { type: 'line', point: true }, encoding: { x: { field: 'date', type: 'ordinal', title: 'night' }, y: { field: 'median', type: 'quantitative', title: metricInfo(metric).unit, scale: { zero: false } }, color: { field: 'cell', type: 'nominal' } } },
      { data: { values: points.filter((p) => p.tonight) }, mark: { type: 'point', shape: 'diamond', size: 120, filled: true, color: '#000' }, encoding: { x: { field: 'date', type: 'ordinal' }, y: { field: 'median', type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}

/** Every chart the report has data for, in page order. */
export async function renderCharts(report: NightlyReport, historyMetric: string): Promise<Chart[]> {
  const specs: [string, string, TopLevelSpec | null][] = [
    ['ratios', 'A/B ratios', ratioSpec(report)],
    ['reclaim', 'Reclaim rate', timeSeriesSpec(report, 'reclaim')],
    ['memory', 'Free memory', timeSeriesSpec(report, 'memory')],
    ['psi', 'PSI', timeSeriesSpec(report, 'psi')],
    ['temperature', 'Temperatures', timeSeriesSpec(report, 'temperature')],
    ['cpu', 'Thread CPU', timeSeriesSpec(report, 'cpu')],
    ['model', 'Model vs measured', modelSpec(report)],
    ['history', 'History', historySpec(report, historyMetric)],
  ];
  const charts: Chart[] = [];
  for (const [id, title, spec] of specs) if (spec) charts.push({ id, title, svg: await renderSvg(spec) });
  return charts;
}
