import { ZlabError } from '../util/errors.js';

/** A command ran on the device and failed (non-zero exit): never retried. */
export class DeviceCommandError extends ZlabError {
  constructor(
    readonly serial: string,
    readonly command: string,
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
    readonly durationMs: number,
  ) {
    const output = (stderr || stdout).trim().split('\n').slice(-5).join('\n');
    super(
      'device',
      `${serial}: \`${abbreviate(command)}\` exited ${exitCode} after ${Math.round(durationMs)} ms${output ? `: ${output}` : ''}`,
      { serial, command, exitCode, stdout, stderr, durationMs },
    );
    this.name = 'DeviceCommandError';
  }
}

/** A command did not finish in time (or was aborted); the device side is closed. */
export class DeviceTimeoutError extends ZlabError {
  constructor(serial: string, command: string, timeoutMs: number, reason: 'timeout' | 'aborted') {
    super(
      'device',
      reason === 'timeout'
        ? `${serial}: \`${abbreviate(command)}\` did not finish within ${timeoutMs} ms`
        : `${serial}: \`${abbreviate(command)}\` was aborted`,
      { serial, command, timeoutMs, reason },
    );
    this.name = 'DeviceTimeoutError';
  }
}

/** The link to the device failed (reset, offline, vanished); safe to retry before a command starts. */
export class TransportError extends ZlabError {
  constructor(serial: string, operation: string, cause: unknown) {
    super('infrastructure', `${serial}: ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`, { serial, operation }, { cause });
    this.name = 'TransportError';
  }
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);
const TRANSIENT_MESSAGES = /device offline|device still (?:connecting|authorizing)|closed|Premature end|protocol fault|transport/i;

/** Errors of the link itself, as opposed to answers from the device. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && TRANSIENT_CODES.has(code)) return true;
  return TRANSIENT_MESSAGES.test(err.message);
}

function abbreviate(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ').trim();
  return oneLine.length > 160 ? `${oneLine.slice(0, 157)}...` : oneLine;
}
