import { describe, expect, it } from '@jest/globals';
import { decodeOsVersion, encodeOsVersion } from './os-version.js';
import { UsageError } from '../util/errors.js';

describe('os_version', () => {
  it('packs A.B.C and year/month into their bit fields', () => {
    const raw = encodeOsVersion({ version: '12.1.3', patchLevel: '2024-05' });
    expect(raw >>> 25).toBe(12);
    expect((raw >>> 18) & 0x7f).toBe(1);
    expect((raw >>> 11) & 0x7f).toBe(3);
    expect((raw >>> 4) & 0x7f).toBe(24);
    expect(raw & 0xf).toBe(5);
    expect(decodeOsVersion(raw)).toEqual({ version: '12.1.3', patchLevel: '2024-05', raw });
  });

  it('keeps the word unsigned when the major version sets bit 31', () => {
    const raw = encodeOsVersion({ version: '127.127.127', patchLevel: '2127-12' });
    expect(raw).toBe(0xffffffff - 3);
    expect(decodeOsVersion(raw).version).toBe('127.127.127');
    expect(decodeOsVersion(raw).patchLevel).toBe('2127-12');
  });

  it('treats missing parts as zero and an unset patch level as null', () => {
    expect(decodeOsVersion(encodeOsVersion({ version: '14' }))).toEqual({ version: '14.0.0', patchLevel: null, raw: 14 << 25 });
    expect(encodeOsVersion({})).toBe(0);
    expect(decodeOsVersion(0).patchLevel).toBeNull();
    expect(encodeOsVersion({ patchLevel: '2023-11-05' })).toBe((23 << 4) | 11);
  });

  it('refuses values that do not fit their fields, naming them', () => {
    expect(() => encodeOsVersion({ version: '128' })).toThrow(/os_version: "128" has a part above 127/);
    expect(() => encodeOsVersion({ version: 'eleven' })).toThrow(UsageError);
    expect(() => encodeOsVersion({ patchLevel: '2024-13' })).toThrow(/os_patch_level: month 13/);
    expect(() => encodeOsVersion({ patchLevel: '1999-01' })).toThrow(/os_patch_level: year 1999/);
    expect(() => decodeOsVersion((24 << 4) | 13)).toThrow(/month 13/);
    expect(() => decodeOsVersion(-1)).toThrow(/not a 32-bit/);
  });
});
