import type Database from 'better-sqlite3';
import { ZlabError } from '../util/errors.js';

/**
 * Forward-only schema migrations. Migration i brings the store from version
 * i to i + 1 (SQLite's user_version). A store written by a newer zlab is
 * refused rather than guessed at.
 */
export type Migration = string;

export const migrations: readonly Migration[] = [
  // 1: the first schema.
  `
  CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    yaml TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX plans_by_name ON plans(name);

  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    plan_id INTEGER NOT NULL REFERENCES plans(id),
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed'))
  );
  CREATE INDEX runs_by_plan ON runs(plan_id, started_at);

  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    cell_key TEXT NOT NULL,
    repetition INTEGER NOT NULL CHECK (repetition >= 0),
    order_index INTEGER NOT NULL,
    device_serial TEXT,
    kernel_id TEXT,
    config_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'interrupted')),
    failure_kind TEXT CHECK (failure_kind IS NULL OR failure_kind IN ('infrastructure', 'device', 'kernel', 'plan', 'bug', 'interrupted')),
    failure_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    started_at INTEGER,
    ended_at INTEGER,
    UNIQUE (run_id, cell_key, repetition)
  );
  CREATE INDEX jobs_by_cell ON jobs(cell_key, status);

  CREATE TABLE stage_events (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    stage TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT
  );
  CREATE INDEX stage_events_by_job ON stage_events(job_id);

  -- One row per series: analysis always reads whole series, and a run of
  -- minutes at a few samples per second is thousands of points per counter.
  CREATE TABLE samples (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    series TEXT NOT NULL,
    encoding TEXT NOT NULL,
    points INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, series)
  ) WITHOUT ROWID;

  CREATE TABLE eater_summaries (
    job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    summary TEXT NOT NULL CHECK (json_valid(summary))
  );

  CREATE TABLE metrics (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (job_id, name)
  ) WITHOUT ROWID;

  CREATE TABLE environments (
    job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    device TEXT NOT NULL CHECK (json_valid(device)),
    kernel TEXT NOT NULL CHECK (json_valid(kernel)),
    config TEXT NOT NULL CHECK (json_valid(config))
  );

  CREATE TABLE predictions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    cell_key TEXT NOT NULL,
    metric TEXT NOT NULL,
    predicted REAL NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('exact', 'calibrated', 'rough')),
    UNIQUE (run_id, cell_key, metric)
  );

  CREATE TABLE divergences (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    cell_key TEXT NOT NULL,
    job_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('exact', 'calibrated', 'rough')),
    predicted REAL NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    measured REAL,
    severity TEXT NOT NULL CHECK (severity IN ('ok', 'divergent', 'failure', 'unmeasured')),
    message TEXT NOT NULL
  );
  CREATE UNIQUE INDEX divergences_once ON divergences(run_id, cell_key, ifnull(job_id, 0), metric);
  `,
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the database up to the newest version, each step in its own transaction. */
export function migrate(db: Database.Database, path: string, steps: readonly Migration[] = migrations): number {
  const current = schemaVersion(db);
  if (current > steps.length) {
    throw new ZlabError('infrastructure', `results store ${path} has schema version ${current}, newer than this zlab knows (${steps.length}); update zlab`, { path, current });
  }
  for (let v = current; v < steps.length; v++) {
    db.transaction(() => {
      db.exec(steps[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return steps.length;
}
