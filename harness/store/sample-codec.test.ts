import { describe, expect, it } from '@jest/globals';
import { decodeSeries, encodeSeries, sampleEncoding } from './sample-codec.js';

describe('sample codec', () => {
  it('round-trips exactly, including fractions, negatives and non-finite values', () => {
    const values = [100.123456789, 100.623456789, -3.5, 0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 - 1, 1e-300];
    const back = decodeSeries(encodeSeries(values), sampleEncoding, values.length);
    expect(back).toEqual(values);
    expect(decodeSeries(encodeSeries([]), sampleEncoding, 0)).toEqual([]);
  });

  it('packs a slowly rising counter far below 8 bytes a point', () => {
    const counter = Array.from({ length: 2000 }, (_, i) => 1_000_000 + i * 2500 + (i % 7));
    const bytes = encodeSeries(counter).length;
    expect(bytes).toBeLessThan(counter.length * 8 * 0.5);
  });

  it('refuses an unknown encoding and a wrong length', () => {
    const data = encodeSeries([1, 2, 3]);
    expect(() => decodeSeries(data, 'json', 3)).toThrow(/encoding "json"/);
    expect(() => decodeSeries(data, sampleEncoding, 4)).toThrow(/expected 32 for 4 points/);
  });
});
