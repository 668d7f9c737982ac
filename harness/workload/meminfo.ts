import { ZlabError } from '../util/errors.js';

/** The few /proc/meminfo figures sizing decisions need, in bytes. */
export interface MemorySizes {
  memTotalBytes: number;
  swapTotalBytes: number;
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

export function memorySizes(meminfoText: string): MemorySizes {
  const fields = parseMeminfo(meminfoText);
  const memTotalBytes = fields.get('MemTotal');
  if (memTotalBytes === undefined) throw new ZlabError('device', '/proc/meminfo has no MemTotal line');
  return { memTotalBytes, swapTotalBytes: fields.get('SwapTotal') ?? 0 };
}
