import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Device } from '../device/device.js';
import { shellCommand } from '../device/shell-quote.js';
import { UsageError, ZlabError } from '../util/errors.js';
import { parseSamplerRecord, type SamplerRecord } from './sampler-record.js';

export type SamplerDevice = Pick<Device, 'shell' | 'run' | 'pull'>;

const samplerOptionsSchema = z.object({
  binary: z.string().regex(/^\/[A-Za-z0-9_./-]+$/, 'an absolute device path'),
  out: z.string().regex(/^\/[A-Za-z0-9_./-]+$/, 'an absolute device path'),
  periodMs: z.number().int().min(1).max(3_600_000),
  comms: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'a process name of 1 to 15 characters')).max(14).default([]),
  scanMs: z.number().int().min(1).max(3_600_000).default(250),
  durationMs: z.number().int().min(0).optional(),
});

export type SamplerOptions = z.input<typeof samplerOptionsSchema>;

export interface RunningSampler {
  pid: number;
  out: string;
}

/** The sampler's command line for validated options. */
export function samplerCommand(options: SamplerOptions): string {
  const parsed = samplerOptionsSchema.safeParse(options);
  if (!parsed.success) throw new UsageError(`sampler options: ${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  const words: Array<string | number> = [o.binary, '--daemon', '--out', o.out, '--period-ms', o.periodMs, '--scan-ms', o.scanMs];
  for (const comm of o.comms) words.push('--comm', comm);
  if (o.durationMs !== undefined) words.push('--duration-ms', o.durationMs);
  return shellCommand(words);
}

/** Start the sampler detached on the device; it prints its pid and keeps running. */
export async function startSampler(device: SamplerDevice, options: SamplerOptions): Promise<RunningSampler> {
  const stdout = await device.run(samplerCommand(options), { timeoutMs: 30_000 });
  const pid = Number(stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new ZlabError('device', `the sampler did not report its pid: "${stdout.trim()}"`);
  return { pid, out: options.out };
}

/** Stop the sampler with SIGTERM and wait (on the device, up to ~10 s) until it has written its stop line. */
export async function stopSampler(device: SamplerDevice, sampler: RunningSampler): Promise<void> {
  const pid = z.number().int().positive().parse(sampler.pid);
  const script = `kill -TERM ${pid} 2>/dev/null; i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ! kill -0 ${pid} 2>/dev/null`;
  const result = await device.shell(script, { timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new ZlabError('device', `the sampler (pid ${pid}) did not stop within 10 s of SIGTERM`);
}

/** The device's current boot id. */
export async function readBootId(device: SamplerDevice): Promise<string> {
  return (await device.run('cat /proc/sys/kernel/random/boot_id', { timeoutMs: 30_000 })).trim();
}

/** Pull a record file and parse it. */
export async function pullRecord(device: SamplerDevice, remote: string, local: string): Promise<SamplerRecord> {
  await device.pull(remote, local, { timeoutMs: 300_000 });
  return parseSamplerRecord(await readFile(local, 'utf8'));
}
