import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';

/** The project's kernels/ folder: recipes, config fragments, patch series. */
export const kernelsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'kernels');

const recipeName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_" and "-", at most 64');
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !p.split('/').includes('..'), 'a path inside kernels/ (relative, no "..")');

const tarballSource = z.strictObject({
  /** A tarball path; a glob in the file name picks the newest match. */
  tarball: z.string().min(1).refine(isAbsolute, 'an absolute path'),
});
const gitSource = z.strictObject({
  /** A local repository path or a URL git can fetch. */
  git: z.string().min(1),
  commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-digit commit id'),
});

export const recipeSchema = z.strictObject({
  name: recipeName,
  description: z.string().min(1).optional(),
  source: z.union([tarballSource, gitSource]),
  config: z.strictObject({
    base: z.enum(['tinyconfig', 'allnoconfig', 'defconfig']).default('tinyconfig'),
    /** Fragments under kernels/configs/, merged in order. */
    fragments: z.array(relativePath).default([]),
  }),
  /** Patches under kernels/patches/, applied in this order. */
  patches: z.array(relativePath).default([]),
  arch: z.literal('x86_64').default('x86_64'),
  boot: z
    .strictObject({ cmdline: z.string().regex(/^[\x20-\x7e]{0,512}$/, 'printable ASCII, at most 512 characters') })
    .default({ cmdline: 'console=ttyS0' }),
});

export type RecipeSpec = z.infer<typeof recipeSchema>;

/** A validated recipe with its files resolved to absolute paths. */
export interface Recipe extends RecipeSpec {
  file: string;
  fragmentPaths: string[];
  patchPaths: string[];
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`).join('; ');
}

/**
 * Validate a recipe document. `root` is the kernels/ folder its fragments and
 * patches are relative to; each must exist.
 */
export function parseRecipe(doc: unknown, file: string, root = kernelsDir): Recipe {
  const parsed = recipeSchema.safeParse(doc);
  if (!parsed.success) throw new UsageError(`recipe ${file}: ${describeIssues(parsed.error)}`);
  const spec = parsed.data;
  const fragmentPaths = spec.config.fragments.map((f) => join(root, 'configs', f));
  const patchPaths = spec.patches.map((p) => join(root, 'patches', p));
  for (const [i, p] of fragmentPaths.entries()) {
    if (!existsSync(p)) throw new UsageError(`recipe ${file}: config.fragments.${i}: no such fragment ${p}`);
  }
  for (const [i, p] of patchPaths.entries()) {
    if (!existsSync(p)) throw new UsageError(`recipe ${file}: patches.${i}: no such patch ${p}`);
  }
  if (new Set(spec.patches).size !== spec.patches.length) {
    throw new UsageError(`recipe ${file}: patches: a patch is listed twice`);
  }
  return { ...spec, file, fragmentPaths, patchPaths };
}

/** Load a recipe by name (kernels/recipes/NAME.yaml) or by path. */
export function loadRecipe(nameOrPath: string, root = kernelsDir): Recipe {
  const looksLikePath = nameOrPath.includes('/') || /\.(ya?ml|json)$/.test(nameOrPath);
  let file: string;
  if (looksLikePath) file = resolve(nameOrPath);
  else {
    if (!recipeName.safeParse(nameOrPath).success) throw new UsageError(`recipe: "${nameOrPath}" is not a recipe name or file`);
    file = join(root, 'recipes', `${nameOrPath}.yaml`);
  }
  if (!existsSync(file)) {
    throw new UsageError(`recipe: no such recipe "${nameOrPath}" (looked for ${file}); known: ${listRecipes(root).join(', ') || 'none'}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`recipe ${file}: not valid YAML or JSON: ${(err as Error).message}`);
  }
  const recipe = parseRecipe(doc, file, root);
  if (!looksLikePath && recipe.name !== nameOrPath) {
    throw new UsageError(`recipe ${file}: name "${recipe.name}" does not match its file name`);
  }
  return recipe;
}

/** Recipe names under kernels/recipes/. */
export function listRecipes(root = kernelsDir): string[] {
  const dir = join(root, 'recipes');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}
