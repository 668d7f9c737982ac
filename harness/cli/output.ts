import Table from 'cli-table3';
import { ZlabError, errorMessage } from '../util/errors.js';

/** Print one JSON document on stdout (the contract of every `--json` flag). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Print an error for a person and return the exit code it deserves. */
export function reportError(err: unknown): number {
  const message = errorMessage(err);
  process.stderr.write(`zlab: error: ${message}\n`);
  if (process.env.ZLAB_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (err instanceof ZlabError && (err.kind === 'usage' || err.kind === 'plan')) return 2;
  return 1;
}

/** A table for people; plain (no colour codes) unless stdout is a terminal. */
export function table(head: string[], options: { colWidths?: number[] } = {}): InstanceType<typeof Table> {
  const colour = Boolean(process.stdout.isTTY);
  return new Table({
    head,
    style: colour ? {} : { head: [], border: [] },
    ...(options.colWidths ? { colWidths: options.colWidths, wordWrap: true } : {}),
  });
}
