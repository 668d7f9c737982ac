import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../util/errors.js';
import { zramSetConfiguration } from './zram-flags.js';

describe('zramSetConfiguration', () => {
  it('turns the flags into the configuration a file would give', () => {
    expect(zramSetConfiguration({ algorithm: 'lz4', disksize: '2G' })).toEqual({ zram: { device: 0, algorithm: 'lz4', disksize: { bytes: 2 * 1024 ** 3 } } });
    expect(zramSetConfiguration({ device: '1', level: '3', streams: '4', priority: '100', swap: false, memLimit: '0', backingDev: 'none' })).toEqual({
      zram: { device: 1, algorithm_params: { level: 3 }, max_comp_streams: 4, priority: 100, swap: false, mem_limit: { bytes: 0 }, backing_dev: 'none' },
    });
  });

  it('refuses an empty request', () => {
    expect(() => zramSetConfiguration({})).toThrow(/nothing to set/);
    expect(() => zramSetConfiguration({ device: '0' })).toThrow(/nothing to set/);
  });

  it.each([
    [{ priority: '1e3' }, /--priority: "1e3" is not a whole number/],
    [{ streams: '4; reboot' }, /--streams: .* is not a whole number/],
    [{ algorithm: 'lz4;reboot' }, /zram set: zram\.algorithm: is not an algorithm name/],
    [{ disksize: '$(reboot)' }, /zram set: zram\.disksize: .* is not a size/],
    [{ backingDev: '/dev/loop0 `reboot`' }, /zram set: zram\.backing_dev: is not a device path/],
    [{ device: '40', algorithm: 'lz4' }, /zram\.device: Too big/],
  ])('refuses %j with the flag or field named', (flags, message) => {
    let caught: unknown;
    try {
      zramSetConfiguration(flags);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).message).toMatch(message);
  });
});
