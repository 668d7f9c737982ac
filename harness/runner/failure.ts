import { ZlabError } from '../util/errors.js';

/**
 * Why a job failed, in the terms a lab acts on. Only infrastructure faults
 * (a dropped adb link, a host hiccup) are worth retrying; a kernel that does
 * not boot or a plan that asks for the impossible fails the same way twice.
 */
export type FailureKind = 'infrastructure' | 'device' | 'kernel' | 'plan' | 'bug' | 'interrupted';

export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof StageTimeoutError) return err.failureKind;
  if (err instanceof InterruptedError) return 'interrupted';
  if (err instanceof ZlabError) {
    switch (err.kind) {
      case 'usage':
      case 'plan':
        return 'plan';
      case 'infrastructure':
      case 'device':
      case 'kernel':
      case 'bug':
        return err.kind;
    }
  }
  return 'bug';
}

export function isRetryable(kind: FailureKind): boolean {
  return kind === 'infrastructure';
}

export class StageTimeoutError extends ZlabError {
  constructor(
    readonly stage: string,
    readonly timeoutMs: number,
    readonly failureKind: FailureKind,
  ) {
    super(failureKind === 'interrupted' ? 'infrastructure' : failureKind, `stage "${stage}" did not finish within ${Math.round(timeoutMs / 1000)} s`, { stage, timeoutMs });
    this.name = 'StageTimeoutError';
  }
}

/** The user (Ctrl-C) or the scheduler stopped the job. */
export class InterruptedError extends ZlabError {
  constructor(stage: string) {
    super('infrastructure', `interrupted during stage "${stage}"`, { stage });
    this.name = 'InterruptedError';
  }
}
