import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { parseSize, sizeInBytes, type Size } from '../util/size.js';

/** A memory size as a user writes it: an amount with a unit, or a share of MemTotal. */
export type { Size } from '../util/size.js';

/** Parse `1536M`, `1.5G`, `150%` (percent of MemTotal); a unit is required. `flag` names the option in errors. */
export function parseEatSize(flag: string, text: string): Size {
  const size = parseSize(text, flag, { bareUnit: null });
  if (!('bytes' in size ? size.bytes > 0 : size.percent > 0)) throw new UsageError(`${flag}: "${text}" must be more than 0`);
  return size;
}

/** Resolve a size to whole MiB (rounded down, at least 1) given MemTotal in bytes. */
export function sizeToMib(size: Size, memTotalBytes: number): number {
  return Math.max(1, Math.floor(sizeInBytes(size, memTotalBytes, 'size') / 1024 ** 2));
}

/** Parse a percentage `10%` or `10` in 0..100. */
export function parsePercent(flag: string, text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const parsed = z.coerce.number().min(0).max(100).safeParse(match?.[1]);
  if (!match || !parsed.success) throw new UsageError(`${flag}: "${text}" is not a percentage from 0% to 100%`);
  return parsed.data;
}
