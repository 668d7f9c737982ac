import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, ZlabError } from '../util/errors.js';
import { stateDir } from '../util/state-dir.js';
import type { Assessment, Baseline, DecisionPolicy, Direction } from './decision.js';
import type { MeasureSource } from './measure-source.js';

/** One measured commit: its runs, the decision and what git bisect was told. */
export interface StepRecord {
  commit: string;
  subject: string;
  /** 'end-good' / 'end-bad' for the ends measured first, 'step' for bisect steps. */
  role: 'end-good' | 'end-bad' | 'step';
  runs: number[];
  verdict: 'good' | 'bad' | 'skip';
  /** The last assessment (null for an end or a skip before any run). */
  assessment: Assessment | null;
  /** Why a commit was skipped (build, boot or measurement failure, or undecided). */
  error: string | null;
  startedAt: string;
  seconds: number;
}

export interface BisectResult {
  /** The first bad commit, when git bisect could name it. */
  firstBad: string | null;
  firstBadSubject: string | null;
  /** When skipped commits hide it: every commit it could be. */
  candidates: string[];
  gitOutput: string;
  finishedAt: string;
}

/** Everything a bisect keeps between its step processes. */
export interface BisectSession {
  schema: 1;
  id: string;
  dir: string;
  repo: string;
  good: string;
  bad: string;
  /** Where HEAD pointed before the bisect, restored at the end. */
  originalHead: string;
  metric: string;
  direction: Direction;
  policy: DecisionPolicy;
  source: MeasureSource;
  baseline: Baseline | null;
  steps: StepRecord[];
  result: BisectResult | null;
  createdAt: string;
}

const SESSION_FILE = 'session.json';

/** One bisect per repository at a time, as git itself allows. */
export function sessionIdFor(repo: string): string {
  return createHash('sha256').update(repo).digest('hex').slice(0, 16);
}

export function sessionDir(repo: string): string {
  return stateDir('bisect', sessionIdFor(repo));
}

export function saveSession(session: BisectSession): void {
  const file = join(session.dir, SESSION_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(session, null, 2)}\n`);
  renameSync(tmp, file);
}

export function loadSession(dir: string): BisectSession {
  const file = join(dir, SESSION_FILE);
  if (!existsSync(file)) throw new UsageError(`no bisect state in ${dir}; start one with zlab bisect start`);
  let session: BisectSession;
  try {
    session = JSON.parse(readFileSync(file, 'utf8')) as BisectSession;
  } catch (err) {
    throw new ZlabError('infrastructure', `bisect state ${file} is not readable JSON: ${(err as Error).message}`);
  }
  if (session.schema !== 1) throw new ZlabError('infrastructure', `bisect state ${file} has schema ${String(session.schema)}; this zlab reads schema 1`);
  return session;
}

export function hasSession(dir: string): boolean {
  return existsSync(join(dir, SESSION_FILE));
}
