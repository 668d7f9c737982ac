import { describe, expect, it } from '@jest/globals';
import { summarizeDivergence } from './model-divergence.js';

describe('summarizeDivergence', () => {
  const predictions = [
    { metric: 'pgsteal_anon_per_s', predicted: 50_000, low: 40_000, high: 60_000, kind: 'calibrated' },
    { metric: 'compression_ratio', predicted: 2.6, low: 2.0, high: 3.2, kind: 'rough' },
    { metric: 'same_pages', predicted: 1024, low: 1024, high: 1024, kind: 'exact' },
    { metric: 'corrupt_pages', predicted: 0, low: 0, high: 0, kind: 'exact' },
  ];

  it('marks out-of-band measurements, and exact ones as failures', () => {
    const s = summarizeDivergence(predictions, { pgsteal_anon_per_s: 65_000, compression_ratio: 2.5, same_pages: 1023 });
    const by = Object.fromEntries(s.rows.map((r) => [r.metric, r]));
    expect(by.pgsteal_anon_per_s!.severity).toBe('divergent');
    expect(by.pgsteal_anon_per_s!.relativeError).toBeCloseTo(0.3, 9);
    expect(by.compression_ratio!.severity).toBe('ok');
    expect(by.same_pages!.severity).toBe('failure');
    expect(by.corrupt_pages!.severity).toBe('unmeasured');
    expect([s.divergent, s.failures, s.unmeasured]).toEqual([1, 1, 1]);
  });

  it('passes an exact prediction met exactly', () => {
    const s = summarizeDivergence(predictions.slice(3), { corrupt_pages: 0 });
    expect(s.rows[0]!.severity).toBe('ok');
    expect(s.rows[0]!.relativeError).toBeNull();
  });

  it('names the bad field of a malformed prediction', () => {
    expect(() => summarizeDivergence([{ metric: 'x', predicted: 1, low: 0, high: 2, kind: 'guess' }], {})).toThrow(/predictions\[0\]\.kind/);
    expect(() => summarizeDivergence([{ metric: 'x', predicted: 5, low: 0, high: 2, kind: 'rough' }], {})).toThrow(/low ≤ predicted ≤ high/);
  });
});
