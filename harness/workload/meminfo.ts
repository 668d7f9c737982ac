import { ZlabError } from '../util/errors.js';

/** The few /proc/meminfo and /proc/swaps figures sizing decisions need, in bytes. */
export interface MemorySizes {
  memTotalBytes: number;
  swapTotalBytes: number;
  /** MemAvailable (MemFree on kernels without it): what can be had without swapping. */
  memAvailableBytes: number;
  /** AnonPages: other processes' memory, which swapping them out or killing them could free. */
  anonPagesBytes: number;
  swapFreeBytes: number;
  /** The part of swapFreeBytes on zram: pages swapped there still take RAM, compressed. */
  zramSwapFreeBytes: number;
}

/** Parse `/proc/meminfo` text into a map of field → bytes (fields in kB are scaled). */
export function parseMeminfo(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) fields.set(m[1]!, Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  return fields;
}

/** Free kB of every zram device in `/proc/swaps` text ("/dev/zram0 partition SIZE USED PRIO"). */
function zramSwapFreeKb(text: string): number {
  let free = 0;
  for (const m of text.matchAll(/^\S*\/zram\d+\s+\S+\s+(\d+)\s+(\d+)/gm)) free += Number(m[1]) - Number(m[2]);
  return free;
}

/** Sizes from the output of `cat /proc/meminfo /proc/swaps` (without /proc/swaps: no swap on zram). */
export function memorySizes(text: string): MemorySizes {
  const fields = parseMeminfo(text);
  const memTotalBytes = fields.get('MemTotal');
  if (memTotalBytes === undefined) throw new ZlabError('device', '/proc/meminfo has no MemTotal line');
  const swapTotalBytes = fields.get('SwapTotal') ?? 0;
  const swapFreeBytes = fields.get('SwapFree') ?? swapTotalBytes;
  return {
    memTotalBytes,
    swapTotalBytes,
    memAvailableBytes: fields.get('MemAvailable') ?? fields.get('MemFree') ?? memTotalBytes,
    anonPagesBytes: fields.get('AnonPages') ?? 0,
    swapFreeBytes,
    zramSwapFreeBytes: Math.min(zramSwapFreeKb(text) * 1024, swapFreeBytes),
  };
}
