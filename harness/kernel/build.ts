import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ZlabError } from '../util/errors.js';
import { cacheDir } from '../util/state-dir.js';
import { writeBootImage } from './boot-image.js';
import { withBuildLock } from './build-lock.js';
import { assertFragmentApplied, parseKconfig } from './config-fragment.js';
import { BUILDER_VERSION, type BuildInputs, canonicalJson, hashFile, inputHash, sha256 } from './inputs.js';
import { MANIFEST_FILE, type Manifest, readManifest, writeManifest } from './manifest.js';
import type { Recipe } from './recipe.js';
import { dropUnpackedSource, type ResolvedSource, resolveSource, unpackSource } from './source.js';
import { preparePatchedTree } from './tree.js';

const BUILD_SUBDIR = 'zlab-build';

export interface BuildOptions {
  /** Build even when a finished build with the same inputs exists. */
  force?: boolean;
  /** make -j; 2 by default (the lab machines have 2 cores). */
  jobs?: number;
  /** Progress lines (for stderr). */
  log?: (line: string) => void;
}

export interface KernelBuild {
  recipe: string;
  inputHash: string;
  /** cacheDir('kernels', inputHash). */
  dir: string;
  bzImage: string;
  bootImage: string;
  manifest: string;
  config: string;
  kernelRelease: string;
  /** True when an earlier build was reused and make did not run. */
  cached: boolean;
  buildSeconds: number;
}

export interface BuildPlan {
  recipe: Recipe;
  source: ResolvedSource;
  inputs: BuildInputs;
  inputHash: string;
  dir: string;
}

async function compilerVersion(): Promise<string> {
  const { stdout } = await execa('gcc', ['--version']);
  return stdout.split('\n')[0]?.trim() ?? 'gcc (unknown)';
}

/** The inputs of a recipe's build and where it lands, without building anything. */
export async function planBuild(recipe: Recipe): Promise<BuildPlan> {
  const source = await resolveSource(recipe.source);
  const inputs: BuildInputs = {
    builder: BUILDER_VERSION,
    recipe: recipe.name,
    arch: recipe.arch,
    source: source.identity,
    baseConfig: recipe.config.base,
    fragments: recipe.fragmentPaths.map(hashFile),
    patches: recipe.patchPaths.map(hashFile),
    compiler: await compilerVersion(),
    cmdline: recipe.boot.cmdline,
  };
  const hash = inputHash(inputs);
  return { recipe, source, inputs, inputHash: hash, dir: join(cacheDir('kernels'), hash) };
}

function resultFrom(plan: BuildPlan, manifest: Manifest, cached: boolean): KernelBuild {
  return {
    recipe: plan.recipe.name,
    inputHash: plan.inputHash,
    dir: plan.dir,
    bzImage: join(plan.dir, manifest.outputs.bzImage.file),
    bootImage: join(plan.dir, manifest.outputs.bootImage.file),
    manifest: join(plan.dir, MANIFEST_FILE),
    config: join(plan.dir, manifest.outputs.config.file),
    kernelRelease: manifest.kernelRelease,
    cached,
    buildSeconds: manifest.buildSeconds,
  };
}

/** A previous build with the same inputs whose outputs are all still there. */
export function findCachedBuild(plan: BuildPlan): KernelBuild | undefined {
  const manifest = existsSync(plan.dir) ? readManifest(plan.dir) : undefined;
  if (!manifest || manifest.inputHash !== plan.inputHash) return undefined;
  const build = resultFrom(plan, manifest, true);
  return [build.bzImage, build.bootImage, build.config].every((f) => existsSync(f)) ? build : undefined;
}

/** Run make, its output going to a log file; on failure the error quotes the log's tail. */
async function make(args: string[], env: Record<string, string>, logFile: string, what: string): Promise<void> {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = execa('make', args, { env: { ...env, MAKEFLAGS: '' }, reject: false, all: true });
  child.all?.pipe(out);
  const result = await child;
  await new Promise<void>((resolve) => out.end(resolve));
  if (result.exitCode !== 0) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    throw new ZlabError('kernel', `${what} failed (make exit ${result.exitCode}); see ${logFile}:\n${tail}`, { log: logFile });
  }
}

function output(dir: string, file: string): Manifest['outputs']['bzImage'] {
  const path = join(dir, file);
  return { file, sha256: sha256(readFileSync(path)), bytes: statSync(path).size };
}

/**
 * Build a recipe into cacheDir('kernels', inputHash): bzImage, boot.img, the
 * final .config and manifest.json. Equal inputs reuse the earlier build.
 *
 * Each recipe has its own working folder, cacheDir('kernel-work', NAME), with
 * `src` (the patched tree) and `src/zlab-build` (make O=). All recipes share
 * one ccache, so a recipe that differs by a few files recompiles only those.
 */
export async function buildKernel(recipe: Recipe, options: BuildOptions = {}): Promise<KernelBuild> {
  const log = options.log ?? (() => {});
  const jobs = options.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ZlabError('usage', `--jobs: ${jobs} is not a whole number from 1 to 64`);
  const plan = await planBuild(recipe);
  if (!options.force) {
    const cached = findCachedBuild(plan);
    if (cached) {
      log(`${recipe.name}: reusing ${cached.dir} (same inputs)`);
      return cached;
    }
  }

  const work = cacheDir('kernel-work', recipe.name);
  return withBuildLock(
    work,
    async () => {
      // Another process may have built the same inputs while we waited for the lock.
      const built = options.force ? undefined : findCachedBuild(plan);
      if (built) {
        log(`${recipe.name}: reusing ${built.dir} (built meanwhile)`);
        return built;
      }
      try {
        return await runBuild(plan, work, jobs, log);
      } finally {
        // The working copy holds hard links to the tree, so the build folder is unaffected.
        const dropped = dropUnpackedSource(plan.source);
        if (dropped) log(`${recipe.name}: removed the unpacked commit ${dropped}`);
      }
    },
    { log },
  );
}

/** Fail when a fragment or patch changed during the build: the manifest would lie. */
function assertInputsUnchanged(plan: BuildPlan): void {
  const now = { fragments: plan.recipe.fragmentPaths.map(hashFile), patches: plan.recipe.patchPaths.map(hashFile) };
  if (canonicalJson(now) !== canonicalJson({ fragments: plan.inputs.fragments, patches: plan.inputs.patches })) {
    throw new ZlabError('kernel', `${plan.recipe.name}: a config fragment or patch changed during the build; build again`);
  }
}

async function runBuild(plan: BuildPlan, work: string, jobs: number, log: (line: string) => void): Promise<KernelBuild> {
  const recipe = plan.recipe;
  const started = Date.now();
  const tree = await unpackSource(plan.source, log);
  const patches = recipe.patchPaths.map((path, i) => ({ path, file: plan.inputs.patches[i]! }));
  const src = join(work, 'src');
  // A build folder directly inside the tree makes Kbuild use the relative
  // srctree "..": every recipe's compiler command lines are then identical and
  // share the ccache. It goes away with the tree when the series changes.
  const build = join(src, BUILD_SUBDIR);
  await preparePatchedTree(work, tree.dir, patches, log);
  mkdirSync(build, { recursive: true });
  const logFile = join(work, 'build.log');
  rmSync(logFile, { force: true });

  const timestamp = new Date(tree.sourceEpoch * 1000).toUTCString();
  const kbuild = { timestamp, user: 'zlab', host: `zlab-${plan.inputHash.slice(0, 12)}` };
  const env: Record<string, string> = {
    CCACHE_DIR: cacheDir('ccache'),
    CCACHE_BASEDIR: cacheDir(),
    CCACHE_NOHASHDIR: '1',
    KBUILD_BUILD_TIMESTAMP: kbuild.timestamp,
    KBUILD_BUILD_USER: kbuild.user,
    KBUILD_BUILD_HOST: kbuild.host,
    KBUILD_BUILD_VERSION: '1',
  };
  // LOCALVERSION as a make variable (not CONFIG_LOCALVERSION) names the recipe in
  // `uname -r` without changing the configuration every object depends on.
  const common = ['-C', src, `O=${build}`, 'ARCH=x86_64', 'CC=ccache gcc', `LOCALVERSION=-${recipe.name}`];

  log(`${recipe.name}: configuring (${recipe.config.base} + ${recipe.config.fragments.join(', ') || 'no fragments'})`);
  await make([...common, recipe.config.base], env, logFile, `${recipe.name}: make ${recipe.config.base}`);
  if (recipe.fragmentPaths.length) {
    const merge = await execa(join(src, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', build, join(build, '.config'), ...recipe.fragmentPaths], {
      cwd: src,
      env,
      reject: false,
      all: true,
    });
    if (merge.exitCode !== 0) throw new ZlabError('kernel', `${recipe.name}: merging config fragments failed:\n${merge.all ?? ''}`);
    await make([...common, 'olddefconfig'], env, logFile, `${recipe.name}: make olddefconfig`);
  }
  const configured = parseKconfig(readFileSync(join(build, '.config'), 'utf8'), '.config');
  for (const fragment of recipe.fragmentPaths) {
    assertFragmentApplied(parseKconfig(readFileSync(fragment, 'utf8'), fragment), configured, `${recipe.name}: ${fragment}`);
  }

  log(`${recipe.name}: building bzImage with ccache, -j${jobs} (log: ${logFile})`);
  await make([...common, `-j${jobs}`, 'bzImage'], env, logFile, `${recipe.name}: make bzImage`);
  const { stdout: release } = await execa('make', ['-s', ...common, 'kernelrelease'], { env: { ...env, MAKEFLAGS: '' } });

  // Outputs go to a fresh folder that becomes the build only once its manifest is written.
  rmSync(plan.dir, { recursive: true, force: true });
  mkdirSync(plan.dir, { recursive: true });
  copyFileSync(join(build, 'arch/x86/boot/bzImage'), join(plan.dir, 'bzImage'));
  copyFileSync(join(build, '.config'), join(plan.dir, 'config'));
  writeBootImage(join(plan.dir, 'bzImage'), recipe.boot.cmdline, join(plan.dir, 'boot.img'));
  const configOut = output(plan.dir, 'config');
  const manifest: Manifest = {
    schema: 1,
    recipe: recipe.name,
    inputHash: plan.inputHash,
    source: {
      kind: plan.source.identity.kind,
      version: plan.source.version,
      kernelVersion: tree.kernelVersion,
      location: plan.source.location,
      ...(plan.source.identity.kind === 'tarball' ? { sha256: plan.source.identity.sha256 } : {}),
    },
    commit: plan.source.identity.kind === 'git' ? plan.source.identity.commit : null,
    baseConfig: recipe.config.base,
    fragments: plan.inputs.fragments,
    patches: plan.inputs.patches,
    configSha256: configOut.sha256,
    compiler: plan.inputs.compiler,
    kbuild,
    kernelRelease: release.trim(),
    cmdline: recipe.boot.cmdline,
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
    builtAt: new Date().toISOString(),
    outputs: { bzImage: output(plan.dir, 'bzImage'), bootImage: output(plan.dir, 'boot.img'), config: configOut },
  };
  assertInputsUnchanged(plan);
  writeManifest(plan.dir, manifest);
  log(`${recipe.name}: built ${release.trim()} in ${manifest.buildSeconds} s -> ${plan.dir}`);
  return resultFrom(plan, manifest, false);
}
