import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import type { MemorySizes } from './meminfo.js';
import { parseEatSize, parsePercent, sizeToMib, type Size } from './size-spec.js';

/** The highest ratio the eater's generator is calibrated for (PAGEGEN_MAX_RATIO). */
export const MAX_RATIO = 12;

/** Options of an eater run as the command line gives them (strings, unvalidated). */
export interface EatOptionsInput {
  size?: string;
  ratio?: string;
  sameFilled?: string;
  zero?: string;
  file?: string;
  periodMs?: string;
  workers?: string;
  rate?: string;
  holdMs?: string;
  retouch?: string;
  seed?: string;
  oomScoreAdj?: string;
  allowOvercommit?: boolean;
}

/** A validated eater request; sizes still relative until the device's memory is known. */
export interface EatRequest {
  size: Size;
  ratio: number;
  sameFilledPct: number;
  zeroPct: number;
  file: Size | null;
  periodMs: number;
  workers: number;
  rateMibps: number;
  holdMs: number;
  retouch: number;
  seed: number;
  oomScoreAdj: number;
  allowOvercommit: boolean;
}

/** A request resolved against one device's memory. */
export interface EatPlan extends EatRequest {
  sizeMib: number;
  fileMib: number;
  memTotalBytes: number;
  swapTotalBytes: number;
}

export const EAT_DEFAULTS = {
  size: '150%',
  ratio: '3',
  sameFilled: '0',
  zero: '0',
  periodMs: '100',
  workers: '1',
  rate: '0',
  holdMs: '2000',
  retouch: '1',
  seed: '1',
  oomScoreAdj: '-1000',
} as const;

function numberOption(flag: string, text: string, schema: z.ZodNumber, what: string): number {
  const trimmed = text.trim();
  const parsed = schema.safeParse(/^[-+]?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN);
  if (!parsed.success) throw new UsageError(`${flag}: "${text}" is not ${what}`);
  return parsed.data;
}

/** Validate every option before anything touches a device. */
export function parseEatOptions(input: EatOptionsInput): EatRequest {
  const o = { ...EAT_DEFAULTS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  const ratio = numberOption('--ratio', o.ratio, z.number().min(1).max(MAX_RATIO), `a ratio from 1 to ${MAX_RATIO} (3 means 3:1)`);
  const sameFilledPct = parsePercent('--same-filled', o.sameFilled);
  const zeroPct = parsePercent('--zero', o.zero);
  if (sameFilledPct + zeroPct > 100) {
    throw new UsageError(`--same-filled ${sameFilledPct}% and --zero ${zeroPct}% add up to more than 100%`);
  }
  const rate = o.rate.trim().replace(/M(i?B)?\/?s?$/i, '');
  return {
    size: parseEatSize('--size', o.size),
    ratio,
    sameFilledPct,
    zeroPct,
    file: input.file === undefined ? null : parseEatSize('--file', input.file),
    periodMs: numberOption('--period-ms', o.periodMs, z.number().int().min(1).max(60_000), 'a whole number of milliseconds from 1 to 60000'),
    workers: numberOption('--workers', o.workers, z.number().int().min(1).max(64), 'a whole number of workers from 1 to 64'),
    rateMibps: numberOption('--rate', rate, z.number().min(0), 'a non-negative rate in MiB/s (0: as fast as possible)'),
    holdMs: numberOption('--hold-ms', o.holdMs, z.number().int().min(0).max(86_400_000), 'a whole number of milliseconds from 0 to 86400000'),
    retouch: numberOption('--retouch', o.retouch, z.number().int().min(0).max(100), 'a number of re-touch passes from 0 to 100'),
    seed: numberOption('--seed', o.seed, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), 'a non-negative whole number'),
    oomScoreAdj: numberOption('--oom-score-adj', o.oomScoreAdj, z.number().int().min(-1000).max(1000), 'a whole number from -1000 to 1000'),
    allowOvercommit: input.allowOvercommit === true,
  };
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/**
 * RAM the eater's pages need once swap has taken all it can: what does not fit
 * in free swap stays resident, and what goes to zram still takes RAM,
 * compressed — data pages at the requested ratio, while zero and same-filled
 * pages take none (the swap zeromap, zram's same_pages). The file component's
 * page cache is reclaimable and not counted.
 */
export function ramNeededBytes(request: Pick<EatRequest, 'ratio' | 'zeroPct' | 'sameFilledPct'>, sizeMib: number, memory: MemorySizes): number {
  const size = sizeMib * 1024 ** 2;
  const toZram = Math.min(size, memory.zramSwapFreeBytes);
  const toOtherSwap = Math.min(size - toZram, memory.swapFreeBytes - memory.zramSwapFreeBytes);
  const dataShare = (100 - request.zeroPct - request.sameFilledPct) / 100;
  return size - toZram - toOtherSwap + (toZram * dataShare) / request.ratio;
}

/**
 * Resolve sizes against the device's memory. A target above RAM + swap, or one
 * whose pages need more RAM (ramNeededBytes) than could be had at all — what
 * is available plus every other process's anonymous memory — needs the
 * override: the eater is unkillable by default, so the kernel would kill
 * everything else and then panic. On the virtual device (1 GiB, zram 724 MiB)
 * 140% of RAM ran needing 96% of that and 150% needing 107% did not.
 */
export function planEat(request: EatRequest, memory: MemorySizes): EatPlan {
  const sizeMib = sizeToMib(request.size, memory.memTotalBytes);
  const fileMib = request.file ? sizeToMib(request.file, memory.memTotalBytes) : 0;
  const limit = memory.memTotalBytes + memory.swapTotalBytes;
  if (sizeMib * 1024 ** 2 > limit && !request.allowOvercommit) {
    throw new UsageError(
      `--size: ${sizeMib} MiB is more than RAM + swap (${mib(memory.memTotalBytes)} + ${mib(memory.swapTotalBytes)}); ` +
        'the kernel would have to kill something. Pass --allow-overcommit to run it anyway',
    );
  }
  const needed = ramNeededBytes(request, sizeMib, memory);
  const obtainable = memory.memAvailableBytes + memory.anonPagesBytes;
  if (needed > obtainable && !request.allowOvercommit) {
    throw new UsageError(
      `--size: ${sizeMib} MiB does not fit: with ${mib(memory.swapFreeBytes)} of free swap ` +
        `(${mib(memory.zramSwapFreeBytes)} of it zram, holding data pages compressed ${request.ratio}:1 in RAM) ` +
        `the eater needs about ${mib(needed)} of RAM, and at most ${mib(obtainable)} can be had ` +
        `(${mib(memory.memAvailableBytes)} available, ${mib(memory.anonPagesBytes)} held by other processes); ` +
        'the kernel would have to kill everything else. Eat less, give zram more room (zlab zram set), or pass --allow-overcommit to run it anyway',
    );
  }
  return { ...request, sizeMib, fileMib, memTotalBytes: memory.memTotalBytes, swapTotalBytes: memory.swapTotalBytes };
}

/** The eater's argument vector for a plan (quote with shellCommand before it reaches a shell). */
export function eaterArgs(plan: EatPlan, paths: { summary: string; file: string }): string[] {
  const args = [
    '--size-mib', String(plan.sizeMib),
    '--ratio', String(plan.ratio),
    '--zero-pct', String(plan.zeroPct),
    '--same-pct', String(plan.sameFilledPct),
    '--seed', String(plan.seed),
    '--workers', String(plan.workers),
    '--rate-mibps', String(plan.rateMibps),
    '--hold-ms', String(plan.holdMs),
    '--retouch', String(plan.retouch),
    '--oom-score-adj', String(plan.oomScoreAdj),
    '--summary', paths.summary,
  ];
  if (plan.fileMib > 0) args.push('--file-mib', String(plan.fileMib), '--file-path', paths.file);
  return args;
}
