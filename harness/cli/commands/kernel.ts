import type { Command } from 'commander';
import { join } from 'node:path';
import { checkBoot } from '../../kernel/boot-check.js';
import { buildKernel, findCachedBuild, planBuild } from '../../kernel/build.js';
import { kernelsDir, listRecipes, loadRecipe } from '../../kernel/recipe.js';
import { UsageError } from '../../util/errors.js';
import { printJson } from '../output.js';

function wholeNumber(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${flag}: "${value}" is not a whole number from ${min} to ${max}`);
    return n;
  };
}

function parseJobs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) throw new UsageError(`--jobs: "${value}" is not a whole number from 1 to 64`);
  return n;
}

export function register(program: Command): void {
  const kernel = program.command('kernel').description('build kernels from recipes in kernels/recipes (source, config, patch series)');

  kernel
    .command('build')
    .description('build a recipe (name or file) into the cache; the same inputs reuse the earlier build')
    .argument('<recipe>', 'recipe name (kernels/recipes/NAME.yaml) or path')
    .option('--json', 'print one JSON document with the bzImage, bootImage and manifest paths')
    .option('--force', 'build even when a build with the same inputs exists')
    .option('--jobs <n>', 'parallel make jobs', parseJobs, 2)
    .action(async (name: string, options: { json?: boolean; force?: boolean; jobs: number }) => {
      const recipe = loadRecipe(name);
      const build = await buildKernel(recipe, {
        force: options.force,
        jobs: options.jobs,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      if (options.json) printJson(build);
      else process.stdout.write(`${build.bzImage}\n${build.bootImage}\n${build.manifest}\n`);
    });

  kernel
    .command('check')
    .description('build a recipe (or reuse its build) and boot it under QEMU: zram, swap, kcompressd threads and knobs, optionally the eater with integrity check')
    .argument('<recipe>', 'recipe name (kernels/recipes/NAME.yaml) or path')
    .option('--memory-mib <n>', 'VM memory in MiB', wholeNumber('--memory-mib', 256, 16384), 1024)
    .option('--cpus <n>', 'VM CPUs', wholeNumber('--cpus', 1, 8), 2)
    .option('--eater-mib <n>', 'run the memory eater over this many MiB and verify every page (0: skip)', wholeNumber('--eater-mib', 0, 65536), 0)
    .option('--json', 'print one JSON document')
    .action(async (name: string, options: { memoryMib: number; cpus: number; eaterMib: number; json?: boolean }) => {
      const build = await buildKernel(loadRecipe(name), { log: (line) => process.stderr.write(`${line}\n`) });
      const eater = join(kernelsDir, '..', 'device-scripts', 'out', 'x86_64', 'memeater');
      const report = await checkBoot({
        bzImage: build.bzImage,
        memMib: options.memoryMib,
        cpus: options.cpus,
        zramMib: Math.max(2048, options.eaterMib),
        ...(options.eaterMib > 0 ? { eater, eaterMib: options.eaterMib } : {}),
        timeoutMs: 3_600_000,
      });
      const corrupt = report.eater?.corruptPages ?? 0;
      if (options.json) printJson({ build, report });
      else {
        const { consoleTail: _tail, ...facts } = report;
        process.stdout.write(`${JSON.stringify({ ...facts, eater: report.eater && { ...report.eater, raw: undefined } }, null, 2)}\n`);
      }
      if (!report.completed || corrupt !== 0) process.exitCode = 1;
    });

  kernel
    .command('list')
    .description('list recipes and whether a build with their current inputs is cached')
    .option('--json', 'print one JSON document')
    .action(async (options: { json?: boolean }) => {
      const rows = [];
      for (const name of listRecipes()) {
        const recipe = loadRecipe(name);
        const plan = await planBuild(recipe);
        const cached = findCachedBuild(plan);
        rows.push({ name, description: recipe.description ?? '', patches: recipe.patches.length, inputHash: plan.inputHash, built: cached?.bzImage ?? null });
      }
      if (options.json) return printJson({ recipes: rows });
      for (const r of rows) process.stdout.write(`${r.name}\t${r.patches} patch(es)\t${r.built ? `built: ${r.built}` : 'not built'}\n`);
    });
}
