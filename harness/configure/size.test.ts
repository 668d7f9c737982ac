import { describe, expect, it } from '@jest/globals';
import { formatBytes, parseSize, sizeInBytes } from './size.js';
import { frequencyIn, parseFrequency } from './frequency.js';

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

  it('formats sizes back', () => {
    expect(formatBytes(2 * 1024 ** 3)).toBe('2G');
    expect(formatBytes(4097)).toBe('4097');
  });
});

describe('parseFrequency', () => {
  it('keeps bare numbers in the file unit and converts units', () => {
    expect(frequencyIn(parseFrequency(1804800, 'f'), 1000)).toBe(1804800);
    expect(frequencyIn(parseFrequency('1.8GHz', 'f'), 1000)).toBe(1800000);
    expect(frequencyIn(parseFrequency('800MHz', 'f'), 1)).toBe(800_000_000);
    expect(frequencyIn(parseFrequency('300000kHz', 'f'), 1000)).toBe(300000);
  });

  it.each(['fast', '1.8 GHz; reboot', '0', '-5MHz', '2THz'])('refuses %j', (text) => {
    expect(() => parseFrequency(text, 'cpufreq.all.max')).toThrow(/cpufreq\.all\.max/);
  });

  it('refuses zero and fractions', () => {
    expect(() => parseFrequency(0, 'f')).toThrow();
    expect(() => parseFrequency(1.5, 'f')).toThrow();
  });
});
