import { metricInfo } from '../analysis/metric-catalog.js';
import type { Chart } from './charts.js';
import { formatNumber, formatPercentChange, formatRatio } from './format.js';
import { overallVerdict, reportChecks, suiteTitles, type Check } from './report-checks.js';
import type { NightlyReport } from './report-model.js';

/**
 * The report as the templates see it: every number already formatted, so
 * the templates stay free of logic and the HTML and Markdown agree.
 */
export interface ReportView {
  title: string;
  report: NightlyReport;
  verdict: ReturnType<typeof overallVerdict>;
  checks: (Check & { suiteTitle: string })[];
  failedChecks: (Check & { suiteTitle: string })[];
  suites: { title: string; passed: number; failed: number; errors: number; skipped: number; status: string }[];
  comparisons: {
    metric: string;
    baseline: string;
    candidate: string;
    a: string;
    b: string;
    ratio: string;
    ci: string;
    change: string;
    p: string;
    verdict: string;
  }[];
  cells: {
    cellKey: string;
    runs: string;
    metrics: { label: string; unit: string; median: string; ci: string; n: number }[];
    devices: string;
    kernels: string;
    configs: string;
    deviceProps: { key: string; value: string }[];
    kernel: string;
    config: string;
  }[];
  model: { cell: string; metric: string; kind: string; predicted: string; band: string; measured: string; error: string; severity: string }[];
  regressions: { cell: string; metric: string; tonight: string; band: string; nights: number; status: string }[];
  jobs: NightlyReport['jobs'];
  charts: Chart[];
}

const estimateText = (e: { low: number; high: number }) => `[${formatNumber(e.low)}, ${formatNumber(e.high)}]`;

export function reportView(report: NightlyReport, charts: Chart[]): ReportView {
  const checks = reportChecks(report).map((c) => ({ ...c, suiteTitle: suiteTitles[c.suite] }));
  return {
    title: `zlab nightly ${report.plan.name} — ${report.run.date}`,
    report,
    verdict: overallVerdict(checks),
    checks,
    failedChecks: checks.filter((c) => c.status === 'failed' || c.status === 'error'),
    suites: Object.entries(suiteTitles)
      .map(([suite, title]) => {
        const mine = checks.filter((c) => c.suite === suite);
        const n = (st: Check['status']) => mine.filter((c) => c.status === st).length;
        const failed = n('failed');
        const errors = n('error');
        return { title, passed: n('passed'), failed, errors, skipped: n('skipped'), status: failed || errors ? 'failed' : mine.length ? 'passed' : 'skipped', total: mine.length };
      })
      .filter((x) => x.total > 0),
    comparisons: report.comparisons
      .filter((c) => c.comparison)
      .map((c) => {
        const k = c.comparison!;
        return {
          metric: c.label,
          baseline: c.baseline,
          candidate: c.candidate,
          a: formatNumber(k.a.value),
          b: formatNumber(k.b.value),
          ratio: formatRatio(k.ratio.value),
          ci: `[${formatRatio(k.ratio.low)}, ${formatRatio(k.ratio.high)}]`,
          change: formatPercentChange(k.ratio.value),
          p: formatNumber(k.rankTest.p),
          verdict: k.verdict,
        };
      }),
    cells: report.cells.map((c) => {
      const env = c.identity.environment;
      return {
        cellKey: c.cellKey,
        runs: `${c.passed}/${c.jobs}`,
        metrics: c.metrics.map((m) => ({ label: m.label, unit: m.unit, median: formatNumber(m.estimate.value), ci: estimateText(m.estimate), n: m.estimate.n })),
        devices: c.identity.devices.join(', ') || '—',
        kernels: c.identity.kernels.join(', ') || '—',
        configs: c.identity.configs.join(', ') || '—',
        deviceProps: Object.entries(env?.device ?? {}).map(([key, value]) => ({ key, value: String(value) })),
        kernel: env ? JSON.stringify(env.kernel, null, 1) : '—',
        config: env ? JSON.stringify(env.config, null, 1) : '—',
      };
    }),
    model: report.model.map((m) => ({
      cell: m.cellKey,
      metric: metricInfo(m.metric).label,
      kind: m.kind,
      predicted: formatNumber(m.predicted),
      band: `[${formatNumber(m.low)}, ${formatNumber(m.high)}]`,
      measured: formatNumber(m.measured),
      error: m.relativeError === null ? '—' : formatPercentChange(1 + m.relativeError),
      severity: m.severity,
    })),
    regressions: report.regressions.map((r) => ({
      cell: r.cellKey,
      metric: metricInfo(r.check.metric).label,
      tonight: formatNumber(r.check.value),
      band: r.check.band ? `[${formatNumber(r.check.band.low)}, ${formatNumber(r.check.band.high)}]` : '—',
      nights: r.check.band?.nights ?? r.trend.length - 1,
      status: r.check.status,
    })),
    jobs: report.jobs,
    charts,
  };
}
