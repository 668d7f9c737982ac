import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Prediction } from '../analysis/model-divergence.js';
import type { TimeSeries } from '../analysis/time-series.js';
import { ZlabError, errorMessage } from '../util/errors.js';
import { stateDir } from '../util/state-dir.js';
import { migrate } from './migrations.js';
import { decodeSeries, encodeSeries, sampleEncoding } from './sample-codec.js';
import {
  type DivergenceInput,
  type EnvironmentInput,
  type FailureKind,
  type JobInput,
  type JobStatus,
  type PlanInput,
  type RunStatus,
  type StageEventInput,
  divergenceInputSchema,
  environmentSchema,
  jobInputSchema,
  metricsSchema,
  parseRecord,
  planInputSchema,
  predictionSchema,
  runStatuses,
  stageEventSchema,
  timeSeriesSchema,
} from './store-records.js';

export interface RunRow {
  id: number;
  planId: number;
  planName: string;
  planHash: string;
  startedAt: number;
  endedAt: number | null;
  status: RunStatus;
}

export interface JobRow {
  id: number;
  runId: number;
  cellKey: string;
  repetition: number;
  orderIndex: number;
  deviceSerial: string | null;
  kernelId: string | null;
  configId: string | null;
  status: JobStatus;
  failureKind: FailureKind | null;
  failureMessage: string | null;
  attempts: number;
  startedAt: number | null;
  endedAt: number | null;
}

export interface StageEventRow extends Required<Omit<StageEventInput, 'message'>> {
  message: string | null;
}

export interface MetricRow {
  jobId: number;
  cellKey: string;
  repetition: number;
  orderIndex: number;
  name: string;
  value: number;
}

export interface PredictionRow extends Prediction {
  cellKey: string;
}

export interface DivergenceRow extends DivergenceInput {
  id: number;
  jobId?: number;
}

export interface NightValues {
  runId: number;
  startedAt: number;
  values: number[];
}

/** The time axis is stored as a series under a name no sampler series can take. */
const timeAxis = '@t';

/** Key of one job within a run: cell and repetition. */
export function jobKey(cellKey: string, repetition: number): string {
  return `${cellKey}#${repetition}`;
}

export function planHash(yaml: string): string {
  return createHash('sha256').update(yaml).digest('hex');
}

export function defaultStorePath(): string {
  return join(stateDir(), 'results.sqlite');
}

/**
 * zlab's results: one SQLite file in WAL mode. Every write that belongs
 * together is one transaction, so a crash never leaves half a job behind.
 */
export class ResultsStore {
  readonly path: string;
  private readonly db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  static open(path = defaultStorePath()): ResultsStore {
    mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      throw new ZlabError('infrastructure', `cannot open results store ${path}: ${errorMessage(err)}`, { path });
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      // Parallel jobs and a report may touch the file at once; wait rather than fail.
      db.pragma('busy_timeout = 5000');
      db.pragma('synchronous = NORMAL');
      migrate(db, path);
    } catch (err) {
      db.close();
      if (err instanceof ZlabError) throw err;
      throw new ZlabError('infrastructure', `results store ${path} is not usable: ${errorMessage(err)}`, { path });
    }
    return new ResultsStore(path, db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- runs ---------------------------------------------------------------

  /**
   * Starts a nightly run of a plan. With `resume`, an unfinished run of the
   * same plan text (same hash) is picked up again instead, so its completed
   * jobs can be skipped.
   */
  beginRun(plan: PlanInput, options: { resume?: boolean; now?: number } = {}): RunRow & { resumed: boolean } {
    const p = parseRecord(planInputSchema, plan, 'plan');
    const hash = planHash(p.yaml);
    const now = options.now ?? Date.now();
    return this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO plans (name, hash, yaml, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING')
        .run(p.name, hash, p.yaml, now);
      const planId = (this.db.prepare('SELECT id FROM plans WHERE hash = ?').get(hash) as { id: number }).id;
      if (options.resume) {
        const open = this.db
          .prepare("SELECT id FROM runs WHERE plan_id = ? AND status IN ('running', 'interrupted') ORDER BY started_at DESC, id DESC LIMIT 1")
          .get(planId) as { id: number } | undefined;
        if (open) {
          this.db.prepare("UPDATE runs SET status = 'running', ended_at = NULL WHERE id = ?").run(open.id);
          return { ...this.getRun(open.id), resumed: true };
        }
      }
      const id = Number(this.db.prepare("INSERT INTO runs (plan_id, started_at, status) VALUES (?, ?, 'running')").run(planId, now).lastInsertRowid);
      return { ...this.getRun(id), resumed: false };
    })();
  }

  endRun(runId: number, status: Exclude<RunStatus, 'running'>, now = Date.now()): void {
    if (!runStatuses.includes(status) || (status as RunStatus) === 'running') {
      throw new ZlabError('bug', `endRun: status "${status}" is not one of completed, interrupted, failed`);
    }
    const r = this.db.prepare('UPDATE runs SET status = ?, ended_at = ? WHERE id = ?').run(status, now, runId);
    if (r.changes === 0) throw new ZlabError('bug', `endRun: no run ${runId}`);
  }

  getRun(runId: number): RunRow {
    const row = this.db
      .prepare(
        `SELECT r.id, r.plan_id AS planId, p.name AS planName, p.hash AS planHash, r.started_at AS startedAt,
                r.ended_at AS endedAt, r.status
           FROM runs r JOIN plans p ON p.id = r.plan_id WHERE r.id = ?`,
      )
      .get(runId) as RunRow | undefined;
    if (!row) throw new ZlabError('usage', `no run ${runId} in the results store ${this.path}`);
    return row;
  }

  /** Runs of a plan (by name), newest first. */
  listRuns(planName?: string, limit = 50): RunRow[] {
    return this.db
      .prepare(
        `SELECT r.id, r.plan_id AS planId, p.name AS planName, p.hash AS planHash, r.started_at AS startedAt,
                r.ended_at AS endedAt, r.status
           FROM runs r JOIN plans p ON p.id = r.plan_id
          WHERE @plan IS NULL OR p.name = @plan
          ORDER BY r.started_at DESC, r.id DESC LIMIT @limit`,
      )
      .all({ plan: planName ?? null, limit }) as RunRow[];
  }

  planYaml(runId: number): string {
    const row = this.db.prepare('SELECT p.yaml FROM runs r JOIN plans p ON p.id = r.plan_id WHERE r.id = ?').get(runId) as { yaml: string } | undefined;
    if (!row) throw new ZlabError('usage', `no run ${runId} in the results store ${this.path}`);
    return row.yaml;
  }

  // ---- jobs ---------------------------------------------------------------

  /**
   * Records a job and whatever it measured, all in one transaction. A job is
   * keyed by (run, cell, repetition): recording it again updates it. Starting
   * a new attempt (status "running" on a job that had finished) drops the
   * previous attempt's samples, metrics, eater summary and environment;
   * stage events are kept as the history of attempts.
   */
  recordJob(runId: number, job: JobInput): number {
    const j = parseRecord(jobInputSchema, job, 'job');
    return this.db.transaction(() => {
      this.requireRun(runId);
      const existing = this.db
        .prepare('SELECT id, status, attempts FROM jobs WHERE run_id = ? AND cell_key = ? AND repetition = ?')
        .get(runId, j.cellKey, j.repetition) as { id: number; status: JobStatus; attempts: number } | undefined;
      const fields = [
        j.orderIndex,
        j.deviceSerial ?? null,
        j.kernelId ?? null,
        j.configId ?? null,
        j.status,
        j.failureKind ?? null,
        j.failureMessage ?? null,
        j.startedAt ?? null,
        j.endedAt ?? null,
      ];
      let jobId: number;
      if (existing) {
        jobId = existing.id;
        const newAttempt = j.status === 'running' && existing.status !== 'running';
        const attempts = j.attempts ?? existing.attempts + (newAttempt ? 1 : 0);
        this.db
          .prepare(
            `UPDATE jobs SET order_index = ?, device_serial = ?, kernel_id = ?, config_id = ?, status = ?, failure_kind = ?,
                    failure_message = ?, started_at = coalesce(?, started_at), ended_at = ?, attempts = ? WHERE id = ?`,
          )
          .run(...fields, attempts, jobId);
        if (newAttempt) for (const table of ['samples', 'metrics', 'eater_summaries', 'environments']) this.db.prepare(`DELETE FROM ${table} WHERE job_id = ?`).run(jobId);
      } else {
        jobId = Number(
          this.db
            .prepare(
              `INSERT INTO jobs (order_index, device_serial, kernel_id, config_id, status, failure_kind, failure_message,
                                 started_at, ended_at, attempts, run_id, cell_key, repetition)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(...fields, j.attempts ?? 1, runId, j.cellKey, j.repetition).lastInsertRowid,
        );
      }
      const attempt = (this.db.prepare('SELECT attempts FROM jobs WHERE id = ?').get(jobId) as { attempts: number }).attempts;
      for (const e of j.stages ?? []) this.insertStage(jobId, e, attempt);
      if (j.samples) this.writeSamples(jobId, j.samples);
      if (j.metrics) this.writeMetrics(jobId, j.metrics);
      if (j.eaterSummary) this.writeEaterSummary(jobId, j.eaterSummary);
      if (j.environment) this.writeEnvironment(jobId, j.environment);
      return jobId;
    })();
  }

  /** Jobs of a run that need not run again: finished for a reason a retry would not change. */
  completedJobKeys(runId: number): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT cell_key AS cellKey, repetition FROM jobs
          WHERE run_id = ? AND (status = 'passed' OR (status = 'failed' AND failure_kind NOT IN ('infrastructure', 'interrupted')))`,
      )
      .all(runId) as { cellKey: string; repetition: number }[];
    return new Set(rows.map((r) => jobKey(r.cellKey, r.repetition)));
  }

  jobs(runId: number): JobRow[] {
    return this.db
      .prepare(
        `SELECT id, run_id AS runId, cell_key AS cellKey, repetition, order_index AS orderIndex, device_serial AS deviceSerial,
                kernel_id AS kernelId, config_id AS configId, status, failure_kind AS failureKind, failure_message AS failureMessage,
                attempts, started_at AS startedAt, ended_at AS endedAt
           FROM jobs WHERE run_id = ? ORDER BY order_index, id`,
      )
      .all(runId) as JobRow[];
  }

  // ---- per-job data ---------------------------------------------------------

  recordStage(jobId: number, event: StageEventInput): void {
    const e = parseRecord(stageEventSchema, event, 'stage event');
    this.db.transaction(() => {
      const job = this.requireJob(jobId);
      this.insertStage(jobId, e, job.attempts);
    })();
  }

  stageEvents(jobId: number): StageEventRow[] {
    return this.db
      .prepare('SELECT stage, outcome, started_at AS startedAt, ended_at AS endedAt, message, attempt FROM stage_events WHERE job_id = ? ORDER BY id')
      .all(jobId) as StageEventRow[];
  }

  /** Replaces the job's samples with these series. */
  recordSamples(jobId: number, series: TimeSeries): void {
    const s = parseRecord(timeSeriesSchema, series, 'samples');
    this.db.transaction(() => {
      this.requireJob(jobId);
      this.writeSamples(jobId, s);
    })();
  }

  /** The job's samples, all series or only those named; null when none were stored. */
  samples(jobId: number, names?: readonly string[]): TimeSeries | null {
    const rows = this.db.prepare('SELECT series, encoding, points, data FROM samples WHERE job_id = ?').all(jobId) as {
      series: string;
      encoding: string;
      points: number;
      data: Buffer;
    }[];
    const axis = rows.find((r) => r.series === timeAxis);
    if (!axis) return null;
    const values: Record<string, number[]> = {};
    for (const r of rows) {
      if (r.series === timeAxis || (names && !names.includes(r.series))) continue;
      values[r.series] = decodeSeries(r.data, r.encoding, r.points);
    }
    return { t: decodeSeries(axis.data, axis.encoding, axis.points), values };
  }

  /** Size in bytes of the stored sample blobs of a job (for the record and benchmarks). */
  sampleBytes(jobId: number): number {
    return (this.db.prepare('SELECT coalesce(sum(length(data)), 0) AS n FROM samples WHERE job_id = ?').get(jobId) as { n: number }).n;
  }

  /** Adds or replaces per-run metrics of a job. */
  recordMetrics(jobId: number, metrics: Record<string, number>): void {
    const m = parseRecord(metricsSchema, metrics, 'metrics');
    this.db.transaction(() => {
      this.requireJob(jobId);
      this.writeMetrics(jobId, m);
    })();
  }

  /** Metrics of every passed job in a run, in run order. */
  metrics(runId: number): MetricRow[] {
    return this.db
      .prepare(
        `SELECT j.id AS jobId, j.cell_key AS cellKey, j.repetition, j.order_index AS orderIndex, m.name, m.value
           FROM metrics m JOIN jobs j ON j.id = m.job_id
          WHERE j.run_id = ? AND j.status = 'passed' ORDER BY j.order_index, j.id, m.name`,
      )
      .all(runId) as MetricRow[];
  }

  /** cell → metric → values of passed jobs in run order: the input to A/B and cell summaries. */
  cellMetricValues(runId: number): Map<string, Map<string, number[]>> {
    const out = new Map<string, Map<string, number[]>>();
    for (const r of this.metrics(runId)) {
      let cell = out.get(r.cellKey);
      if (!cell) out.set(r.cellKey, (cell = new Map()));
      let vs = cell.get(r.name);
      if (!vs) cell.set(r.name, (vs = []));
      vs.push(r.value);
    }
    return out;
  }

  recordEaterSummary(jobId: number, summary: Record<string, unknown>): void {
    this.db.transaction(() => {
      this.requireJob(jobId);
      this.writeEaterSummary(jobId, summary);
    })();
  }

  eaterSummary(jobId: number): Record<string, unknown> | null {
    const row = this.db.prepare('SELECT summary FROM eater_summaries WHERE job_id = ?').get(jobId) as { summary: string } | undefined;
    return row ? (JSON.parse(row.summary) as Record<string, unknown>) : null;
  }

  recordEnvironment(jobId: number, environment: EnvironmentInput): void {
    const e = parseRecord(environmentSchema, environment, 'environment');
    this.db.transaction(() => {
      this.requireJob(jobId);
      this.writeEnvironment(jobId, e);
    })();
  }

  environment(jobId: number): EnvironmentInput | null {
    const row = this.db.prepare('SELECT device, kernel, config FROM environments WHERE job_id = ?').get(jobId) as
      | { device: string; kernel: string; config: string }
      | undefined;
    return row ? { device: JSON.parse(row.device), kernel: JSON.parse(row.kernel), config: JSON.parse(row.config) } : null;
  }

  // ---- model --------------------------------------------------------------

  recordPrediction(runId: number, cellKey: string, prediction: Prediction): void {
    const p = parseRecord(predictionSchema, prediction, 'prediction');
    if (!cellKey) throw new ZlabError('bug', 'recordPrediction: cellKey is empty');
    this.db.transaction(() => {
      this.requireRun(runId);
      this.db
        .prepare(
          `INSERT INTO predictions (run_id, cell_key, metric, predicted, low, high, kind) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, cell_key, metric) DO UPDATE SET predicted = excluded.predicted, low = excluded.low,
             high = excluded.high, kind = excluded.kind`,
        )
        .run(runId, cellKey, p.metric, p.predicted, p.low, p.high, p.kind);
    })();
  }

  predictions(runId: number): PredictionRow[] {
    return this.db
      .prepare('SELECT cell_key AS cellKey, metric, predicted, low, high, kind FROM predictions WHERE run_id = ? ORDER BY cell_key, metric')
      .all(runId) as PredictionRow[];
  }

  recordDivergence(runId: number, divergence: DivergenceInput): void {
    const d = parseRecord(divergenceInputSchema, divergence, 'divergence');
    this.db.transaction(() => {
      this.requireRun(runId);
      if (d.jobId !== undefined) this.requireJob(d.jobId);
      this.db
        .prepare('DELETE FROM divergences WHERE run_id = ? AND cell_key = ? AND ifnull(job_id, 0) = ? AND metric = ?')
        .run(runId, d.cellKey, d.jobId ?? 0, d.metric);
      this.db
        .prepare(
          `INSERT INTO divergences (run_id, cell_key, job_id, metric, kind, predicted, low, high, measured, severity, message)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(runId, d.cellKey, d.jobId ?? null, d.metric, d.kind, d.predicted, d.low, d.high, d.measured, d.severity, d.message);
    })();
  }

  divergences(runId: number): DivergenceRow[] {
    const rows = this.db
      .prepare(
        `SELECT id, cell_key AS cellKey, job_id AS jobId, metric, kind, predicted, low, high, measured, severity, message
           FROM divergences WHERE run_id = ? ORDER BY cell_key, metric, id`,
      )
      .all(runId) as (DivergenceRow & { jobId: number | null })[];
    return rows.map(({ jobId, ...r }) => (jobId === null ? r : { ...r, jobId }));
  }

  // ---- history --------------------------------------------------------------

  /**
   * Values of one metric for one cell over past nights of the plan (by name,
   * so edits to the plan keep its history), oldest first. Only passed jobs of
   * runs started before `before` (a run id) count.
   */
  cellHistory(planName: string, cellKey: string, metric: string, options: { before?: number; nights?: number } = {}): NightValues[] {
    const before = options.before !== undefined ? this.getRun(options.before).startedAt : Number.MAX_SAFE_INTEGER;
    const rows = this.db
      .prepare(
        `SELECT r.id AS runId, r.started_at AS startedAt, m.value
           FROM runs r JOIN plans p ON p.id = r.plan_id
           JOIN jobs j ON j.run_id = r.id AND j.cell_key = ? AND j.status = 'passed'
           JOIN metrics m ON m.job_id = j.id AND m.name = ?
          WHERE p.name = ? AND r.started_at < ? AND r.id IN (
                SELECT r2.id FROM runs r2 JOIN plans p2 ON p2.id = r2.plan_id
                 WHERE p2.name = ? AND r2.started_at < ? ORDER BY r2.started_at DESC LIMIT ?)
          ORDER BY r.started_at, r.id, j.order_index`,
      )
      .all(cellKey, metric, planName, before, planName, before, options.nights ?? 30) as { runId: number; startedAt: number; value: number }[];
    const nights: NightValues[] = [];
    for (const r of rows) {
      const last = nights[nights.length - 1];
      if (last && last.runId === r.runId) last.values.push(r.value);
      else nights.push({ runId: r.runId, startedAt: r.startedAt, values: [r.value] });
    }
    return nights;
  }

  // ---- internals --------------------------------------------------------------

  private requireRun(runId: number): void {
    const row = this.db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: RunStatus } | undefined;
    if (!row) throw new ZlabError('bug', `no run ${runId} in the results store`);
  }

  private requireJob(jobId: number): { attempts: number } {
    const row = this.db.prepare('SELECT attempts FROM jobs WHERE id = ?').get(jobId) as { attempts: number } | undefined;
    if (!row) throw new ZlabError('bug', `no job ${jobId} in the results store`);
    return row;
  }

  private insertStage(jobId: number, e: StageEventInput, attempt: number): void {
    this.db
      .prepare('INSERT INTO stage_events (job_id, attempt, stage, started_at, ended_at, outcome, message) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(jobId, e.attempt ?? attempt, e.stage, e.startedAt, e.endedAt, e.outcome, e.message ?? null);
  }

  private writeSamples(jobId: number, s: TimeSeries): void {
    this.db.prepare('DELETE FROM samples WHERE job_id = ?').run(jobId);
    const insert = this.db.prepare('INSERT INTO samples (job_id, series, encoding, points, data) VALUES (?, ?, ?, ?, ?)');
    insert.run(jobId, timeAxis, sampleEncoding, s.t.length, encodeSeries(s.t));
    for (const [name, vs] of Object.entries(s.values)) insert.run(jobId, name, sampleEncoding, vs.length, encodeSeries(vs));
  }

  private writeMetrics(jobId: number, m: Record<string, number>): void {
    const upsert = this.db.prepare('INSERT INTO metrics (job_id, name, value) VALUES (?, ?, ?) ON CONFLICT (job_id, name) DO UPDATE SET value = excluded.value');
    for (const [name, value] of Object.entries(m)) upsert.run(jobId, name, value);
  }

  private writeEaterSummary(jobId: number, summary: Record<string, unknown>): void {
    let text: string;
    try {
      text = JSON.stringify(summary);
    } catch (err) {
      throw new ZlabError('bug', `eater summary is not JSON: ${errorMessage(err)}`);
    }
    this.db
      .prepare('INSERT INTO eater_summaries (job_id, summary) VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET summary = excluded.summary')
      .run(jobId, text);
  }

  private writeEnvironment(jobId: number, e: EnvironmentInput): void {
    this.db
      .prepare(
        `INSERT INTO environments (job_id, device, kernel, config) VALUES (?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET device = excluded.device, kernel = excluded.kernel, config = excluded.config`,
      )
      .run(jobId, JSON.stringify(e.device), JSON.stringify(e.kernel), JSON.stringify(e.config));
  }
}
