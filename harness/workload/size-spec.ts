import { z } from 'zod';
import { UsageError } from '../util/errors.js';

/** A memory size as a user writes it: an amount with a unit, or a share of MemTotal. */
export type SizeSpec = { kind: 'bytes'; bytes: number } | { kind: 'percent'; percent: number };

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?$/i;
const PERCENT_RE = /^(\d+(?:\.\d+)?)\s*%$/;

/** Parse `1536M`, `1.5G`, `150%` (percent of MemTotal). `flag` names the option in errors. */
export function parseSize(flag: string, text: string): SizeSpec {
  const value = z.string().trim().min(1).safeParse(text);
  const trimmed = value.success ? value.data : '';
  const percent = PERCENT_RE.exec(trimmed);
  if (percent) {
    const p = Number(percent[1]);
    if (!(p > 0)) throw new UsageError(`${flag}: "${text}" must be more than 0%`);
    return { kind: 'percent', percent: p };
  }
  const size = SIZE_RE.exec(trimmed);
  if (!size) throw new UsageError(`${flag}: "${text}" is not a size; use 512M, 1.5G or 150% (of MemTotal)`);
  const bytes = Number(size[1]) * UNITS[size[2]!.toUpperCase()]!;
  if (!(bytes > 0)) throw new UsageError(`${flag}: "${text}" must be more than 0`);
  return { kind: 'bytes', bytes };
}

/** Resolve a size to whole MiB (rounded down, at least 1) given MemTotal in bytes. */
export function sizeToMib(spec: SizeSpec, memTotalBytes: number): number {
  const bytes = spec.kind === 'bytes' ? spec.bytes : (memTotalBytes * spec.percent) / 100;
  return Math.max(1, Math.floor(bytes / 1024 ** 2));
}

/** Parse a percentage `10%` or `10` in 0..100. */
export function parsePercent(flag: string, text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const parsed = z.coerce.number().min(0).max(100).safeParse(match?.[1]);
  if (!match || !parsed.success) throw new UsageError(`${flag}: "${text}" is not a percentage from 0% to 100%`);
  return parsed.data;
}
