import { z } from 'zod';
import type { DeviceShell, ScriptOptions } from '../configure/device-shell.js';
import { shellQuote } from '../device/shell-quote.js';
import { ZlabError } from '../util/errors.js';
import type { ReclaimDesignInput } from './reclaim-design.js';

/*
 * The kcompressd design a kernel runs with, as its knobs say
 * (kernels/patches/kcompressd-6.12): vm.kcompressd is the queue depth per
 * thread (0 turns offload off), vm.kcompressd_threads the threads per node.
 * A kernel without the files is a stock kernel.
 */

export const KCOMPRESSD_DEPTH_FILE = '/proc/sys/vm/kcompressd';
export const KCOMPRESSD_THREADS_FILE = '/proc/sys/vm/kcompressd_threads';
/** Folios kswapd has handed to a thread since boot (the series' counters). */
export const KCOMPRESSD_QUEUED_FILE = '/sys/kernel/mm/kcompressd/queued';
/** The kernel's ring holds at most this many folios per node, whatever the knobs say. */
export const KCOMPRESSD_RING_SIZE = 8192;

export const KcompressdKnobsSchema = z
  .object({
    /** vm.kcompressd: folios queued per thread at most; 0 = offload off. */
    queueDepthPerThread: z.number().int().min(0).max(1 << 20),
    /** vm.kcompressd_threads: threads per node; 0 = none running. */
    threads: z.number().int().min(0).max(256),
  })
  .strict();
export type KcompressdKnobs = z.infer<typeof KcompressdKnobsSchema>;

function filesScript(paths: string[], root: string): string {
  // Constant paths under a root that tests set; every word quoted.
  return paths
    .map((p) => {
      const f = shellQuote(`${root}${p}`);
      return `if [ -e ${f} ]; then printf '%s=%s\\n' ${shellQuote(p)} "$(cat ${f} 2>/dev/null || echo unreadable)"; else printf '%s absent\\n' ${shellQuote(p)}; fi`;
    })
    .join('; ');
}

/** Each path's content, or null when the file is absent. */
async function readFiles(device: DeviceShell, paths: string[], options: ScriptOptions): Promise<Map<string, string | null>> {
  const result = await device.shell(filesScript(paths, options.root ?? ''));
  if (result.exitCode !== 0) throw new ZlabError('device', `${device.serial}: reading ${paths.join(', ')} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return parseFiles(result.stdout, paths, device.serial);
}

function parseFiles(stdout: string, paths: string[], serial: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const line of stdout.split('\n')) {
    for (const p of paths) {
      if (line === `${p} absent`) out.set(p, null);
      else if (line.startsWith(`${p}=`)) out.set(p, line.slice(p.length + 1).trim());
    }
  }
  const missing = paths.filter((p) => !out.has(p));
  if (missing.length > 0) throw new ZlabError('device', `${serial}: no answer for ${missing.join(', ')} in "${stdout.slice(0, 200)}"`);
  return out;
}

function knobValue(serial: string, path: string, text: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new ZlabError('device', `${serial}: ${path} reads "${text}", not a whole number from 0 to ${max}`);
  return Number(text);
}

/** The knobs from what the device showed: both files or none (stock kernel); anything else is named. */
export function kcompressdKnobsFrom(serial: string, depth: string | null, threads: string | null): KcompressdKnobs | null {
  if (depth === null && threads === null) return null;
  if (depth === null || threads === null) {
    const [present, absent] = depth === null ? [KCOMPRESSD_THREADS_FILE, KCOMPRESSD_DEPTH_FILE] : [KCOMPRESSD_DEPTH_FILE, KCOMPRESSD_THREADS_FILE];
    throw new ZlabError('device', `${serial}: the kernel has ${present} but not ${absent}: not the kcompressd design the model knows`);
  }
  return { queueDepthPerThread: knobValue(serial, KCOMPRESSD_DEPTH_FILE, depth, 1 << 20), threads: knobValue(serial, KCOMPRESSD_THREADS_FILE, threads, 256) };
}

/** vm.kcompressd and vm.kcompressd_threads as the device shows them now; null on a kernel without them (stock). */
export async function readKcompressdKnobs(device: DeviceShell, options: ScriptOptions = {}): Promise<KcompressdKnobs | null> {
  const files = await readFiles(device, [KCOMPRESSD_DEPTH_FILE, KCOMPRESSD_THREADS_FILE], options);
  return kcompressdKnobsFrom(device.serial, files.get(KCOMPRESSD_DEPTH_FILE)!, files.get(KCOMPRESSD_THREADS_FILE)!);
}

/** The series' `queued` counter (folios handed to a thread since boot); null when the kernel has no counters. */
export async function readKcompressdQueued(device: DeviceShell, options: ScriptOptions = {}): Promise<number | null> {
  const text = (await readFiles(device, [KCOMPRESSD_QUEUED_FILE], options)).get(KCOMPRESSD_QUEUED_FILE)!;
  if (text === null) return null;
  if (!/^\d+$/.test(text)) throw new ZlabError('device', `${device.serial}: ${KCOMPRESSD_QUEUED_FILE} reads "${text}", not a count`);
  return Number(text);
}

/** True when the kernel hands kswapd's folios to threads with these knobs. */
export function offloads(knobs: KcompressdKnobs | null): boolean {
  return knobs !== null && knobs.queueDepthPerThread > 0 && knobs.threads > 0;
}

/**
 * The model's design for a kernel with these knobs. No knobs, offload off
 * (vm.kcompressd = 0) or no thread: kswapd compresses everything itself, the
 * stock design. Otherwise the series' design: one FIFO per node holding
 * depth × threads folios (at most the ring's 8192), kswapd writes a folio
 * itself when it is full, and checks same-filled folios before queueing.
 */
export function reclaimDesignFor(knobs: KcompressdKnobs | null): ReclaimDesignInput {
  if (knobs === null || !offloads(knobs)) return { threads: 0 };
  return {
    threads: knobs.threads,
    queueDepth: Math.min(knobs.queueDepthPerThread * knobs.threads, KCOMPRESSD_RING_SIZE),
    fallback: 'sync',
    sameFilledInline: true,
  };
}

/** One line for progress and reports. */
export function describeKnobs(knobs: KcompressdKnobs | null): string {
  if (knobs === null) return 'stock kernel (no kcompressd knobs)';
  if (!offloads(knobs)) return `kcompressd off (vm.kcompressd = ${knobs.queueDepthPerThread}, vm.kcompressd_threads = ${knobs.threads})`;
  const design = reclaimDesignFor(knobs);
  return `kcompressd: ${knobs.threads} thread(s), queue ${design.queueDepth} folios (vm.kcompressd = ${knobs.queueDepthPerThread}), sync fallback, same-filled inline`;
}
