import { existsSync, readFileSync } from 'node:fs';
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
import { ZlabError } from '../util/errors.js';

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

/** The run a report folder holds, from its report.json; null when it cannot be read. */
function folderRun(dir: string): { id: unknown; store: unknown } | null {
  try {
    const run = (JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Partial<NightlyReport>).run;
    return run ? { id: run.id, store: run.store } : null;
  } catch {
    return null;
  }
}

/**
 * Where a run's report goes under `parent`: `<date>-<plan>`, unless that
 * folder holds another run's report (the plan ran twice that day, or from
 * another results file) — then `<date>-<plan>-run<id>`, and with the start
 * time added if even that is taken. Writing a run's report again replaces
 * its own folder; another run's report is never overwritten.
 */
export function reportFolderFor(parent: string, report: NightlyReport): string {
  const base = reportFolderName(report);
  const candidates = [base, `${base}-run${report.run.id}`, `${base}-run${report.run.id}-${report.run.startedAt.replace(/[^0-9]/g, '').slice(0, 14)}`];
  for (const name of candidates) {
    const dir = join(parent, name);
    if (!existsSync(dir)) return name;
    const run = folderRun(dir);
    if (run && run.id === report.run.id && run.store === report.run.store) return name;
  }
  throw new ZlabError('infrastructure', `cannot place the report of run ${report.run.id}: ${candidates.map((n) => join(parent, n)).join(', ')} all hold other reports`);
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
 * (see reportFolderFor) with index.html, summary.md, junit.xml and report.json, all at once.
 */
export async function writeNightlyReport(store: ResultsStore, runId: number, options: WriteReportOptions = {}): Promise<WrittenReport> {
  const report = buildNightlyReport(store, runId, options);
  const files = await renderReportFiles(report, options.headline?.[0]);
  const parent = options.outRoot ?? defaultReportsRoot;
  const dir = writeFolderAtomically(parent, reportFolderFor(parent, report), files);
  return {
    dir,
    files: { html: join(dir, 'index.html'), markdown: join(dir, 'summary.md'), junit: join(dir, 'junit.xml'), json: join(dir, 'report.json') },
    report,
    passed: overallVerdict(reportChecks(report)).passed,
  };
}
