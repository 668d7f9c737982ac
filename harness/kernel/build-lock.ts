import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZlabError } from '../util/errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface LockOptions {
  /** How long to wait for another process's build; 0 fails at once. */
  waitMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

/**
 * Run `body` holding WORK/lock, so two zlab processes never build into the same
 * tree at once. A second process waits (a build takes minutes; its result is
 * usually what the waiter wanted). A lock whose process is gone is taken over.
 */
export async function withBuildLock<T>(work: string, body: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const file = join(work, 'lock');
  const waitMs = options.waitMs ?? 90 * 60_000;
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ZlabError('infrastructure', `cannot create ${file}: ${(err as Error).message}`);
      }
    }
    const holder = holderOf(file);
    if (holder === undefined || !alive(holder)) {
      // Left by a process that died (or is still writing its pid): take it over after a moment.
      await sleep(200);
      if (holderOf(file) === holder) rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new ZlabError('kernel', `${work} is being built by process ${holder}; gave up waiting after ${Math.round(waitMs / 1000)} s`);
    }
    if (!announced) options.log?.(`waiting for process ${holder}, which is building in ${work}`);
    announced = true;
    await sleep(options.pollMs ?? 2000);
  }
  try {
    return await body();
  } finally {
    rmSync(file, { force: true });
  }
}
