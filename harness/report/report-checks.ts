import type { NightlyReport } from './report-model.js';
import { formatNumber, formatRatio } from './format.js';

/**
 * The pass/fail view of a report: one check per cell and per test made. It
 * feeds the verdict table and the JUnit XML. Regressions, failed A/A checks,
 * exact-model divergences and corrupt pages are failures; a failed job is an
 * error; an A/B difference is information, not a failure.
 */
export type CheckStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface Check {
  suite: 'cells' | 'ab' | 'aa' | 'model' | 'regression' | 'integrity';
  name: string;
  status: CheckStatus;
  message: string;
}

export const suiteTitles: Record<Check['suite'], string> = {
  cells: 'cells',
  ab: 'A/B comparisons',
  aa: 'A/A self-checks',
  model: 'model vs measured',
  regression: 'nightly regressions',
  integrity: 'data integrity',
};

export function reportChecks(report: NightlyReport): Check[] {
  const checks: Check[] = [];
  for (const c of report.cells) {
    const failedJobs = report.jobs.filter((j) => j.cellKey === c.cellKey && j.status !== 'passed');
    const status: CheckStatus = c.passed === 0 ? 'error' : failedJobs.length ? 'error' : 'passed';
    const message = failedJobs.length
      ? `${c.passed} of ${c.jobs} runs passed; ${failedJobs.map((j) => `#${j.repetition} ${j.status}${j.failureKind ? ` (${j.failureKind}${j.failureMessage ? `: ${j.failureMessage}` : ''})` : ''}`).join('; ')}`
      : `${c.passed} of ${c.jobs} runs passed`;
    checks.push({ suite: 'cells', name: c.cellKey, status, message });
  }
  for (const e of report.comparisons) {
    const name = `${e.label}: ${e.candidate} vs ${e.baseline}`;
    if (!e.comparison) {
      checks.push({ suite: 'ab', name, status: 'skipped', message: e.note ?? 'not compared' });
      continue;
    }
    const r = e.comparison.ratio;
    checks.push({
      suite: 'ab',
      name,
      status: 'passed',
      message: `${e.comparison.verdict}: ratio ${formatRatio(r.value)} [${formatRatio(r.low)}, ${formatRatio(r.high)}], Mann–Whitney p = ${formatNumber(e.comparison.rankTest.p)}`,
    });
  }
  for (const s of report.selfChecks) {
    const name = s.otherCell ? `${s.cellKey} vs ${s.otherCell}: ${s.metric}` : `${s.cellKey} split: ${s.metric}`;
    if (!s.check) {
      checks.push({ suite: 'aa', name, status: 'skipped', message: s.note ?? 'not checked' });
      continue;
    }
    const r = s.check.comparison.ratio;
    checks.push({
      suite: 'aa',
      name,
      status: s.check.passed ? 'passed' : 'failed',
      message: `${s.check.passed ? 'no difference' : 'identical runs differ'}: ratio ${formatRatio(r.value)} [${formatRatio(r.low)}, ${formatRatio(r.high)}]`,
    });
  }
  for (const m of report.model) {
    const name = `${m.cellKey}: ${m.metric}${m.jobId !== undefined ? ` (job ${m.jobId})` : ''}`;
    const status: CheckStatus = m.severity === 'failure' ? 'failed' : m.severity === 'unmeasured' ? 'skipped' : 'passed';
    checks.push({ suite: 'model', name, status, message: `${m.kind}: ${m.message}` });
  }
  for (const r of report.regressions) {
    const name = `${r.cellKey}: ${r.check.metric}`;
    const status: CheckStatus = r.check.status === 'regression' ? 'failed' : r.check.status === 'insufficient history' ? 'skipped' : 'passed';
    checks.push({ suite: 'regression', name, status, message: `${r.check.status}: ${r.check.message}` });
  }
  for (const i of report.integrity) {
    checks.push({ suite: 'integrity', name: `${i.cellKey} #${i.repetition}: corrupt pages`, status: i.passed ? 'passed' : 'failed', message: i.message });
  }
  return checks;
}

export function overallVerdict(checks: readonly Check[]): { passed: boolean; failures: number; errors: number; text: string } {
  const failures = checks.filter((c) => c.status === 'failed').length;
  const errors = checks.filter((c) => c.status === 'error').length;
  const passed = failures === 0 && errors === 0;
  const text = passed ? `all ${checks.length} checks passed` : `${failures} failed, ${errors} errors of ${checks.length} checks`;
  return { passed, failures, errors, text };
}
