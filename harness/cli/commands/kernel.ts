import type { Command } from 'commander';
import { buildKernel, findCachedBuild, planBuild } from '../../kernel/build.js';
import { listRecipes, loadRecipe } from '../../kernel/recipe.js';
import { UsageError } from '../../util/errors.js';
import { printJson } from '../output.js';

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
