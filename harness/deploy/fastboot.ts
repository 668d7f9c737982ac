import { execa } from 'execa';
import { resolve } from 'node:path';
import { z } from 'zod';
import { UsageError, ZlabError } from '../util/errors.js';
import type { Slot } from './fastboot-slots.js';

/**
 * A client for a device in bootloader mode, driving Debian's real `fastboot`
 * tool. Every invocation runs under a timeout: fastboot waits forever for an
 * absent TCP target or an unplugged USB device.
 */

/** `tcp:HOST:PORT` (fastboot over TCP) or a USB serial number. */
export const fastbootTargetSchema = z.union([
  z.string().regex(/^tcp:[A-Za-z0-9.-]{1,253}:\d{1,5}$/).refine((t) => {
    const port = Number(t.slice(t.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'port must be 1-65535'),
  z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
]);

export function parseFastbootTarget(text: string): string {
  const parsed = fastbootTargetSchema.safeParse(text);
  if (!parsed.success) {
    throw new UsageError(`fastboot target "${text}" is neither tcp:HOST:PORT nor a USB serial (letters, digits, . _ -)`);
  }
  return parsed.data;
}

export type FastbootFailure = 'timeout' | 'remote' | 'tool';

/** A fastboot invocation that failed: no answer in time, a FAIL from the device, or the tool itself. */
export class FastbootError extends ZlabError {
  readonly reason: FastbootFailure;
  constructor(reason: FastbootFailure, message: string, details: Record<string, unknown> = {}) {
    super(reason === 'tool' ? 'infrastructure' : 'device', message, { reason, ...details });
    this.name = 'FastbootError';
    this.reason = reason;
  }
}

export interface FastbootClientOptions {
  /** tcp:HOST:PORT or a USB serial. */
  target: string;
  /** Timeout for quick commands (getvar, set_active, reboot); default 10 s. */
  commandTimeoutMs?: number;
  /** Timeout for commands that send an image (flash, boot); default 5 min. */
  transferTimeoutMs?: number;
  /** The fastboot executable; default `fastboot` from PATH. */
  bin?: string;
}

export class FastbootClient {
  readonly target: string;
  private readonly commandTimeoutMs: number;
  private readonly transferTimeoutMs: number;
  private readonly bin: string;

  constructor(options: FastbootClientOptions) {
    this.target = parseFastbootTarget(options.target);
    this.commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
    this.transferTimeoutMs = options.transferTimeoutMs ?? 300_000;
    this.bin = options.bin ?? 'fastboot';
  }

  /** A bootloader variable; a FAIL (fastboot still exits 0) becomes a FastbootError. */
  async getvar(name: string): Promise<string> {
    if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(name) || name === 'all') throw new UsageError(`getvar: "${name}" is not a variable name`);
    const out = await this.run(['getvar', name], this.commandTimeoutMs);
    const prefix = `${name}: `;
    const line = out.split('\n').find((l) => l.startsWith(prefix));
    if (line === undefined) throw new FastbootError('tool', `fastboot ${this.target} getvar ${name}: no value in the output`, { output: out });
    return line.slice(prefix.length).trim();
  }

  /** `getvar all`: every `(bootloader) name:value` line. The last colon separates value from name. */
  async getvarAll(): Promise<Record<string, string>> {
    const out = await this.run(['getvar', 'all'], this.commandTimeoutMs);
    const vars: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const m = /^\(bootloader\) (.*):([^:]*)$/.exec(line.trim());
      if (m && m[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2].trim();
    }
    return vars;
  }

  /** Flash a boot image to the current slot, or to `slot`. */
  async flashBoot(imagePath: string, slot?: Slot): Promise<void> {
    const args = ['flash'];
    if (slot !== undefined) args.push('--slot', checkSlot(slot));
    args.push('boot', resolve(imagePath));
    await this.run(args, this.transferTimeoutMs);
  }

  /** One-shot boot: the image runs once; the next power cycle boots the active slot. */
  async boot(imagePath: string): Promise<void> {
    await this.run(['boot', resolve(imagePath)], this.transferTimeoutMs);
  }

  async setActive(slot: Slot): Promise<void> {
    await this.run(['set_active', checkSlot(slot)], this.commandTimeoutMs);
  }

  async reboot(): Promise<void> {
    await this.run(['reboot'], this.commandTimeoutMs);
  }

  async rebootBootloader(): Promise<void> {
    await this.run(['reboot-bootloader'], this.commandTimeoutMs);
  }

  async continueBoot(): Promise<void> {
    await this.run(['continue'], this.commandTimeoutMs);
  }

  /** Run one fastboot command; returns its output (fastboot reports on stderr). */
  private async run(args: string[], timeoutMs: number): Promise<string> {
    const what = `fastboot ${this.target} ${args.filter((a) => !a.startsWith('/')).join(' ')}`;
    let result;
    try {
      result = await execa(this.bin, ['-s', this.target, ...args], {
        reject: false,
        timeout: timeoutMs,
        forceKillAfterDelay: 2_000,
        all: true,
        stdin: 'ignore',
      });
    } catch (err) {
      throw new FastbootError('tool', `${what}: could not run ${this.bin}: ${(err as Error).message}`);
    }
    const out = result.all ?? '';
    if (result.timedOut) {
      throw new FastbootError('timeout', `${what}: no answer within ${timeoutMs / 1000} s; is the device in bootloader mode?`, {
        target: this.target,
        timeoutMs,
      });
    }
    if (result.failed && result.exitCode === undefined) {
      throw new FastbootError('tool', `${what}: could not run ${this.bin}: ${result.message}`);
    }
    const remote = /FAILED \(remote: '(.*)'\)/s.exec(out);
    if (remote) throw new FastbootError('remote', `${what}: the device refused: ${remote[1]}`, { target: this.target, remote: remote[1] });
    if (result.exitCode !== 0) {
      const last = out.trim().split('\n').pop() ?? '';
      throw new FastbootError('tool', `${what}: fastboot exited ${result.exitCode}: ${last}`, { target: this.target, output: out });
    }
    return out;
  }
}

function checkSlot(slot: string): Slot {
  if (slot !== 'a' && slot !== 'b') throw new UsageError(`slot "${slot}" is not a or b`);
  return slot;
}
