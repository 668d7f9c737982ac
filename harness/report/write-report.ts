import { join } from 'node:path';
import type { ResultsStore } from '../store/results-store.js';
import { buildNightlyReport, defaultHeadline, type BuildReportOptions } from './build-report.js';
import { renderCharts } from './charts.js';
import { renderJUnit } from './junit-report.js';
import { reportChecks, overallVerdict } from './report-checks.js';
import { writeFolderAtomically } from './report-files.js';
import type { NightlyReport } from './report-model.js';
import { reportView } from './report-view.js';
import { renderHtml, renderMarkdown } from './templates.js';

/** Generated reports go here unless told otherwise (git-ignored). */
export const defaultReportsRoot = join(import.meta.dirname, '..', '..', 'reports', 'out');

export interface WrittenReport {
  dir: string;
  files: { html: string; markdown: string; junit: string; json: string };
  report: NightlyReport;
  passed: boolean;
}

export interface WriteReportOptions extends BuildReportOptions {
  /** Parent folder of the report folders; reports/out by default. */
  outRoot?: string;
}

/** `<date>-<plan>` with anything unsafe for a file name replaced. */
export function reportFolderName(report: NightlyReport): string {
  const plan = report.plan.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'plan';
  return `${report.run.date}-${plan}`;
}

/** Renders all four forms of a run's report from an already built model. */
export async function renderReportFiles(report: NightlyReport, historyMetric = defaultHeadline[0]!): Promise<Record<string, string>> {
  const charts = await renderCharts(report, historyMetric);
  const view = reportView(report, charts);
  return {
    'index.html': renderHtml(view),
    'summary.md': renderMarkdown(view),
    'junit.xml': renderJUnit(report),
    'report.json': `${JSON.stringify(report, null, 1)}\n`,
  };
}

/**
 * Builds a run's report from the store and writes reports/out/<date>-<plan>/
 * with index.html, summary.md, junit.xml and report.json, all at once.
 */
export async function writeNightlyReport(store: ResultsStore, runId: number, options: WriteReportOptions = {}): Promise<WrittenReport> {
  const report = buildNightlyReport(store, runId, options);
  const files = await renderReportFiles(report, options.headline?.[0]);
  const dir = writeFolderAtomically(options.outRoot ?? defaultReportsRoot, reportFolderName(report), files);
  return {
    dir,
    files: { html: join(dir, 'index.html'), markdown: join(dir, 'summary.md'), junit: join(dir, 'junit.xml'), json: join(dir, 'report.json') },
    report,
    passed: overallVerdict(reportChecks(report)).passed,
  };
}
