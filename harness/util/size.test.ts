import { describe, expect, it } from '@jest/globals';
import { formatBytes, parseSize, sizeInBytes } from './size.js';

describe('parseSize', () => {
  it.each([
    ['2G', 2 * 1024 ** 3],
    ['512M', 512 * 1024 ** 2],
    ['1.5G', 1.5 * 1024 ** 3],
    ['64k', 65536],
    ['2GiB', 2 * 1024 ** 3],
    ['4096', 4096],
  ])('reads %s as %d bytes', (text, bytes) => {
    expect(parseSize(text, 'x')).toEqual({ bytes });
  });

  it('takes byte counts as numbers and percentages of RAM', () => {
    expect(parseSize(1048576, 'x')).toEqual({ bytes: 1048576 });
    expect(sizeInBytes(parseSize('75%', 'x'), 1000, 'x')).toBe(750);
  });

  it.each(['12Q', '-1G', '1e9', '', 'G', '2G; reboot', '$(id)', '1.G', '9'.repeat(40)])('refuses %j naming the field', (text) => {
    expect(() => parseSize(text, 'zram.disksize')).toThrow(/zram\.disksize/);
  });

  it('refuses fractions of a byte, negative and huge numbers', () => {
    for (const n of [1.5, -1, 2 ** 60]) expect(() => parseSize(n, 'f')).toThrow(/not a byte count/);
  });

  it('needs MemTotal for a percentage', () => {
    expect(() => sizeInBytes({ percent: 50 }, null, 'zram.disksize')).toThrow(/MemTotal/);
  });

  it('takes bare numbers in the unit the caller names, or asks for a unit', () => {
    expect(parseSize('2048', '--memory', { bareUnit: 'MiB' })).toEqual({ bytes: 2 * 1024 ** 3 });
    expect(parseSize(1536, '--memory', { bareUnit: 'MiB' })).toEqual({ bytes: 1536 * 1024 ** 2 });
    expect(parseSize('4096B', '--memory', { bareUnit: 'MiB' })).toEqual({ bytes: 4096 });
    expect(() => parseSize('1536', '--size', { bareUnit: null })).toThrow(/^--size: "1536" has no unit; use 512M, 1.5G or 75%$/);
    expect(() => parseSize(1536, '--size', { bareUnit: null })).toThrow(/^--size: 1536 has no unit/);
  });

  it('refuses a percentage where RAM is not the measure', () => {
    expect(() => parseSize('50%', '--memory', { bareUnit: 'MiB', percent: false })).toThrow(/^--memory: "50%" is not a size; use 512M, 1.5G, a number of MiB$/);
  });

  it('formats sizes back', () => {
    expect(formatBytes(2 * 1024 ** 3)).toBe('2G');
    expect(formatBytes(4097)).toBe('4097');
  });
});
