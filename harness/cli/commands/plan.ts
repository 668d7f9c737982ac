import type { Command } from 'commander';
import { estimatePlanSeconds, formatDuration } from '../../plan/estimate.js';
import { loadPlanFile } from '../../plan/load-plan.js';
import { expandCells, orderJobs } from '../../plan/matrix.js';
import { printJson, table } from '../output.js';

export function register(program: Command): void {
  const plan = program.command('plan').description('check and expand nightly plans');

  plan
    .command('validate')
    .argument('<plan>', 'plan file (YAML)')
    .description('check a plan completely, without touching a device')
    .option('--json', 'print one JSON document')
    .action((file: string, options: { json?: boolean }) => {
      const loaded = loadPlanFile(file);
      const jobs = orderJobs(loaded.plan);
      if (options.json) printJson({ valid: true, name: loaded.plan.name, hash: loaded.hash, jobs: jobs.length });
      else process.stdout.write(`${file}: plan "${loaded.plan.name}" is valid (${jobs.length} jobs)\n`);
    });

  plan
    .command('show')
    .argument('<plan>', 'plan file (YAML)')
    .description('print the expanded matrix, the run order and an estimated duration')
    .option('--json', 'print one JSON document')
    .action((file: string, options: { json?: boolean }) => {
      const loaded = loadPlanFile(file);
      const cells = expandCells(loaded.plan);
      const jobs = orderJobs(loaded.plan, cells);
      const devices = loaded.plan.devices.reduce((n, d) => n + ('virtual' in d ? d.virtual.count : 1), 0);
      const seconds = estimatePlanSeconds(loaded, jobs, devices);
      if (options.json) {
        printJson({ name: loaded.plan.name, hash: loaded.hash, cells, jobs: jobs.map((j) => ({ key: j.key, order: j.order })), estimatedSeconds: seconds, devices: loaded.plan.devices });
        return;
      }
      const grid = table(['cell', 'kernel', 'configuration', 'workload']);
      for (const c of cells) grid.push([`${c.kernel}/${c.configuration}/${c.workload}`, c.kernel, c.configuration, c.workload]);
      process.stdout.write(
        `plan "${loaded.plan.name}" (${loaded.hash}): ${cells.length} cells × ${loaded.plan.repetitions} repetitions = ${jobs.length} jobs, ${loaded.plan.order}\n` +
          `${grid.toString()}\norder: ${jobs.map((j) => j.key).join(', ')}\n` +
          `estimated duration: ${formatDuration(seconds)} on ${devices} device(s)\n`,
      );
    });
}
