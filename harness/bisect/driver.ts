import { rmSync } from 'node:fs';
import { UsageError, ZlabError, errorMessage } from '../util/errors.js';
import { assessCommit, checkEnds, checkPolicy, nextBatch, type Assessment, type Baseline, type DecisionPolicy, type Direction } from './decision.js';
import { bisectInProgress, commitsBetween, currentHead, git, headCommit, isAncestor, repositoryRoot, resolveCommit, subjectOf, trackedChanges } from './git.js';
import { BisectAbort, type Measurer, type MeasureSource } from './measure-source.js';
import { writeBisectReport, type ReportFiles } from './report.js';
import { hasSession, loadSession, saveSession, sessionDir, sessionIdFor, type BisectResult, type BisectSession, type StepRecord } from './session.js';

export interface BisectRequest {
  repo: string;
  good: string;
  bad: string;
  metric: string;
  direction: Direction;
  policy: DecisionPolicy;
  /** `repo` is filled in from the resolved repository. */
  source: MeasureSource;
  /** Replace the state of an earlier bisect of the same repository that did not finish. */
  replace?: boolean;
}

type Log = (line: string) => void;
const quiet: Log = () => {};

/** git bisect's exit codes for a step: good, bad, skip. */
export const STEP_EXIT = { good: 0, bad: 1, skip: 125 } as const;
/** Any exit above 127 makes git bisect run stop: used when a step cannot go on at all. */
export const STEP_ABORT = 128;

/**
 * Check everything about a bisect before anything runs, and record it:
 * the repository, both commits, their ancestry, a clean work tree, no other
 * bisect in progress, the decision policy.
 */
export async function prepareBisect(request: BisectRequest): Promise<BisectSession> {
  const policy = checkPolicy(request.policy);
  const repo = await repositoryRoot(request.repo);
  const good = await resolveCommit(repo, request.good, '--good');
  const bad = await resolveCommit(repo, request.bad, '--bad');
  if (good === bad) throw new UsageError(`--good and --bad are the same commit ${good.slice(0, 12)}`);
  if (!(await isAncestor(repo, good, bad))) {
    throw new UsageError(`--good ${good.slice(0, 12)} is not an ancestor of --bad ${bad.slice(0, 12)}; a regression bisect needs good before bad`);
  }
  if (await bisectInProgress(repo)) throw new UsageError(`${repo}: a git bisect is already in progress there; finish it with git bisect reset`);
  const dirty = await trackedChanges(repo);
  if (dirty.length) throw new UsageError(`${repo}: tracked files have changes that bisect would overwrite: ${dirty.slice(0, 5).join(', ')}`);
  const dir = sessionDir(repo);
  if (hasSession(dir) && !request.replace) {
    const old = loadSession(dir);
    if (!old.result) throw new UsageError(`${repo}: an earlier zlab bisect did not finish (state in ${dir}); run zlab bisect reset --repo ${repo} first`);
  }
  rmSync(dir, { recursive: true, force: true });
  const source: MeasureSource = { ...request.source, repo };
  const session: BisectSession = {
    schema: 1,
    id: sessionIdFor(repo),
    dir: sessionDir(repo),
    repo,
    good,
    bad,
    originalHead: await currentHead(repo),
    metric: request.metric,
    direction: request.direction,
    policy,
    source,
    baseline: null,
    steps: [],
    result: null,
    createdAt: new Date().toISOString(),
  };
  saveSession(session);
  return session;
}

async function measureBatch(measurer: Measurer, commit: string, count: number, what: string): Promise<number[]> {
  const values = await measurer.measure(commit, count);
  if (values.some((v) => !Number.isFinite(v))) throw new ZlabError('device', `${what}: a run gave no finite value of the metric`);
  return values;
}

/**
 * Measure the known-good and known-bad ends until they are clearly apart
 * (or the budget is spent, which stops the bisect: it could not be trusted).
 */
export async function measureEnds(session: BisectSession, measurer: Measurer, log: Log = quiet): Promise<Baseline> {
  const started = Date.now();
  const good: number[] = [];
  const bad: number[] = [];
  for (;;) {
    const want = good.length < session.policy.minReps ? nextBatch(good.length, session.policy) : 1;
    for (const [commit, runs, name] of [[session.good, good, 'good'], [session.bad, bad, 'bad']] as const) {
      log(`measuring the ${name} end ${commit.slice(0, 12)}: ${want} run(s)`);
      try {
        runs.push(...(await measureBatch(measurer, commit, want, `the ${name} end`)));
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new ZlabError('device', `cannot measure the ${name} end ${commit.slice(0, 12)}: ${errorMessage(err)}`, {}, { cause: err });
      }
    }
    const check = checkEnds(good, bad, session.direction, session.policy);
    log(`ends: ${check.state}${check.state === 'clear' ? '' : ` (${check.reason})`}`);
    if (check.state === 'failed') {
      throw new ZlabError('usage', `the known-good and known-bad ends do not differ clearly in ${session.metric}: ${check.reason}`);
    }
    if (check.state === 'clear') {
      const seconds = (Date.now() - started) / 1000;
      for (const [role, commit, runs] of [['end-good', session.good, good], ['end-bad', session.bad, bad]] as const) {
        session.steps.push({ commit, subject: await subjectOf(session.repo, commit), role, runs: [...runs], verdict: role === 'end-good' ? 'good' : 'bad', assessment: null, error: null, startedAt: new Date(started).toISOString(), seconds });
      }
      session.baseline = check.baseline;
      saveSession(session);
      return check.baseline;
    }
  }
}

/** Measure one commit until its verdict is clear, the budget is spent, or it cannot be measured. */
export async function measureCommit(session: BisectSession, commit: string, measurer: Measurer, log: Log = quiet): Promise<StepRecord> {
  const baseline = session.baseline;
  if (!baseline) throw new ZlabError('bug', 'a bisect step ran before the ends were measured');
  const started = Date.now();
  const runs: number[] = [];
  let assessment: Assessment | null = null;
  let error: string | null = null;
  let verdict: StepRecord['verdict'] = 'skip';
  for (;;) {
    try {
      const values = await measureBatch(measurer, commit, nextBatch(runs.length, session.policy), commit.slice(0, 12));
      if (values.length === 0) throw new ZlabError('device', 'the measurement gave no runs');
      runs.push(...values);
    } catch (err) {
      if (err instanceof UsageError || err instanceof BisectAbort || (err instanceof ZlabError && err.kind === 'bug')) throw err;
      error = errorMessage(err);
      log(`${commit.slice(0, 12)}: cannot be measured, skipping: ${error}`);
      break;
    }
    assessment = assessCommit(runs, baseline, session.policy);
    log(`${commit.slice(0, 12)}: ${runs.length} run(s), ${assessment.reason}`);
    if (assessment.verdict === 'good' || assessment.verdict === 'bad') {
      verdict = assessment.verdict;
      break;
    }
    if (assessment.verdict === 'undecided') {
      error = assessment.reason;
      break;
    }
  }
  return {
    commit,
    subject: await subjectOf(session.repo, commit),
    role: 'step',
    runs,
    verdict,
    assessment,
    error,
    startedAt: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/** The step of `git bisect run`: measure HEAD, record it, and answer with git's exit code. */
export async function runStep(dir: string, measurer: Measurer, log: Log = quiet): Promise<number> {
  const session = loadSession(dir);
  const head = await headCommit(session.repo);
  const record = await measureCommit(session, head, measurer, log);
  const latest = loadSession(dir);
  latest.steps.push(record);
  saveSession(latest);
  return STEP_EXIT[record.verdict];
}

const FIRST_BAD = /^([0-9a-f]{40}) is the first bad commit/m;
const ONLY_SKIPPED = /only 'skip'ped commits left to test/;

interface GitVerdict {
  done: boolean;
  firstBad: string | null;
  candidates: string[];
}

export function readBisectOutput(output: string): GitVerdict {
  const first = FIRST_BAD.exec(output);
  if (first) return { done: true, firstBad: first[1]!, candidates: [first[1]!] };
  if (ONLY_SKIPPED.test(output)) {
    const after = output.slice(output.search(ONLY_SKIPPED));
    const candidates = [...after.matchAll(/^([0-9a-f]{40})\b/gm)].map((m) => m[1]!);
    return { done: true, firstBad: null, candidates };
  }
  return { done: false, firstBad: null, candidates: [] };
}

async function bisectCommand(repo: string, args: string[], timeoutMs?: number, onLine?: Log): Promise<string> {
  const r = await git(repo, ['bisect', ...args], { timeoutMs, onLine });
  const output = `${r.stdout}\n${r.stderr}`;
  // git bisect exits non-zero when only skipped commits remain; that is an answer, not a failure.
  if (r.exitCode !== 0 && !readBisectOutput(output).done) {
    throw new ZlabError('infrastructure', `git bisect ${args[0]} failed in ${repo} (exit ${r.exitCode}): ${output.trim().split('\n').slice(-5).join(' | ')}`);
  }
  return output;
}

async function finish(session: BisectSession, output: string, log: Log): Promise<BisectResult> {
  const verdict = readBisectOutput(output);
  const latest = loadSession(session.dir);
  const result: BisectResult = {
    firstBad: verdict.firstBad,
    firstBadSubject: verdict.firstBad ? await subjectOf(latest.repo, verdict.firstBad) : null,
    candidates: verdict.candidates,
    gitOutput: output.trim(),
    finishedAt: new Date().toISOString(),
  };
  latest.result = result;
  saveSession(latest);
  Object.assign(session, latest);
  log(verdict.firstBad ? `first bad commit: ${verdict.firstBad} ${result.firstBadSubject}` : `no single first bad commit; candidates: ${verdict.candidates.join(', ') || 'none'}`);
  return result;
}

async function resetBisect(repo: string): Promise<void> {
  await git(repo, ['bisect', 'reset']);
}

export interface BisectOutcome {
  session: BisectSession;
  result: BisectResult;
  report: ReportFiles;
}

/**
 * A whole bisect in this process: ends first, then git bisect good/bad/skip
 * as each step's measurements decide. The same loop git bisect run drives,
 * with the measurement as a function (library use and tests).
 */
export async function runBisect(session: BisectSession, measurer: Measurer, log: Log = quiet): Promise<BisectOutcome> {
  if (!session.baseline) await measureEnds(session, measurer, log);
  const limit = (await commitsBetween(session.repo, session.good, session.bad)).length + 2;
  try {
    let output = await bisectCommand(session.repo, ['start', session.bad, session.good]);
    for (let i = 0; i < limit && !readBisectOutput(output).done; i++) {
      const head = await headCommit(session.repo);
      const record = await measureCommit(session, head, measurer, log);
      session.steps.push(record);
      saveSession(session);
      output = await bisectCommand(session.repo, [record.verdict]);
    }
    if (!readBisectOutput(output).done) throw new ZlabError('bug', `git bisect did not finish within ${limit} steps`);
    const result = await finish(session, output, log);
    return { session, result, report: writeBisectReport(session) };
  } finally {
    await resetBisect(session.repo);
  }
}

/**
 * A whole bisect through `git bisect run STEP...`, where STEP is a process
 * that measures HEAD (zlab bisect step) and reads the ends from the state.
 */
export async function runBisectWithGit(session: BisectSession, measurer: Measurer, stepArgv: string[], stepTimeoutMs: number, log: Log = quiet): Promise<BisectOutcome> {
  if (!session.baseline) await measureEnds(session, measurer, log);
  await measurer.close();
  const commits = (await commitsBetween(session.repo, session.good, session.bad)).length;
  try {
    let output = await bisectCommand(session.repo, ['start', session.bad, session.good]);
    if (!readBisectOutput(output).done) {
      // Every commit may need a step in the worst case (all skipped).
      output += await bisectCommand(session.repo, ['run', ...stepArgv], stepTimeoutMs * (commits + 1), log);
    }
    const result = await finish(session, output, log);
    return { session, result, report: writeBisectReport(session) };
  } finally {
    await resetBisect(session.repo);
  }
}

/** Forget a bisect: git's own state and zlab's. */
export async function abandonBisect(repoDir: string): Promise<string> {
  const repo = await repositoryRoot(repoDir);
  if (await bisectInProgress(repo)) await resetBisect(repo);
  const dir = sessionDir(repo);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}
