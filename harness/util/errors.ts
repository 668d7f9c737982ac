/**
 * Errors that zlab reports to its user. Each carries a stable `code` so that
 * callers (CLI, runner) can classify failures without parsing messages.
 */
export type ErrorKind = 'usage' | 'plan' | 'device' | 'infrastructure' | 'kernel' | 'bug';

export class ZlabError extends Error {
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown>;

  constructor(kind: ErrorKind, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ZlabError';
    this.kind = kind;
    this.details = details;
  }
}

/** Bad input from a command line, a plan or a configuration file. */
export class UsageError extends ZlabError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('usage', message, details);
    this.name = 'UsageError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
