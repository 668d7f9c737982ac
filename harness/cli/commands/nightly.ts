import type { Command } from 'commander';
import { join } from 'node:path';
import { guardSignals } from '../../util/signal-guard.js';
import { runNightly } from '../../nightly/run-nightly.js';
import { loadPlanFile } from '../../plan/load-plan.js';
import { printJson } from '../output.js';

export const DEFAULT_PLAN = join(import.meta.dirname, '..', '..', '..', 'plans', 'default.yaml');

export function register(program: Command): void {
  program
    .command('nightly')
    .argument('[plan]', 'plan file (YAML); default: plans/default.yaml on the virtual device')
    .description('run a nightly plan: every job on its device, then the analysis and the report (HTML, Markdown, JUnit XML, JSON)')
    .option('--store <path>', 'results store (SQLite); default: the state directory\'s results.sqlite')
    .option('--out <dir>', 'folder for reports (default: reports/out)')
    .option('--json', 'print one JSON document at the end')
    .action(async (planPath: string | undefined, options: { store?: string; out?: string; json?: boolean }) => {
      // The whole plan is checked before any device is touched.
      const loaded = loadPlanFile(planPath ?? DEFAULT_PLAN);
      const guard = guardSignals();
      try {
        const result = await runNightly(loaded, {
          ...(options.store ? { storePath: options.store } : {}),
          ...(options.out ? { outRoot: options.out } : {}),
          signal: guard.signal,
          progress: (line) => process.stderr.write(`${line}\n`),
        });
        const summary = {
          plan: loaded.plan.name,
          runId: result.runId,
          resumed: result.resumed,
          skippedJobs: result.skippedJobs,
          jobs: result.records.length,
          failedJobs: result.records.filter((r) => !r.ok).length,
          interrupted: result.interrupted,
          passed: result.report.passed,
          report: result.report.files,
        };
        if (options.json) printJson(summary);
        else {
          process.stdout.write(
            `${loaded.plan.name}: run ${result.runId}, ${summary.jobs} job(s) run${summary.skippedJobs ? ` (${summary.skippedJobs} done earlier)` : ''}, ${summary.failedJobs} failed — ${summary.passed ? 'PASSED' : 'FAILED'}\n` +
              `report: ${result.report.files.html}\n`,
          );
        }
        if (guard.received) process.exitCode = guard.received === 'SIGINT' ? 130 : 143;
        else if (!summary.passed) process.exitCode = 1;
      } finally {
        guard.release();
      }
    });
}
