import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../util/errors.js';
import { checkAdbPort, parseMemoryMiB, parseStartOptions, parseZramSize } from './vm-options.js';

describe('virtual device options', () => {
  it('reads memory sizes in MiB', () => {
    expect(parseMemoryMiB('1G')).toBe(1024);
    expect(parseMemoryMiB('1536M')).toBe(1536);
    expect(parseMemoryMiB('1.5G')).toBe(1536);
    expect(parseMemoryMiB(2048)).toBe(2048);
    expect(() => parseMemoryMiB('12Q')).toThrow(/--memory: "12Q" is not a size; use 512M, 1.5G, a number of MiB$/);
    expect(() => parseMemoryMiB('64M')).toThrow(/out of range/);
  });

  it('reads zram sizes as a share of RAM or bytes', () => {
    expect(parseZramSize('75%', 1024)).toBe('75%');
    expect(parseZramSize('2G', 1024)).toBe(String(2 * 1024 ** 3));
    expect(parseZramSize('512M', 1024)).toBe(String(512 * 1024 ** 2));
    expect(() => parseZramSize('lots', 1024)).toThrow(/--zram-size: "lots" is not a size/);
    expect(() => parseZramSize('0%', 1024)).toThrow(UsageError);
    expect(() => parseZramSize('8G', 1024)).toThrow(/more than four times/);
  });

  it("keeps adb ports out of the emulator scan range", () => {
    expect(checkAdbPort(40000)).toBe(40000);
    expect(() => checkAdbPort(5555)).toThrow(/emulator range 5555-5585/);
    expect(() => checkAdbPort(5585)).toThrow(UsageError);
    expect(() => checkAdbPort(80)).toThrow(/not a TCP port/);
  });

  it('names the bad field', () => {
    expect(() => parseStartOptions({ zramAlgorithm: 'gzip' })).toThrow(/zramAlgorithm/);
    expect(() => parseStartOptions({ cpus: 0 })).toThrow(/cpus/);
    expect(() => parseStartOptions({ name: 'a b' })).toThrow(/name/);
    expect(parseStartOptions({ cpus: 4, zramAlgorithm: 'zstd' })).toEqual({ cpus: 4, zramAlgorithm: 'zstd' });
  });
});
