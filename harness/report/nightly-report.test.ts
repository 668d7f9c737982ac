import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultsStore } from '../store/results-store.js';
import { buildNightlyReport } from './build-report.js';
import { reportChecks } from './report-checks.js';
import type { NightlyReport } from './report-model.js';
import { fillSyntheticNights } from './synthetic-nightly.js';
import { writeNightlyReport } from './write-report.js';

const pairs = {
  comparisons: [
    { baseline: 'zram-lz4', candidate: 'zram-zstd' },
    { baseline: 'zram-lz4', candidate: 'zram-lz4-aa' },
  ],
  aaPairs: [{ a: 'zram-lz4', b: 'zram-lz4-aa' }],
  resamples: 2000,
};

function comparison(report: NightlyReport, candidate: string, metric: string) {
  return report.comparisons.find((c) => c.candidate === candidate && c.metric === metric)!.comparison!;
}

describe('nightly report from a store with known truth', () => {
  let dir: string;
  let quiet: ResultsStore;
  let bad: ResultsStore;
  let quietRun: number;
  let badRun: number;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zlab-report-'));
    quiet = ResultsStore.open(join(dir, 'quiet.sqlite'));
    quietRun = fillSyntheticNights(quiet, { seed: 3 }).tonight;
    bad = ResultsStore.open(join(dir, 'bad.sqlite'));
    badRun = fillSyntheticNights(bad, { seed: 4, tonightDrop: 0.25, samePagesOffBy: -3, corruptPages: 2, failJob: 'kernel' }).tonight;
  }, 60_000);
  afterAll(() => {
    quiet.close();
    bad.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('shows the lz4/zstd difference with an interval that excludes no change and holds the truth', () => {
    const report = buildNightlyReport(quiet, quietRun, pairs);
    const steal = comparison(report, 'zram-zstd', 'pgsteal_anon_per_s');
    expect(steal.significant).toBe(true);
    expect(steal.verdict).toBe('worse');
    // Truth: 4200 / 6000 = 0.7.
    expect(steal.ratio.high).toBeLessThan(1);
    expect(steal.ratio.low).toBeLessThanOrEqual(0.7);
    expect(steal.ratio.high).toBeGreaterThanOrEqual(0.7);
    expect(comparison(report, 'zram-zstd', 'compression_ratio').verdict).toBe('better');
  }, 60_000);

  it('does not flag the A/A pair, and finds nothing wrong on a quiet night', () => {
    const report = buildNightlyReport(quiet, quietRun, pairs);
    expect(report.selfChecks).toHaveLength(1);
    expect(report.selfChecks[0]!.check!.passed).toBe(true);
    expect(comparison(report, 'zram-lz4-aa', 'pgsteal_anon_per_s').significant).toBe(false);
    expect(report.regressions.filter((r) => r.check.status === 'regression')).toEqual([]);
    expect(report.regressions.every((r) => r.check.band !== null && r.trend.length === 9)).toBe(true);
    expect(reportChecks(report).filter((c) => c.status === 'failed' || c.status === 'error')).toEqual([]);
  }, 60_000);

  it('fails regressions, exact divergences, corrupt pages and failed jobs', () => {
    const report = buildNightlyReport(bad, badRun, pairs);
    const failing = reportChecks(report).filter((c) => c.status === 'failed' || c.status === 'error');
    const names = failing.map((c) => `${c.suite} ${c.name}`);
    expect(names).toContain('regression zram-zstd: pgsteal_anon_per_s');
    expect(names).toContain('model zram-lz4: same_pages');
    expect(names).toContain('integrity zram-lz4 #0: corrupt pages');
    expect(failing.find((c) => c.suite === 'cells')).toMatchObject({ name: 'zram-zstd', status: 'error' });
    expect(failing.find((c) => c.suite === 'cells')!.message).toMatch(/#1 failed \(kernel: synthetic failure\)/);
    // A calibrated miss is a divergence, not a failure.
    const zstdModel = report.model.find((m) => m.cellKey === 'zram-zstd' && m.metric === 'pgsteal_anon_per_s')!;
    expect(zstdModel.severity).toBe('divergent');
    expect(names).not.toContain('model zram-zstd: pgsteal_anon_per_s');
    // lz4 did not change tonight.
    expect(names.filter((n) => n.startsWith('regression zram-lz4:'))).toEqual([]);
  }, 60_000);

  it('names an unknown cell in the options', () => {
    expect(() => buildNightlyReport(quiet, quietRun, { comparisons: [{ baseline: 'zram-lz4', candidate: 'nope' }] })).toThrow(/cell "nope" is not in run/);
  }, 60_000);

  it('writes four forms into <date>-<plan>, and JUnit that a JUnit reader agrees with', async () => {
    const outRoot = join(dir, 'out');
    const written = await writeNightlyReport(bad, badRun, { ...pairs, outRoot });
    expect(written.dir).toBe(join(outRoot, '2026-11-09-zram-ab'));
    expect(readdirSync(outRoot)).toEqual(['2026-11-09-zram-ab']);
    expect(readdirSync(written.dir).sort()).toEqual(['index.html', 'junit.xml', 'report.json', 'summary.md']);
    expect(written.passed).toBe(false);

    const html = readFileSync(written.files.html, 'utf8');
    expect(html.match(/<svg[\s>]/g)!.length).toBeGreaterThanOrEqual(8);
    // Self-contained: no scripts, stylesheets or images fetched from anywhere.
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    const md = readFileSync(written.files.markdown, 'utf8');
    expect(md).toMatch(/\*\*Verdict: FAIL\*\*/);
    expect(md).toMatch(/\| pgsteal_anon \| zram-lz4 \| zram-zstd \| .* \| worse \|/);
    const json = JSON.parse(readFileSync(written.files.json, 'utf8')) as NightlyReport;
    expect(json.schema).toBe('zlab.nightly-report/1');
    expect(json.run.id).toBe(badRun);

    // Debian's python3-junitparser reads the file as CI servers do.
    const script = [
      'import json, sys',
      'from junitparser import JUnitXml, Failure, Error, Skipped',
      'xml = JUnitXml.fromfile(sys.argv[1])',
      'out = {}',
      'for suite in xml:',
      '    kinds = [type(r).__name__ for case in suite for r in case.result]',
      '    out[suite.name] = {"tests": suite.tests, "failures": suite.failures, "errors": suite.errors, "skipped": suite.skipped,',
      '                       "cases": len(list(suite)), "counted": {k: kinds.count(k) for k in set(kinds)}}',
      'print(json.dumps(out))',
    ].join('\n');
    const parsed = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, written.files.junit], { encoding: 'utf8' })) as Record<
      string,
      { tests: number; failures: number; errors: number; skipped: number; cases: number; counted: Record<string, number> }
    >;
    const checks = reportChecks(written.report);
    const expectSuite = (title: string, suite: string) => {
      const mine = checks.filter((c) => c.suite === suite);
      const s = parsed[`zram-ab: ${title}`]!;
      expect(s.cases).toBe(mine.length);
      expect(s.tests).toBe(mine.length);
      expect(s.failures).toBe(mine.filter((c) => c.status === 'failed').length);
      expect(s.counted.Failure ?? 0).toBe(s.failures);
      expect(s.errors).toBe(mine.filter((c) => c.status === 'error').length);
    };
    expectSuite('nightly regressions', 'regression');
    expectSuite('model vs measured', 'model');
    expectSuite('data integrity', 'integrity');
    expectSuite('cells', 'cells');
    expect(parsed['zram-ab: nightly regressions']!.failures).toBeGreaterThan(0);
    expect(parsed['zram-ab: model vs measured']!.failures).toBe(1);
    expect(parsed['zram-ab: cells']!.errors).toBe(1);
    expect(Object.keys(parsed)).toHaveLength(6);

    // Writing again replaces the folder whole and leaves nothing behind.
    await writeNightlyReport(bad, badRun, { ...pairs, outRoot });
    expect(readdirSync(outRoot)).toEqual(['2026-11-09-zram-ab']);
    expect(existsSync(written.files.junit)).toBe(true);

    // Another run of the same plan that day goes beside it, never over it.
    const other = await writeNightlyReport(quiet, quietRun, { ...pairs, outRoot });
    expect(other.dir).toBe(join(outRoot, `2026-11-09-zram-ab-run${quietRun}`));
    expect(readdirSync(outRoot).sort()).toEqual(['2026-11-09-zram-ab', `2026-11-09-zram-ab-run${quietRun}`]);
    expect((JSON.parse(readFileSync(written.files.json, 'utf8')) as NightlyReport).run.startedAt).toBe(written.report.run.startedAt);
    expect((JSON.parse(readFileSync(other.files.json, 'utf8')) as NightlyReport).run.startedAt).toBe(other.report.run.startedAt);
  }, 120_000);
});
