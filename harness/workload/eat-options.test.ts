import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../util/errors.js';
import { eaterArgs, parseEatOptions, planEat, ramNeededBytes } from './eat-options.js';
import { memorySizes } from './meminfo.js';
import { parseEatSize, sizeToMib } from './size-spec.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
// 1 GiB of RAM, all of it available, over 2 GiB of swap on disk
const memory = { memTotalBytes: 1 * GiB, swapTotalBytes: 2 * GiB, memAvailableBytes: 1 * GiB, anonPagesBytes: 0, swapFreeBytes: 2 * GiB, zramSwapFreeBytes: 0 };
// the virtual device as `zlab vm start` boots it: zram0 at 75% of RAM
const VIRTUAL_DEVICE = `MemTotal:         988492 kB
MemFree:          955432 kB
MemAvailable:     884500 kB
SwapTotal:        741364 kB
SwapFree:         741364 kB
AnonPages:           580 kB
Filename				Type		Size		Used		Priority
/dev/zram0                              partition	741364		0		-2
`;

describe('sizes', () => {
  it('reads units and percentages of MemTotal', () => {
    expect(sizeToMib(parseEatSize('--size', '1536M'), GiB)).toBe(1536);
    expect(sizeToMib(parseEatSize('--size', '1.5G'), GiB)).toBe(1536);
    expect(sizeToMib(parseEatSize('--size', '150%'), GiB)).toBe(1536);
    expect(sizeToMib(parseEatSize('--size', '512MiB'), GiB)).toBe(512);
    expect(sizeToMib(parseEatSize('--size', '2048k'), GiB)).toBe(2);
  });

  it.each(['12Q', '1536', '', '-5M', 'M', '0%', '0M', '1.5.1G', '50 %%'])('refuses %j naming the flag', (text) => {
    expect(() => parseEatSize('--size', text)).toThrow(UsageError);
    expect(() => parseEatSize('--size', text)).toThrow(/^--size: /);
  });
});

describe('eater options', () => {
  it('applies defaults and parses every option', () => {
    const r = parseEatOptions({ size: '1.5G', ratio: '3', sameFilled: '10%', zero: '5', file: '256M', rate: '200', workers: '2' });
    expect(r).toMatchObject({ ratio: 3, sameFilledPct: 10, zeroPct: 5, rateMibps: 200, workers: 2, periodMs: 100, retouch: 1, oomScoreAdj: -1000 });
    expect(r.file).toEqual({ bytes: 256 * 1024 ** 2 });
    expect(parseEatOptions({}).size).toEqual({ percent: 150 });
  });

  it.each([
    [{ ratio: '0.5' }, /^--ratio: "0.5" is not a ratio from 1 to 12/],
    [{ ratio: 'three' }, /^--ratio: /],
    [{ ratio: '40' }, /^--ratio: "40"/],
    [{ sameFilled: '120%' }, /^--same-filled: "120%" is not a percentage/],
    [{ zero: '-1' }, /^--zero: /],
    [{ sameFilled: '60%', zero: '50%' }, /add up to more than 100%/],
    [{ rate: '-5' }, /^--rate: "-5" is not a non-negative rate/],
    [{ workers: '0' }, /^--workers: /],
    [{ workers: '1.5' }, /^--workers: /],
    [{ periodMs: '0' }, /^--period-ms: /],
    [{ holdMs: '-1' }, /^--hold-ms: /],
    [{ retouch: 'x' }, /^--retouch: /],
    [{ oomScoreAdj: '-1001' }, /^--oom-score-adj: /],
    [{ size: 'lots' }, /^--size: "lots" is not a size/],
    [{ file: '10X' }, /^--file: /],
  ])('refuses %j', (input, message) => {
    expect(() => parseEatOptions(input)).toThrow(UsageError);
    expect(() => parseEatOptions(input)).toThrow(message);
  });

  it('refuses a target above RAM + swap unless overcommit is allowed', () => {
    expect(() => planEat(parseEatOptions({ size: '3.5G' }), memory)).toThrow(/--size: 3584 MiB is more than RAM \+ swap \(1024 MiB \+ 2048 MiB\).*--allow-overcommit/);
    expect(planEat(parseEatOptions({ size: '3.5G', allowOvercommit: true }), memory).sizeMib).toBe(3584);
    expect(planEat(parseEatOptions({ size: '3G' }), memory).sizeMib).toBe(3072);
  });

  it('counts what zram keeps in RAM: a size that fits in RAM + swap can still not fit', () => {
    const vd = memorySizes(VIRTUAL_DEVICE);
    const mix = { ratio: '3', sameFilled: '10%', zero: '5%' };
    // 1447 MiB: 724 MiB go to zram and take 205 MiB there, 723 MiB stay
    expect(Math.round(ramNeededBytes(parseEatOptions(mix), 1447, vd) / MiB)).toBe(928);
    expect(() => planEat(parseEatOptions({ ...mix, size: '150%' }), vd)).toThrow(UsageError);
    expect(() => planEat(parseEatOptions({ ...mix, size: '150%' }), vd)).toThrow(
      /^--size: 1447 MiB does not fit: with 724 MiB of free swap \(724 MiB of it zram, holding data pages compressed 3:1 in RAM\) the eater needs about 928 MiB of RAM, and at most 864 MiB can be had \(864 MiB available, 1 MiB held by other processes\);.*zlab zram set.*--allow-overcommit/,
    );
    expect(planEat(parseEatOptions({ ...mix, size: '150%', allowOvercommit: true }), vd).sizeMib).toBe(1447);
    expect(planEat(parseEatOptions({ ...mix, size: '140%' }), vd).sizeMib).toBe(1351);
    // other processes' memory could be swapped out or killed for the eater (a phone's apps)
    expect(planEat(parseEatOptions({ ...mix, size: '150%' }), { ...vd, anonPagesBytes: 100 * MiB }).sizeMib).toBe(1447);
    // the same device with 2 GiB of zram takes 150% easily
    const bigZram = { ...vd, swapTotalBytes: 2 * GiB, swapFreeBytes: 2 * GiB, zramSwapFreeBytes: 2 * GiB };
    expect(planEat(parseEatOptions({ ...mix, size: '150%' }), bigZram).sizeMib).toBe(1447);
    // swap in use is not free; incompressible data needs its full size
    expect(ramNeededBytes(parseEatOptions({ ratio: '1' }), 1000, { ...bigZram, swapFreeBytes: 0, zramSwapFreeBytes: 0 })).toBe(1000 * MiB);
    expect(ramNeededBytes(parseEatOptions({ ratio: '1' }), 1000, bigZram)).toBe(1000 * MiB);
    expect(ramNeededBytes(parseEatOptions({ ratio: '4', zero: '50%' }), 1000, bigZram)).toBe(125 * MiB);
  });

  it('builds the eater argument vector from a plan', () => {
    const plan = planEat(parseEatOptions({ size: '150%', ratio: '2.5', file: '10%', zero: '5%' }), memory);
    const args = eaterArgs(plan, { summary: '/d/s.json', file: '/d/f' });
    expect(args.slice(0, 4)).toEqual(['--size-mib', '1536', '--ratio', '2.5']);
    expect(args).toEqual(expect.arrayContaining(['--zero-pct', '5', '--file-mib', '102', '--file-path', '/d/f', '--summary', '/d/s.json']));
  });

  it('reads RAM and swap sizes from /proc/meminfo and /proc/swaps', () => {
    const sizes = memorySizes('MemTotal:        1004532 kB\nMemFree:  1000 kB\nSwapTotal:       2097148 kB\n');
    expect(sizes).toEqual({ memTotalBytes: 1004532 * 1024, swapTotalBytes: 2097148 * 1024, memAvailableBytes: 1000 * 1024, anonPagesBytes: 0, swapFreeBytes: 2097148 * 1024, zramSwapFreeBytes: 0 });
    const twoSwaps = `${VIRTUAL_DEVICE.replace('SwapFree:         741364', 'SwapFree:         841364')}/swapfile file 200000 100000 -3\n/dev/block/zram1 partition 1000 400 5\n`;
    expect(memorySizes(twoSwaps)).toMatchObject({ memAvailableBytes: 884500 * 1024, anonPagesBytes: 580 * 1024, swapFreeBytes: 841364 * 1024, zramSwapFreeBytes: (741364 + 600) * 1024 });
    expect(() => memorySizes('MemFree: 1 kB\n')).toThrow(/no MemTotal/);
  });
});
