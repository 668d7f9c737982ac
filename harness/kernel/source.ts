import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { execa } from 'execa';
import { ZlabError } from '../util/errors.js';
import { cacheDir } from '../util/state-dir.js';
import { hashLargeFile, type SourceIdentity } from './inputs.js';
import type { RecipeSpec } from './recipe.js';

/** A recipe's source, identified but not yet unpacked. */
export interface ResolvedSource {
  identity: SourceIdentity;
  /** Debian package version, or the git commit; names the unpacked tree in the cache. */
  version: string;
  /** The tarball path or the repository. */
  location: string;
}

/** An unpacked source tree in the cache. */
export interface SourceTree {
  dir: string;
  /** `make kernelversion`, e.g. 6.12.117. */
  kernelVersion: string;
  /** Seconds since the epoch of the source itself (its Makefile or its commit): the build's timestamp. */
  sourceEpoch: number;
}

/** Order version-like strings so that 6.12.9 < 6.12.117. */
export function compareVersionStrings(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** The newest file matching a pattern whose file name may hold `*` or `?` (the folder may not). */
export function findTarball(pattern: string): string {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (/[*?]/.test(dir)) throw new ZlabError('usage', `source.tarball: "${pattern}": only the file name may hold a glob`);
  const re = globToRegExp(name);
  const matches = existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).sort(compareVersionStrings) : [];
  const newest = matches.at(-1);
  if (!newest) {
    throw new ZlabError('kernel', `source.tarball: no file matches ${pattern}; install Debian's linux-source package (scripts/bootstrap.sh does)`);
  }
  return join(dir, newest);
}

/** The version of the Debian package that owns a file, if any. */
async function debianPackageVersion(path: string): Promise<string | undefined> {
  const owner = await execa('dpkg-query', ['-S', path], { reject: false });
  const pkg = owner.exitCode === 0 ? owner.stdout.split(':')[0]?.trim() : undefined;
  if (!pkg) return undefined;
  const version = await execa('dpkg-query', ['-W', '-f=${Version}', pkg], { reject: false });
  return version.exitCode === 0 && version.stdout.trim() ? version.stdout.trim() : undefined;
}

const safeVersion = (v: string): string => v.replace(/[^A-Za-z0-9.+~_-]/g, '_');

export async function resolveSource(source: RecipeSpec['source']): Promise<ResolvedSource> {
  if ('tarball' in source) {
    const path = findTarball(source.tarball);
    const sha256 = await hashLargeFile(path);
    const pkgVersion = await debianPackageVersion(path);
    return {
      identity: { kind: 'tarball', sha256 },
      version: safeVersion(pkgVersion ?? `sha256-${sha256.slice(0, 16)}`),
      location: path,
    };
  }
  return { identity: { kind: 'git', repository: source.git, commit: source.commit }, version: source.commit, location: source.git };
}

async function kernelVersionOf(dir: string): Promise<string> {
  const { stdout } = await execa('make', ['-s', '-C', dir, 'kernelversion'], { env: { MAKEFLAGS: '' } });
  return stdout.trim();
}

async function extract(source: ResolvedSource, into: string): Promise<number> {
  if (source.identity.kind === 'tarball') {
    await execa('tar', ['-xf', source.location, '-C', into, '--strip-components=1']);
    if (!existsSync(join(into, 'Makefile'))) throw new ZlabError('kernel', `${source.location}: no kernel Makefile at the top of the tarball`);
    return Math.floor(statSync(join(into, 'Makefile')).mtimeMs / 1000);
  }
  const { repository, commit } = source.identity;
  if (isAbsolute(repository) && existsSync(repository)) {
    // A local repository: export the commit without touching its work tree.
    await execa('sh', ['-c', 'git -C "$1" archive --format=tar "$2" | tar -xf - -C "$3"', 'sh', repository, commit, into]);
    const { stdout } = await execa('git', ['-C', repository, 'log', '-1', '--format=%ct', commit]);
    return Number(stdout.trim());
  }
  await execa('git', ['init', '-q', into]);
  await execa('git', ['-C', into, 'fetch', '-q', '--depth', '1', repository, commit]);
  await execa('git', ['-C', into, 'checkout', '-q', 'FETCH_HEAD']);
  const { stdout } = await execa('git', ['-C', into, 'log', '-1', '--format=%ct']);
  rmSync(join(into, '.git'), { recursive: true, force: true });
  return Number(stdout.trim());
}

/**
 * Unpack a source once into cacheDir('kernel-src', VERSION)/tree. A half
 * unpacked tree (interrupted run) is never used: the tree is renamed into
 * place only when complete, with its facts beside it.
 */
export async function unpackSource(source: ResolvedSource, log: (line: string) => void = () => {}): Promise<SourceTree> {
  const root = cacheDir('kernel-src', source.version);
  const dir = join(root, 'tree');
  const factsFile = join(root, 'source.json');
  if (existsSync(dir) && existsSync(factsFile)) {
    const facts = JSON.parse(readFileSync(factsFile, 'utf8')) as Omit<SourceTree, 'dir'>;
    return { dir, ...facts };
  }
  log(`unpacking ${source.location} into ${root}`);
  rmSync(dir, { recursive: true, force: true });
  const tmp = join(root, `tree.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const sourceEpoch = await extract(source, tmp);
    const kernelVersion = await kernelVersionOf(tmp);
    renameSync(tmp, dir);
    writeFileSync(factsFile, `${JSON.stringify({ kernelVersion, sourceEpoch }, null, 2)}\n`);
    return { dir, kernelVersion, sourceEpoch };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof ZlabError) throw err;
    throw new ZlabError('kernel', `unpacking ${source.location} failed: ${(err as Error).message}`, {}, { cause: err });
  }
}

/**
 * Forget the unpacked tree of a git commit once its build is done (or failed):
 * the outputs are cached by inputs, and a bisect unpacks a new ~1.7 GB tree
 * per commit that would otherwise pile up. A tarball's tree is shared by every
 * recipe and stays. Returns the folder removed, if any.
 */
export function dropUnpackedSource(source: ResolvedSource): string | null {
  if (source.identity.kind !== 'git') return null;
  const root = cacheDir('kernel-src', source.version);
  rmSync(root, { recursive: true, force: true });
  return root;
}
