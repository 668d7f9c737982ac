import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultsStore } from '../store/results-store.js';
import { xmlEscape } from './junit-report.js';
import { writeNightlyReport } from './write-report.js';

describe('reports of awkward runs', () => {
  let dir: string;
  let store: ResultsStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zlab-edge-'));
    store = ResultsStore.open(join(dir, 'results.sqlite'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a run that was interrupted before any job passed', async () => {
    const run = store.beginRun({ name: 'kcompressd/ab <night>', yaml: 'x: 1\n' }, { now: Date.UTC(2026, 0, 2) });
    store.recordJob(run.id, { cellKey: 'stock', repetition: 0, orderIndex: 0, status: 'failed', failureKind: 'kernel', failureMessage: 'no adb after boot' });
    store.endRun(run.id, 'interrupted');
    const written = await writeNightlyReport(store, run.id, { outRoot: join(dir, 'out') });
    // The plan name is made safe for a folder name.
    expect(readdirSync(join(dir, 'out'))).toEqual(['2026-01-02-kcompressd-ab-night']);
    expect(written.passed).toBe(false);
    const junit = readFileSync(written.files.junit, 'utf8');
    expect(junit).toMatch(/<error message="0 of 1 runs passed; #0 failed \(kernel: no adb after boot\)"/);
    const html = readFileSync(written.files.html, 'utf8');
    expect(html).toContain('kcompressd/ab &lt;night&gt;');
    expect(html).toContain('No pair of cells to compare.');
  });

  it('escapes cell names everywhere they appear', async () => {
    const run = store.beginRun({ name: 'p', yaml: 'y: 1\n' });
    for (const [i, cellKey] of ['<b>a&"b"</b>', "c'd"].entries()) {
      for (let rep = 0; rep < 3; rep++) {
        store.recordJob(run.id, { cellKey, repetition: rep, orderIndex: rep * 2 + i, status: 'passed', metrics: { pgsteal_anon_per_s: 100 + rep + i * 50 } });
      }
    }
    const written = await writeNightlyReport(store, run.id, { outRoot: join(dir, 'out'), resamples: 500 });
    const html = readFileSync(written.files.html, 'utf8');
    expect(html).not.toContain('<b>a&');
    expect(html).toContain('&lt;b&gt;a&amp;&quot;b&quot;&lt;/b&gt;');
    const junit = readFileSync(written.files.junit, 'utf8');
    expect(junit).toContain('name="&lt;b&gt;a&amp;&quot;b&quot;&lt;/b&gt;"');
    expect(xmlEscape('a\u0001b\u0007<')).toBe('ab&lt;');
  });
});
