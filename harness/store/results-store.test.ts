import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { syntheticRun } from '../analysis/synthetic-run.js';
import { migrate, migrations, schemaVersion } from './migrations.js';
import { ResultsStore, jobKey } from './results-store.js';

const plan = { name: 'nightly', yaml: 'name: nightly\ncells: [lz4, zstd]\n' };
const day = 86_400_000;

describe('ResultsStore', () => {
  let dir: string;
  let store: ResultsStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zlab-store-'));
    store = ResultsStore.open(join(dir, 'results.sqlite'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is one WAL file with foreign keys at the newest schema version', () => {
    const db = new Database(store.path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(db)).toBe(migrations.length);
    db.close();
    // A job of a run that does not exist is refused by the store, not written.
    expect(() => store.recordJob(999, { cellKey: 'a', repetition: 0, orderIndex: 0, status: 'running' })).toThrow(/no run 999/);
  });

  it('resumes an unfinished run of the same plan and skips its completed jobs', () => {
    const run = store.beginRun(plan);
    expect(run.resumed).toBe(false);
    store.recordJob(run.id, { cellKey: 'lz4', repetition: 0, orderIndex: 0, status: 'passed' });
    store.recordJob(run.id, { cellKey: 'zstd', repetition: 0, orderIndex: 1, status: 'failed', failureKind: 'kernel' });
    store.recordJob(run.id, { cellKey: 'lz4', repetition: 1, orderIndex: 2, status: 'failed', failureKind: 'infrastructure' });
    store.recordJob(run.id, { cellKey: 'zstd', repetition: 1, orderIndex: 3, status: 'running' });
    store.endRun(run.id, 'interrupted');

    const again = store.beginRun(plan, { resume: true });
    expect(again).toMatchObject({ id: run.id, resumed: true, status: 'running' });
    expect([...store.completedJobKeys(run.id)].sort()).toEqual([jobKey('lz4', 0), jobKey('zstd', 0)]);
    // Another plan text is another run.
    expect(store.beginRun({ ...plan, yaml: plan.yaml + '# edited\n' }, { resume: true }).id).not.toBe(run.id);
    // Without resume, a fresh run.
    expect(store.beginRun(plan).id).not.toBe(run.id);
  });

  it('keeps a job and all it measured together, and samples exactly', () => {
    const run = store.beginRun(plan);
    const samples = syntheticRun({ rates: { pgsteal_anon: 5000, pswpout: 4800 }, gauges: { temp_cpu: 40 } });
    const jobId = store.recordJob(run.id, {
      cellKey: 'lz4',
      repetition: 0,
      orderIndex: 0,
      deviceSerial: '127.0.0.1:5555',
      kernelId: '6.12.57+deb13-amd64',
      configId: 'zram-lz4',
      status: 'passed',
      startedAt: 1000,
      endedAt: 2000,
      stages: [{ stage: 'lease', outcome: 'passed', startedAt: 1000, endedAt: 1001 }],
      samples,
      eaterSummary: { corruptPages: 0, pages: 262144 },
      metrics: { pgsteal_anon_per_s: 5012.5 },
      environment: { device: { 'ro.product.model': 'zlab-vm' }, kernel: { release: '6.12' }, config: { zram: { algorithm: 'lz4' } } },
    });
    expect(store.samples(jobId)).toEqual(samples);
    expect(store.samples(jobId, ['pswpout'])!.values).toEqual({ pswpout: samples.values.pswpout });
    expect(store.sampleBytes(jobId)).toBeLessThan(samples.t.length * 8 * 4 * 0.6);
    expect(store.eaterSummary(jobId)).toEqual({ corruptPages: 0, pages: 262144 });
    expect(store.environment(jobId)!.config).toEqual({ zram: { algorithm: 'lz4' } });
    expect(store.stageEvents(jobId)).toEqual([{ stage: 'lease', outcome: 'passed', startedAt: 1000, endedAt: 1001, message: null, attempt: 1 }]);
    expect(store.jobs(run.id)[0]).toMatchObject({ id: jobId, deviceSerial: '127.0.0.1:5555', kernelId: '6.12.57+deb13-amd64', attempts: 1 });
  });

  it('writes nothing of a job when part of it fails', () => {
    const run = store.beginRun(plan);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() =>
      store.recordJob(run.id, {
        cellKey: 'lz4',
        repetition: 0,
        orderIndex: 0,
        status: 'passed',
        samples: syntheticRun(),
        metrics: { pgsteal_anon_per_s: 1 },
        eaterSummary: cyclic,
      }),
    ).toThrow(/eater summary is not JSON/);
    expect(store.jobs(run.id)).toEqual([]);
    expect(store.metrics(run.id)).toEqual([]);
  });

  it('drops the data of a failed attempt when the job starts again', () => {
    const run = store.beginRun(plan);
    const key = { cellKey: 'lz4', repetition: 0, orderIndex: 0 };
    const jobId = store.recordJob(run.id, { ...key, status: 'running' });
    store.recordSamples(jobId, syntheticRun());
    store.recordStage(jobId, { stage: 'run', outcome: 'failed', startedAt: 5, endedAt: 6, message: 'adb gone' });
    store.recordJob(run.id, { ...key, status: 'failed', failureKind: 'infrastructure', failureMessage: 'adb gone' });
    expect(store.recordJob(run.id, { ...key, status: 'running' })).toBe(jobId);
    expect(store.samples(jobId)).toBeNull();
    expect(store.jobs(run.id)[0]).toMatchObject({ attempts: 2, status: 'running' });
    store.recordStage(jobId, { stage: 'run', outcome: 'passed', startedAt: 7, endedAt: 8 });
    expect(store.stageEvents(jobId).map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('names the bad field of a bad record', () => {
    const run = store.beginRun(plan);
    expect(() => store.recordJob(run.id, { cellKey: 'a', repetition: -1, orderIndex: 0, status: 'passed' })).toThrow(/^job\.repetition: /);
    expect(() => store.recordJob(run.id, { cellKey: 'a', repetition: 0, orderIndex: 0, status: 'failed' })).toThrow(/job\.failureKind: failureKind is given exactly when/);
    expect(() =>
      store.recordJob(run.id, { cellKey: 'a', repetition: 0, orderIndex: 0, status: 'passed', samples: { t: [1, 2], values: { x: [1] } } }),
    ).toThrow(/job\.samples\.values\.x: has 1 points, t has 2/);
    expect(() => store.recordJob(run.id, { cellKey: 'a', repetition: 0, orderIndex: 0, status: 'passed', bogus: 1 } as never)).toThrow(/job/);
    expect(() => store.recordPrediction(run.id, 'a', { metric: 'm', predicted: 1, low: 2, high: 3, kind: 'rough' })).toThrow(/low ≤ predicted ≤ high/);
    expect(() => store.getRun(12345)).toThrow(/no run 12345/);
  });

  it('keeps predictions and divergences per cell, replacing on re-record', () => {
    const run = store.beginRun(plan);
    store.recordPrediction(run.id, 'lz4', { metric: 'same_pages', predicted: 10, low: 10, high: 10, kind: 'exact' });
    store.recordPrediction(run.id, 'lz4', { metric: 'same_pages', predicted: 12, low: 12, high: 12, kind: 'exact' });
    expect(store.predictions(run.id)).toEqual([{ cellKey: 'lz4', metric: 'same_pages', predicted: 12, low: 12, high: 12, kind: 'exact' }]);
    const d = { cellKey: 'lz4', metric: 'same_pages', kind: 'exact', predicted: 12, low: 12, high: 12, measured: 11, severity: 'failure', message: 'off by one' } as const;
    store.recordDivergence(run.id, d);
    store.recordDivergence(run.id, { ...d, measured: 12, severity: 'ok', message: 'fine' });
    expect(store.divergences(run.id)).toEqual([expect.objectContaining({ measured: 12, severity: 'ok' })]);
  });

  it('gives the history of a cell across nights, oldest first, before a given run', () => {
    const ids: number[] = [];
    for (let night = 0; night < 6; night++) {
      const run = store.beginRun(plan, { now: night * day });
      ids.push(run.id);
      for (let rep = 0; rep < 3; rep++) {
        store.recordJob(run.id, { cellKey: 'lz4', repetition: rep, orderIndex: rep, status: 'passed', metrics: { pgsteal_anon_per_s: 100 * night + rep } });
      }
      store.recordJob(run.id, { cellKey: 'lz4', repetition: 3, orderIndex: 3, status: 'failed', failureKind: 'device', metrics: { pgsteal_anon_per_s: -1 } });
      store.endRun(run.id, 'completed', night * day + 1000);
    }
    const history = store.cellHistory('nightly', 'lz4', 'pgsteal_anon_per_s', { before: ids[5], nights: 3 });
    expect(history.map((h) => h.runId)).toEqual(ids.slice(2, 5));
    expect(history[0]!.values).toEqual([200, 201, 202]);
    expect(store.cellHistory('other', 'lz4', 'pgsteal_anon_per_s')).toEqual([]);
    expect(store.cellMetricValues(ids[0]!).get('lz4')!.get('pgsteal_anon_per_s')).toEqual([0, 1, 2]);
  });

  it('never leaves a half-written job when the writer is killed', async () => {
    store.close();
    const path = join(dir, 'crash.sqlite');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'store-crash-writer.ts'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        child.stdout!.on('data', (b: Buffer) => {
          seen += b.toString();
          if (seen.split('\n').length > 5) resolve();
        });
        child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      });
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
    store = ResultsStore.open(path);
    const run = store.listRuns('crash')[0]!;
    const jobs = store.jobs(run.id);
    expect(jobs.length).toBeGreaterThanOrEqual(5);
    for (const job of jobs) {
      const s = store.samples(job.id)!;
      expect(Object.keys(s.values).sort()).toEqual(['a', 'b', 'c']);
      expect(s.values.c![2999]).toBe(job.repetition);
    }
  });
});

describe('migrate', () => {
  it('moves an old store forward and refuses a newer one', () => {
    const db = new Database(':memory:');
    const steps = ['CREATE TABLE a (x INTEGER);', 'ALTER TABLE a ADD COLUMN y INTEGER DEFAULT 7;'];
    migrate(db, 'mem', steps.slice(0, 1));
    db.prepare('INSERT INTO a (x) VALUES (1)').run();
    expect(migrate(db, 'mem', steps)).toBe(2);
    expect(db.prepare('SELECT x, y FROM a').get()).toEqual({ x: 1, y: 7 });
    expect(() => migrate(db, 'mem', steps.slice(0, 1))).toThrow(/schema version 2, newer than this zlab knows \(1\)/);
    db.close();
  });

  it('rolls back a failing step', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, 'mem', ['CREATE TABLE a (x);', 'CREATE TABLE b (y); NOT SQL'])).toThrow();
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'b'").get()).toEqual({ n: 0 });
    db.close();
  });
});
