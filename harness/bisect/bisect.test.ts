import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { normal, seededRandom } from '../util/seeded-random.js';
import { UsageError } from '../util/errors.js';
import { defaultPolicy } from './decision.js';
import { prepareBisect, readBisectOutput, runBisect, type BisectRequest } from './driver.js';
import { planBuild } from '../kernel/build.js';
import { imageInFolder, recipeAtCommit } from './device-measure.js';
import { CommitSkip, parseMeasurements, substituteCommit, type Measurer } from './measure-source.js';

const zlab = resolve('bin/zlab.js');
let root: string;
let repo: string;
/** commits[0] is the known-good base; commits[PLANTED] drops the speed from 1000 to 700. */
const commits: string[] = [];
const PLANTED = 5;
const COMMITS = 8;

async function g(args: string[], cwd = repo): Promise<string> {
  return (await execa('git', args, { cwd })).stdout.trim();
}

async function commit(message: string, files: Record<string, string>): Promise<string> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(repo, name), text);
  await g(['add', ...Object.keys(files)]);
  await g(['commit', '-q', '-m', message]);
  return g(['rev-parse', 'HEAD']);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'zlab-bisect-'));
  process.env.ZLAB_STATE_DIR = join(root, 'state');
  repo = join(root, 'kernel');
  await execa('git', ['init', '-q', '-b', 'main', repo]);
  await g(['config', 'user.email', 'lab@example.org']);
  await g(['config', 'user.name', 'Lab']);
  commits.push(await commit('base: reclaim at full speed', { 'speed.txt': '1000\n', 'notes.txt': '0\n' }));
  for (let i = 1; i <= COMMITS; i++) {
    const files: Record<string, string> = { 'notes.txt': `${i}\n` };
    if (i === PLANTED) files['speed.txt'] = '700\n';
    commits.push(await commit(i === PLANTED ? `mm: a change that slows reclaim (${i})` : `unrelated change ${i}`, files));
  }
}, 60_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function request(overrides: Partial<BisectRequest> = {}): BisectRequest {
  return {
    repo,
    good: commits[0]!,
    bad: commits[COMMITS]!,
    metric: 'pgsteal_anon_per_sec',
    direction: 'higher-is-better',
    policy: { ...defaultPolicy, minReps: 3, maxReps: 8 },
    source: { kind: 'command', argv: ['true'], repo: '', timeoutSeconds: 10 },
    replace: true,
    ...overrides,
  };
}

/** The commit git bisect measures first: where a misleading run does the most harm. */
async function firstStep(): Promise<string> {
  return g(['rev-list', '--bisect', commits[COMMITS]!, `^${commits[0]!}`]);
}

describe('bisect over a real git history with a noisy metric', () => {
  it('finds the planted commit, undeterred by one wild run at the first step', async () => {
    const random = seededRandom(42);
    const inject = await firstStep();
    const calls = new Map<string, number>();
    const speeds = new Map<string, number>();
    const measurer: Measurer = {
      async measure(c, count) {
        const speed = speeds.get(c) ?? Number(await g(['show', `${c}:speed.txt`]));
        speeds.set(c, speed);
        const out: number[] = [];
        for (let i = 0; i < count; i++) {
          const n = (calls.get(c) ?? 0) + 1;
          calls.set(c, n);
          // The second run at the first step lands far on the wrong side.
          if (c === inject && n === 2) out.push(speed > 850 ? 150 : 4000);
          else out.push(normal(random, speed, speed * 0.04));
        }
        return out;
      },
      async close() {},
    };
    const session = await prepareBisect(request());
    const branchBefore = await g(['symbolic-ref', '--short', 'HEAD']);
    const outcome = await runBisect(session, measurer);

    expect(outcome.result.firstBad).toBe(commits[PLANTED]);
    expect(outcome.result.firstBadSubject).toMatch(/slows reclaim/);
    const steps = outcome.session.steps.filter((s) => s.role === 'step');
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const step of steps) {
      const truth = commits.indexOf(step.commit) >= PLANTED ? 'bad' : 'good';
      expect(step.verdict).toBe(truth);
      expect(step.runs.length).toBeGreaterThanOrEqual(3);
      expect(step.assessment!.confidence).toBeGreaterThanOrEqual(0.99);
    }
    const injected = steps.find((s) => s.commit === inject)!;
    expect(injected.runs).toContain(speeds.get(inject)! > 850 ? 150 : 4000);
    expect(injected.runs.length).toBeGreaterThan(3);
    // the ends come first, measured at least min-reps times each
    expect(outcome.session.steps.slice(0, 2).map((s) => s.role)).toEqual(['end-good', 'end-bad']);
    expect(outcome.session.baseline!.threshold).toBeGreaterThan(700);
    expect(outcome.session.baseline!.threshold).toBeLessThan(1000);

    const markdown = readFileSync(outcome.report.markdown, 'utf8');
    expect(markdown).toContain(`First bad commit: \`${commits[PLANTED]}\``);
    expect(markdown).toContain(inject.slice(0, 12));
    const json = JSON.parse(readFileSync(outcome.report.json, 'utf8')) as { result: { firstBad: string }; steps: unknown[] };
    expect(json.result.firstBad).toBe(commits[PLANTED]);
    expect(json.steps).toHaveLength(outcome.session.steps.length);
    // git is left as it was found
    expect(await g(['symbolic-ref', '--short', 'HEAD'])).toBe(branchBefore);
    expect(existsSync(join(repo, '.git', 'BISECT_START'))).toBe(false);
  }, 120_000);

  it('skips a commit it cannot measure (exit 125) and reports what the skip leaves open', async () => {
    const random = seededRandom(7);
    const broken = await firstStep();
    const measurer: Measurer = {
      async measure(c, count) {
        if (c === broken) throw new Error('boot failed: no console output');
        const speed = Number(await g(['show', `${c}:speed.txt`]));
        return Array.from({ length: count }, () => normal(random, speed, 20));
      },
      async close() {},
    };
    const outcome = await runBisect(await prepareBisect(request()), measurer);
    const skipped = outcome.session.steps.filter((s) => s.verdict === 'skip');
    expect(skipped.map((s) => s.commit)).toEqual([broken]);
    expect(skipped[0]!.error).toMatch(/boot failed/);
    const index = commits.indexOf(broken);
    if (index === PLANTED - 1 || index === PLANTED) {
      // the skipped commit sits at the boundary: git can only name the candidates
      expect(outcome.result.firstBad).toBeNull();
      expect(outcome.result.candidates).toEqual(expect.arrayContaining([broken, commits[PLANTED]!]));
      expect(readFileSync(outcome.report.markdown, 'utf8')).toContain('No single first bad commit');
    } else {
      expect(outcome.result.firstBad).toBe(commits[PLANTED]);
    }
  }, 120_000);

  it('stops before bisecting when the ends do not differ', async () => {
    const random = seededRandom(3);
    const flat: Measurer = { measure: async (_c, count) => Array.from({ length: count }, () => normal(random, 1000, 30)), close: async () => {} };
    await expect(runBisect(await prepareBisect(request()), flat)).rejects.toThrow(/ends do not differ clearly/);
    expect(existsSync(join(repo, '.git', 'BISECT_START'))).toBe(false);
  }, 60_000);
});

describe('bad input is refused before anything runs', () => {
  it('names the problem', async () => {
    await expect(prepareBisect(request({ repo: root }))).rejects.toThrow(/is not a git repository/);
    await expect(prepareBisect(request({ repo: join(root, 'nope') }))).rejects.toThrow(/is not a folder/);
    await expect(prepareBisect(request({ good: 'deadbeef' }))).rejects.toThrow(/--good: deadbeef is not a commit/);
    await expect(prepareBisect(request({ bad: '--output=x' }))).rejects.toThrow(/--bad: "--output=x" is not a commit/);
    await expect(prepareBisect(request({ good: commits[6]!, bad: commits[2]! }))).rejects.toThrow(/is not an ancestor of --bad/);
    await expect(prepareBisect(request({ bad: commits[0]! }))).rejects.toThrow(/the same commit/);
    await expect(prepareBisect(request({ policy: { ...defaultPolicy, minReps: 1 } }))).rejects.toThrow(UsageError);
    writeFileSync(join(repo, 'notes.txt'), 'edited\n');
    try {
      await expect(prepareBisect(request())).rejects.toThrow(/tracked files have changes/);
    } finally {
      await g(['checkout', '--', 'notes.txt']);
    }
  });

  it('reads git bisect output: a first bad commit, or the candidates skips leave', () => {
    const sha = 'a'.repeat(40);
    expect(readBisectOutput(`${sha} is the first bad commit\ncommit ${sha}`)).toEqual({ done: true, firstBad: sha, candidates: [sha] });
    const b = 'b'.repeat(40);
    const skipped = readBisectOutput(`There are only 'skip'ped commits left to test.\nThe first bad commit could be any of:\n${sha}\n${b}\nWe cannot bisect more!`);
    expect(skipped).toEqual({ done: true, firstBad: null, candidates: [sha, b] });
    expect(readBisectOutput('Bisecting: 3 revisions left to test after this (roughly 2 steps)').done).toBe(false);
  });
});

describe('zlab bisect start through git bisect run', () => {
  it('drives git bisect run with its own step command and a measurement command', async () => {
    const script = join(root, 'measure.mjs');
    // Deterministic noise from the commit and run number; one wild run at the first step.
    writeFileSync(
      script,
      [
        "import { execFileSync } from 'node:child_process';",
        'const commit = process.argv[2];',
        'const run = Number(process.env.ZLAB_BISECT_RUN);',
        "const speed = Number(execFileSync('git', ['show', `${commit}:speed.txt`], { encoding: 'utf8' }).trim());",
        'let h = 2166136261;',
        'for (const ch of `${commit}:${run}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;',
        'const noise = ((h % 10000) / 10000 - 0.5) * 0.08;',
        "if (commit === process.env.BROKEN_AT) { console.error('kernel panic at boot'); process.exit(3); }",
        "if (commit === process.env.INJECT_AT && run === 2) console.log(speed > 850 ? '150' : '4000');",
        'else console.log(String(speed * (1 + noise)));',
      ].join('\n'),
    );
    const inject = await firstStep();
    const result = await execa(
      process.execPath,
      [zlab, 'bisect', 'start', '--repo', repo, '--good', commits[0]!, '--bad', commits[COMMITS]!, '--metric', 'reclaim_speed', '--higher-is-better', '--measure-command', `${process.execPath} ${script} {commit}`, '--replace', '--json'],
      { reject: false, env: { ZLAB_STATE_DIR: join(root, 'cli-state'), INJECT_AT: inject }, timeout: 240_000 },
    );
    expect(result.stderr).toMatch(/is the first bad commit/);
    expect(result.stderr).toMatch(/run\(s\), (good|bad):/);
    expect(result.exitCode).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      result: { firstBad: string };
      report: { markdown: string };
      steps: Array<{ commit: string; role: string; runs: number[]; verdict: string }>;
    };
    expect(doc.result.firstBad).toBe(commits[PLANTED]);
    const steps = doc.steps.filter((s) => s.role === 'step');
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const s of steps) expect(s.verdict).toBe(commits.indexOf(s.commit) >= PLANTED ? 'bad' : 'good');
    const injected = steps.find((s) => s.commit === inject)!;
    expect(injected.runs.some((v) => v === 150 || v === 4000)).toBe(true);
    expect(readFileSync(doc.report.markdown, 'utf8')).toContain(commits[PLANTED]);
    expect(existsSync(join(repo, '.git', 'BISECT_START'))).toBe(false);
  }, 300_000);

  it('answers 125 for a commit the measurement cannot handle, and git bisect run goes on', async () => {
    const broken = commits[PLANTED + 1]!;
    const result = await execa(
      process.execPath,
      [zlab, 'bisect', 'start', '--repo', repo, '--good', commits[0]!, '--bad', commits[COMMITS]!, '--metric', 'reclaim_speed', '--higher-is-better', '--measure-command', `${process.execPath} ${join(root, 'measure.mjs')} {commit}`, '--replace', '--json'],
      { reject: false, env: { ZLAB_STATE_DIR: join(root, 'cli-state'), BROKEN_AT: broken }, timeout: 240_000 },
    );
    expect(result.exitCode).toBe(0);
    const doc = JSON.parse(result.stdout) as { result: { firstBad: string | null; candidates: string[] }; steps: Array<{ commit: string; verdict: string; error: string | null }> };
    const visited = doc.steps.find((s) => s.commit === broken);
    if (visited) {
      expect(visited.verdict).toBe('skip');
      expect(visited.error).toMatch(/exited 3.*kernel panic at boot/);
    }
    // the broken commit is after the planted one: it cannot hide it
    expect(doc.result.firstBad).toBe(commits[PLANTED]);
  }, 300_000);

  it('refuses a bad metric name and a missing measurement source with exit 2', async () => {
    const base = [zlab, 'bisect', 'start', '--repo', repo, '--good', commits[0]!, '--bad', commits[COMMITS]!];
    const env = { ZLAB_STATE_DIR: join(root, 'cli-state') };
    const badMetric = await execa(process.execPath, [...base, '--metric', 'pgsteal_fast', '--images', root], { reject: false, env });
    expect(badMetric.exitCode).toBe(2);
    expect(badMetric.stderr).toMatch(/--metric: "pgsteal_fast" is not a metric a device run measures; use one of pgsteal_anon_per_sec/);
    const none = await execa(process.execPath, [...base, '--metric', 'pgsteal_anon_per_sec'], { reject: false, env });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/give exactly one of --build/);
  }, 60_000);

  it('refuses -s with a measure command, with options of a fresh virtual device, or with a serial that is not one', async () => {
    const base = [zlab, 'bisect', 'start', '--repo', repo, '--good', commits[0]!, '--bad', commits[COMMITS]!, '--metric', 'pgsteal_anon_per_sec', '--higher-is-better'];
    const env = { ZLAB_STATE_DIR: join(root, 'cli-state') };
    const command = await execa(process.execPath, [...base, '--measure-command', 'true', '-s', 'emulator-5554'], { reject: false, env });
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toMatch(/--serial: a --measure-command measures by itself; it takes no device/);
    const vmOnly = await execa(process.execPath, [...base, '--build', 'recipe:stock-6.12', '-s', 'emulator-5554', '--memory', '2G', '--zram-size', '50%'], { reject: false, env });
    expect(vmOnly.exitCode).toBe(2);
    expect(vmOnly.stderr).toMatch(/--serial: --memory, --zram-size only apply to a fresh virtual device/);
    const serial = await execa(process.execPath, [...base, '--build', 'recipe:stock-6.12', '-s', 'phone;reboot'], { reject: false, env });
    expect(serial.exitCode).toBe(2);
    expect(serial.stderr).toMatch(/--serial: "phone;reboot" is not a device serial/);
  }, 60_000);
});

describe('kernel images and measurement output', () => {
  it('finds an image by full or abbreviated commit, as a file or a folder holding bzImage', () => {
    const dir = join(root, 'images');
    mkdirSync(join(dir, 'bbbbbbbbbbbb'), { recursive: true });
    writeFileSync(join(dir, 'aaaaaaa.bzImage'), 'x');
    writeFileSync(join(dir, 'bbbbbbbbbbbb', 'bzImage'), 'x');
    writeFileSync(join(dir, 'c'.repeat(40)), 'x');
    writeFileSync(join(dir, 'dddddd'), 'x'); // too short to name a commit
    expect(imageInFolder(dir, `aaaaaaa${'0'.repeat(33)}`)).toBe(join(dir, 'aaaaaaa.bzImage'));
    expect(imageInFolder(dir, `${'b'.repeat(12)}${'1'.repeat(28)}`)).toBe(join(dir, 'bbbbbbbbbbbb', 'bzImage'));
    expect(imageInFolder(dir, 'c'.repeat(40))).toBe(join(dir, 'c'.repeat(40)));
    expect(() => imageInFolder(dir, 'd'.repeat(40))).toThrow(CommitSkip);
    expect(() => imageInFolder(dir, 'e'.repeat(40))).toThrow(/no kernel image for eeeeeeeeeeee/);
  });

  it('switches a recipe to the repository at each commit, so each commit is its own build', async () => {
    const a = recipeAtCommit('stock-6.12', repo, commits[1]!);
    const b = recipeAtCommit('stock-6.12', repo, commits[2]!);
    expect(a.source).toEqual({ git: repo, commit: commits[1] });
    expect(a.fragmentPaths.length).toBeGreaterThan(0);
    const [planA, planB] = [await planBuild(a), await planBuild(b)];
    expect(planA.inputs.source).toEqual({ kind: 'git', repository: repo, commit: commits[1] });
    expect(planA.inputHash).not.toBe(planB.inputHash);
    expect(() => recipeAtCommit('no-such-recipe', repo, commits[1]!)).toThrow(UsageError);
  });

  it('reads numbers one per line and replaces {commit} inside arguments only', () => {
    expect(parseMeasurements('warming up\n1234.5\n 7e2 \n-3\nnot 5\n')).toEqual([1234.5, 700, -3]);
    expect(substituteCommit(['run', '--at={commit}', '{commit}'], 'abc')).toEqual(['run', '--at=abc', 'abc']);
  });
});
