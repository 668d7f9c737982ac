import { errorMessage } from '../util/errors.js';
import type { FailureKind } from './failure.js';
import { isRetryable } from './failure.js';

/** A unit of work for one device: one cell of the matrix, one repetition. */
export interface SchedulableJob {
  key: string;
  /** Which devices may run it. */
  matches(deviceId: string): boolean;
}

export interface JobAttempt {
  ok: boolean;
  failureKind?: FailureKind;
  error?: unknown;
}

export interface JobRecord<J> {
  job: J;
  deviceId: string;
  attempts: number;
  ok: boolean;
  failureKind?: FailureKind;
  message?: string;
  durationMs: number;
}

export interface Progress {
  done: number;
  failed: number;
  total: number;
  running: Record<string, string>;
  etaSeconds: number | undefined;
}

export interface ScheduleOptions<J> {
  signal?: AbortSignal;
  /** Extra attempts for infrastructure faults only. */
  retries?: number;
  onProgress?: (progress: Progress) => void;
  onJobDone?: (record: JobRecord<J>) => void;
}

/**
 * Run jobs across devices: each device runs one job at a time and takes the
 * next pending job it matches, so jobs keep their planned order (ABAB…) per
 * device. Jobs no device matches are reported, never silently dropped.
 */
export async function runSchedule<J extends SchedulableJob>(
  jobs: ReadonlyArray<J>,
  deviceIds: ReadonlyArray<string>,
  runJob: (job: J, deviceId: string, signal: AbortSignal | undefined) => Promise<JobAttempt>,
  options: ScheduleOptions<J> = {},
): Promise<Array<JobRecord<J>>> {
  const pending = [...jobs];
  const records: Array<JobRecord<J>> = [];
  const running: Record<string, string> = {};
  const durations: number[] = [];
  const retries = options.retries ?? 2;

  const unmatched = pending.filter((job) => !deviceIds.some((id) => job.matches(id)));
  if (unmatched.length) {
    throw new Error(`no device can run ${unmatched.length} job(s), e.g. ${unmatched[0]!.key}`);
  }

  const report = () => {
    const done = records.filter((r) => r.ok).length;
    const failed = records.length - done;
    const remaining = jobs.length - records.length;
    const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : undefined;
    const etaSeconds = mean === undefined ? undefined : Math.round((remaining * mean) / Math.max(1, deviceIds.length) / 1000);
    options.onProgress?.({ done, failed, total: jobs.length, running: { ...running }, etaSeconds });
  };

  const worker = async (deviceId: string) => {
    for (;;) {
      if (options.signal?.aborted) return;
      const index = pending.findIndex((job) => job.matches(deviceId));
      if (index < 0) return;
      const [job] = pending.splice(index, 1) as [J];
      running[deviceId] = job.key;
      report();
      const started = Date.now();
      let attempts = 0;
      let attempt: JobAttempt;
      for (;;) {
        attempts++;
        try {
          attempt = await runJob(job, deviceId, options.signal);
        } catch (error) {
          attempt = { ok: false, failureKind: 'bug', error };
        }
        if (attempt.ok || !attempt.failureKind || !isRetryable(attempt.failureKind) || attempts > retries || options.signal?.aborted) break;
      }
      delete running[deviceId];
      const record: JobRecord<J> = {
        job,
        deviceId,
        attempts,
        ok: attempt.ok,
        ...(attempt.failureKind ? { failureKind: attempt.failureKind } : {}),
        ...(attempt.error !== undefined ? { message: errorMessage(attempt.error) } : {}),
        durationMs: Date.now() - started,
      };
      durations.push(record.durationMs);
      records.push(record);
      options.onJobDone?.(record);
      report();
    }
  };

  await Promise.all(deviceIds.map(worker));
  return records;
}
