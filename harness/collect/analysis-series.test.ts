import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeRunMetrics } from '../analysis/run-metrics.js';
import { toAnalysisSeries } from './analysis-series.js';
import { parseSamplerRecord } from './sampler-record.js';

const sampler = join(import.meta.dirname, '..', '..', 'device-scripts', 'out', 'x86_64', 'sampler');

describe('toAnalysisSeries', () => {
  it('turns a real sampler record from this host into the series the metrics read', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'zlab-series-')), 'rec');
    await execa(sampler, ['--out', out, '--period-ms', '20', '--count', '5']);
    const series = toAnalysisSeries(parseSamplerRecord(readFileSync(out, 'utf8')));
    expect(series.t).toHaveLength(5);
    expect(series.t[1]! - series.t[0]!).toBeGreaterThan(0.01);
    for (const name of ['pgsteal_anon', 'pswpout', 'mem_free_kb']) expect(series.values[name]).toHaveLength(5);
    if (series.values.psi_some_total_us) expect(series.values.psi_some_total_us[4]).toBeGreaterThanOrEqual(series.values.psi_some_total_us[0]!);
    // kswapd runs on every Linux host; its CPU counts from when it was first seen.
    expect(series.values.kswapd_cpu_s?.[0]).toBe(0);
    const { metrics } = computeRunMetrics(series, { window: { start: series.t[0]!, end: series.t[4]! } });
    expect(metrics.pgsteal_anon_per_s).toBeGreaterThanOrEqual(0);
    expect(metrics.kswapd_cpu_share).toBeGreaterThanOrEqual(0);
  });
});
