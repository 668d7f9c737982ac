import { UsageError } from './errors.js';

/**
 * Sizes as people write them in plans and on command lines — the one grammar
 * for every size zlab reads: a number with a binary suffix (K, M, G, T, with an
 * optional "iB"/"B"; "2G" = 2 GiB, as the kernel's memparse reads it), a bare
 * number in the caller's unit, or a percentage of the device's RAM ("75%", as
 * in Android fstab's zramsize).
 */
export type Size = { bytes: number } | { percent: number };

export interface SizeGrammar {
  /** What a bare number counts: bytes (the default), MiB (as QEMU's -m), or nothing (a unit is required). */
  bareUnit?: 'bytes' | 'MiB' | null;
  /** Whether "75%" is accepted (default true). */
  percent?: boolean;
}

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const SIZE = /^(\d{1,15}(?:\.\d{1,6})?)\s?([KMGT]?)(i?B)?$/i;
const PERCENT = /^(\d{1,3}(?:\.\d{1,3})?)%$/;
/** Larger than any zram device or RAM this harness will meet; keeps arithmetic exact. */
export const MAX_SIZE_BYTES = 2 ** 50;

function hint(grammar: SizeGrammar): string {
  const bare = grammar.bareUnit === null ? '' : grammar.bareUnit === 'MiB' ? ', a number of MiB' : ', a byte count';
  return `use 512M, 1.5G${bare}${grammar.percent === false ? '' : ' or 75%'}`;
}

/** Parse a size; errors begin with `field`. */
export function parseSize(value: string | number, field: string, grammar: SizeGrammar = {}): Size {
  const bareUnit = grammar.bareUnit === undefined ? 'bytes' : grammar.bareUnit;
  if (typeof value === 'number') {
    if (bareUnit === null) throw new UsageError(`${field}: ${value} has no unit; ${hint(grammar)}`);
    const bytes = bareUnit === 'MiB' ? value * 1024 ** 2 : value;
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_SIZE_BYTES) {
      throw new UsageError(`${field}: ${value} is not a ${bareUnit === 'MiB' ? 'number of MiB' : 'byte count'}; ${hint(grammar)}`);
    }
    return { bytes };
  }
  const text = value.trim();
  const percent = PERCENT.exec(text);
  if (percent && grammar.percent !== false) {
    const p = Number(percent[1]);
    if (p > 400) throw new UsageError(`${field}: "${value}" is more than 400% of RAM`);
    return { percent: p };
  }
  const match = SIZE.exec(text);
  if (!match) throw new UsageError(`${field}: ${JSON.stringify(value.slice(0, 80))} is not a size; ${hint(grammar)}`);
  const suffix = (match[2] ?? '').toUpperCase();
  let unit: number;
  if (suffix) unit = UNITS[suffix]!;
  else if (match[3]?.toUpperCase() === 'B' || bareUnit === 'bytes') unit = 1;
  else if (bareUnit === 'MiB') unit = 1024 ** 2;
  else throw new UsageError(`${field}: "${value}" has no unit; ${hint(grammar)}`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes > MAX_SIZE_BYTES) throw new UsageError(`${field}: "${value}" is larger than ${MAX_SIZE_BYTES} bytes`);
  return { bytes };
}

/** Bytes for a size, given the device's RAM for percentages. */
export function sizeInBytes(size: Size, memTotalBytes: number | null, field: string): number {
  if ('bytes' in size) return size.bytes;
  if (memTotalBytes === null) throw new UsageError(`${field}: ${size.percent}% needs the device's MemTotal, which it did not report`);
  return Math.round((memTotalBytes * size.percent) / 100);
}

/** 2147483648 → "2G": for messages and tables. */
export function formatBytes(bytes: number): string {
  for (const [suffix, unit] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}
