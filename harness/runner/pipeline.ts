import { errorMessage } from '../util/errors.js';
import { type FailureKind, InterruptedError, StageTimeoutError, classifyFailure } from './failure.js';

/**
 * One step of a job. A stage gets a signal that fires on its timeout or on
 * interruption; its cleanup runs whenever the stage started — also when a
 * later stage fails or the job is interrupted — in reverse order, so the
 * device is always left as it was found.
 */
export interface Stage<C> {
  name: string;
  timeoutMs: number;
  /** What a timeout of this stage means (a deploy that never boots is the kernel's fault). */
  timeoutKind?: FailureKind;
  run(context: C, signal: AbortSignal): Promise<void>;
  cleanup?(context: C): Promise<void>;
  /** Cleanups have their own bound so that a hung device cannot hang the lab. */
  cleanupTimeoutMs?: number;
}

export type StageOutcome = 'passed' | 'failed' | 'skipped' | 'cleaned' | 'cleanup-failed';

export interface StageEvent {
  stage: string;
  outcome: StageOutcome;
  startedAt: number;
  endedAt: number;
  message?: string;
}

export interface PipelineResult {
  ok: boolean;
  failedStage?: string;
  failureKind?: FailureKind;
  error?: unknown;
  events: StageEvent[];
}

export async function runPipeline<C>(
  stages: ReadonlyArray<Stage<C>>,
  context: C,
  options: { signal?: AbortSignal; onEvent?: (event: StageEvent) => void } = {},
): Promise<PipelineResult> {
  const events: StageEvent[] = [];
  const emit = (event: StageEvent) => {
    events.push(event);
    options.onEvent?.(event);
  };
  const started: Array<Stage<C>> = [];
  let failure: { stage: string; kind: FailureKind; error: unknown } | undefined;

  for (const stage of stages) {
    if (failure) break;
    const startedAt = Date.now();
    if (options.signal?.aborted) {
      failure = { stage: stage.name, kind: 'interrupted', error: new InterruptedError(stage.name) };
      emit({ stage: stage.name, outcome: 'skipped', startedAt, endedAt: startedAt, message: 'interrupted' });
      break;
    }
    started.push(stage);
    try {
      await runBounded(stage, context, options.signal);
      emit({ stage: stage.name, outcome: 'passed', startedAt, endedAt: Date.now() });
    } catch (error) {
      const kind = classifyFailure(error);
      failure = { stage: stage.name, kind, error };
      emit({ stage: stage.name, outcome: 'failed', startedAt, endedAt: Date.now(), message: errorMessage(error) });
    }
  }

  for (const stage of started.reverse()) {
    if (!stage.cleanup) continue;
    const startedAt = Date.now();
    try {
      await withTimeout(stage.cleanup(context), stage.cleanupTimeoutMs ?? 120_000, `cleanup of "${stage.name}"`);
      emit({ stage: stage.name, outcome: 'cleaned', startedAt, endedAt: Date.now() });
    } catch (error) {
      emit({ stage: stage.name, outcome: 'cleanup-failed', startedAt, endedAt: Date.now(), message: errorMessage(error) });
      // A failed cleanup is the job's failure when nothing else failed first:
      // a device that was not restored must not count as a clean run.
      failure ??= { stage: stage.name, kind: classifyFailure(error), error };
    }
  }

  return failure
    ? { ok: false, failedStage: failure.stage, failureKind: failure.kind, error: failure.error, events }
    : { ok: true, events };
}

async function runBounded<C>(stage: Stage<C>, context: C, outer: AbortSignal | undefined): Promise<void> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(new InterruptedError(stage.name));
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new StageTimeoutError(stage.name, stage.timeoutMs, stage.timeoutKind ?? 'device');
      controller.abort(err);
      reject(err);
    }, stage.timeoutMs);
  });
  const interrupted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  const running = stage.run(context, controller.signal);
  try {
    await Promise.race([running, timedOut, interrupted]);
  } catch (err) {
    // Give a stage that was told to stop a moment to do so, so that its
    // cleanup never runs beside it (a restore racing an apply).
    await Promise.race([running.catch(() => undefined), sleep(STOP_GRACE_MS)]);
    throw err;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

const STOP_GRACE_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
