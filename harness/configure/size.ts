import { UsageError } from '../util/errors.js';

/**
 * Sizes as people write them in plans and on command lines: a byte count,
 * a number with a binary suffix (K, M, G, T; "2G" = 2 GiB, as the kernel's
 * memparse reads it) or a percentage of the device's RAM ("75%", as in
 * Android fstab's zramsize).
 */
export type Size = { bytes: number } | { percent: number };

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const SIZE = /^(\d{1,15}(?:\.\d{1,6})?)\s?([KMGT]?)(?:i?B)?$/i;
const PERCENT = /^(\d{1,3}(?:\.\d{1,3})?)%$/;
/** Larger than any zram device or RAM this harness will meet; keeps arithmetic exact. */
export const MAX_SIZE_BYTES = 2 ** 50;

export function parseSize(value: string | number, field: string): Size {
  const hint = 'use a byte count, 512M, 1.5G or 75%';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_SIZE_BYTES) {
      throw new UsageError(`${field}: ${value} is not a byte count; ${hint}`);
    }
    return { bytes: value };
  }
  const text = value.trim();
  const percent = PERCENT.exec(text);
  if (percent) {
    const p = Number(percent[1]);
    if (p > 400) throw new UsageError(`${field}: "${value}" is more than 400% of RAM`);
    return { percent: p };
  }
  const match = SIZE.exec(text);
  if (!match) throw new UsageError(`${field}: ${JSON.stringify(value.slice(0, 80))} is not a size; ${hint}`);
  const bytes = Math.round(Number(match[1]) * UNITS[(match[2] ?? '').toUpperCase()]!);
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
