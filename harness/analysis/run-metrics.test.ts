import { describe, expect, it } from '@jest/globals';
import { computeRunMetrics } from './run-metrics.js';
import { syntheticRun } from './synthetic-run.js';

describe('computeRunMetrics', () => {
  const run = syntheticRun({
    seed: 11,
    noise: 0.02,
    rates: {
      pgsteal_anon: 6000,
      pgsteal_file: 500,
      allocstall_normal: 30,
      allocstall_movable: 10,
      pswpout: 5800,
      kswapd_cpu_s: 0.8,
      psi_some_total_us: 250_000,
      psi_full_total_us: 50_000,
      zram_orig_data_size: 6000 * 4096,
      zram_compr_data_size: 2000 * 4096,
    },
    gauges: { temp_cpu: 45, temp_battery: 31 },
  });

  it('turns counters over the steady window into rates with known truth', () => {
    const { window, metrics } = computeRunMetrics(run);
    expect(window.end - window.start).toBeGreaterThan(20);
    expect(metrics.pgsteal_anon_per_s).toBeGreaterThan(6000 * 0.97);
    expect(metrics.pgsteal_anon_per_s).toBeLessThan(6000 * 1.03);
    expect(metrics.pgsteal_file_per_s).toBeCloseTo(500, -1);
    // allocstall is the sum of its per-zone series.
    expect(metrics.allocstall_per_s).toBeGreaterThan(37);
    expect(metrics.allocstall_per_s).toBeLessThan(43);
    expect(metrics.kswapd_cpu_share).toBeCloseTo(0.8, 1);
    expect(metrics.psi_some_share).toBeCloseTo(0.25, 1);
    expect(metrics.psi_full_share).toBeCloseTo(0.05, 1);
    expect(metrics.compression_ratio).toBeCloseTo(3, 0);
    expect(metrics.peak_temp_c).toBeGreaterThan(45);
    expect(metrics.peak_temp_c).toBeLessThan(52);
    expect(metrics.window_s).toBeCloseTo(window.end - window.start, 9);
  });

  it('leaves out metrics whose series are missing instead of reporting zero', () => {
    const { metrics } = computeRunMetrics(run);
    expect(metrics).not.toHaveProperty('kcompressd_cpu_share');
  });

  it('accepts an explicit window and renamed series', () => {
    const renamed = { t: run.t, values: { steal: run.values.pgsteal_anon! } };
    const { metrics } = computeRunMetrics(renamed, { names: { pgstealAnon: 'steal' }, window: { start: 120, end: 140 } });
    expect(metrics.window_s).toBe(20);
    expect(metrics.pgsteal_anon_per_s).toBeGreaterThan(5800);
  });

  it('says when there was no reclaim to measure', () => {
    expect(() => computeRunMetrics(syntheticRun({ rates: { pgsteal_anon: 0 } }))).toThrow(/no steady reclaim window/);
    expect(() => computeRunMetrics({ t: [1, 1], values: {} })).toThrow(/time does not increase at t\[1\]/);
    expect(() => computeRunMetrics({ t: [1, 2], values: { pgsteal_anon: [1] } })).toThrow(/has 1 points, t has 2/);
  });
});
