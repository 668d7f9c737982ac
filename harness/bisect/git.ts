import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { UsageError, ZlabError } from '../util/errors.js';

/** git commands that only look at the repository finish quickly; anything longer is stuck. */
const GIT_TIMEOUT_MS = 60_000;

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Run git in a repository with an argument vector (never a shell) and a timeout. */
export async function git(
  repo: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string>; onLine?: (line: string) => void } = {},
): Promise<GitResult> {
  const onLine = options.onLine;
  // Long commands (git bisect run) report as they go, line by line, and are still captured.
  const follow = onLine
    ? function* (line: unknown) {
        onLine(String(line));
        yield line;
      }
    : undefined;
  const result = await execa('git', ['-C', repo, ...args], {
    ...(follow ? { stdout: follow, stderr: follow } : {}),
    reject: false,
    timeout: options.timeoutMs ?? GIT_TIMEOUT_MS,
    env: { GIT_TERMINAL_PROMPT: '0', ...options.env },
    stdin: 'ignore',
  });
  if (result.timedOut) throw new ZlabError('infrastructure', `git ${args.join(' ')} in ${repo} did not finish within ${(options.timeoutMs ?? GIT_TIMEOUT_MS) / 1000} s`);
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
}

async function gitOk(repo: string, args: string[]): Promise<string> {
  const r = await git(repo, args);
  if (r.exitCode !== 0) throw new ZlabError('infrastructure', `git ${args.join(' ')} failed in ${repo}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout.trim();
}

/** The top of the work tree, or a usage error naming the folder. */
export async function repositoryRoot(dir: string): Promise<string> {
  const path = resolve(dir);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new UsageError(`--repo: ${path} is not a folder`);
  const r = await git(path, ['rev-parse', '--show-toplevel']);
  if (r.exitCode !== 0) throw new UsageError(`--repo: ${path} is not a git repository (with a work tree)`);
  return r.stdout.trim();
}

/** A revision as a full commit id, or a usage error naming the flag. */
export async function resolveCommit(repo: string, rev: string, flag: string): Promise<string> {
  if (!/^[A-Za-z0-9._/~^@{}-]{1,200}$/.test(rev) || rev.startsWith('-')) {
    throw new UsageError(`${flag}: "${rev}" is not a commit id or revision name`);
  }
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
  if (r.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(r.stdout.trim())) throw new UsageError(`${flag}: ${rev} is not a commit in ${repo}`);
  return r.stdout.trim();
}

export async function isAncestor(repo: string, ancestor: string, descendant: string): Promise<boolean> {
  const r = await git(repo, ['merge-base', '--is-ancestor', ancestor, descendant]);
  if (r.exitCode > 1) throw new ZlabError('infrastructure', `git merge-base failed in ${repo}: ${r.stderr.trim()}`);
  return r.exitCode === 0;
}

/** Commits in (good, bad], oldest first. */
export async function commitsBetween(repo: string, good: string, bad: string): Promise<string[]> {
  const out = await gitOk(repo, ['rev-list', '--reverse', `${good}..${bad}`]);
  return out ? out.split('\n') : [];
}

export async function subjectOf(repo: string, commit: string): Promise<string> {
  return gitOk(repo, ['log', '-1', '--format=%s', commit]);
}

export async function headCommit(repo: string): Promise<string> {
  return gitOk(repo, ['rev-parse', 'HEAD']);
}

/** Tracked files changed in the work tree or index (bisect would have to overwrite them). */
export async function trackedChanges(repo: string): Promise<string[]> {
  const out = await gitOk(repo, ['status', '--porcelain', '--untracked-files=no']);
  return out ? out.split('\n') : [];
}

export async function gitDir(repo: string): Promise<string> {
  return resolve(repo, await gitOk(repo, ['rev-parse', '--git-dir']));
}

export async function bisectInProgress(repo: string): Promise<boolean> {
  return existsSync(join(await gitDir(repo), 'BISECT_START'));
}

/** The current head's description for restoring: a branch name, or a commit id when detached. */
export async function currentHead(repo: string): Promise<string> {
  const r = await git(repo, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  return r.exitCode === 0 ? r.stdout.trim() : headCommit(repo);
}
