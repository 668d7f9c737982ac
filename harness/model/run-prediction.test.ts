import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../util/errors.js';
import { compareRun } from './divergence.js';
import { parseModelInput, type ModelInputInput } from './model-input.js';
import { phonePreset } from './phone-preset.js';
import { predictRun, type MetricName, type RunPrediction } from './run-prediction.js';

const MiB = 1024 * 1024;

function metric(r: RunPrediction, name: MetricName) {
  const p = r.predictions.find((x) => x.metric === name);
  if (!p) throw new Error(`no prediction for ${name}`);
  return p;
}

describe("the seed's headline with phone-like parameters", () => {
  const stock = predictRun(parseModelInput(phonePreset(0)));
  const kcompressd = predictRun(parseModelInput(phonePreset(4)));

  it('stock kswapd reclaims about 300,000 anon pages/s', () => {
    expect(stock.pgstealAnonPerSec).toBeGreaterThan(290_000);
    expect(stock.pgstealAnonPerSec).toBeLessThan(310_000);
    expect(stock.bottleneck).toBe('kswapd');
  });

  it('four kcompressd threads with idle CPUs lift it to over 800,000/s', () => {
    expect(kcompressd.pgstealAnonPerSec).toBeGreaterThan(800_000);
    expect(kcompressd.pgstealAnonPerSec).toBeLessThan(840_000);
    expect(kcompressd.pgstealAnonPerSec / stock.pgstealAnonPerSec).toBeGreaterThan(2.6);
    expect(kcompressd.stockPgstealAnonPerSec).toBeCloseTo(stock.pgstealAnonPerSec, 6);
    // What must be true: kswapd is the bottleneck, never the compressors or the CPUs.
    expect(kcompressd.bottleneck).toBe('kswapd');
    expect(kcompressd.fallbackShare).toBe(0);
  });

  it('the headline needs free CPUs: with every CPU busy the gain is gone', () => {
    const busy = phonePreset(4);
    busy.device.backgroundCpus = 8;
    const r = predictRun(parseModelInput(busy));
    expect(r.pgstealAnonPerSec).toBeLessThanOrEqual(r.stockPgstealAnonPerSec);
  });

  it('the simulation reproduces it too', () => {
    const r = predictRun(parseModelInput(phonePreset(4)), { simulate: { pages: 20_000, seed: 5 } });
    expect(r.simulation!.pgstealAnonPerSec).toBeGreaterThan(0.97 * r.pgstealAnonPerSec);
    expect(r.simulation!.pgstealAnonPerSec).toBeLessThan(1.03 * r.pgstealAnonPerSec);
  });
});

describe('zram same_pages', () => {
  // 64 MiB available and 512 MiB of eater data: every page has to leave RAM.
  const input = (zeromap: boolean): ModelInputInput => ({
    device: { cpus: 2, ramBytes: 1024 * MiB, availableBytes: 64 * MiB, zeromap, zram: { disksizeBytes: 2048 * MiB, algorithm: 'lz4' } },
    workload: { sizeBytes: 512 * MiB, ratio: 3, pageCounts: { zero: 7_001, sameFilled: 13_107, compressible: 111_020 } },
    costs: { t1Us: 5, t2Us: 20 },
  });

  it('is exactly the same-filled pages when the whole buffer is out (6.12: zero pages go to the zeromap)', () => {
    const r = predictRun(parseModelInput(input(true)));
    const same = metric(r, 'zramSamePages');
    expect(same.kind).toBe('exact');
    expect(same.value).toBe(13_107);
    expect([same.low, same.high]).toEqual([13_107, 13_107]);
    expect(metric(r, 'pswpout').value).toBe(13_107 + 111_020);
  });

  it('counts zero pages too when no zeromap catches them first', () => {
    const r = predictRun(parseModelInput(input(false)));
    expect(metric(r, 'zramSamePages').value).toBe(13_107 + 7_001);
    expect(metric(r, 'pswpout').value).toBe(7_001 + 13_107 + 111_020);
  });

  it('one page off an exact prediction is flagged as a probable bug', () => {
    const r = predictRun(parseModelInput(input(true)));
    const report = compareRun(r.predictions, { zramSamePages: 13_108 });
    expect(report.worst).toBe('bug');
    expect(report.flagged[0]?.message).toMatch(/probably a bug in the kernel or in zlab/);
    expect(compareRun(r.predictions, { zramSamePages: 13_107 }).worst).toBe('none');
  });

  it('is a calibrated share when only part of the buffer is out', () => {
    const partial = input(true);
    partial.device.availableBytes = 400 * MiB;
    const same = metric(predictRun(parseModelInput(partial)), 'zramSamePages');
    expect(same.kind).toBe('calibrated');
    expect(same.value).toBeLessThan(13_107);
    expect(same.value).toBeGreaterThan(0);
  });

  it('stores same-filled pages without compressed bytes, raising orig/compr above the data ratio', () => {
    const r = predictRun(parseModelInput(input(true)));
    expect(metric(r, 'compressionRatio').value).toBeCloseTo((3 * (13_107 + 111_020)) / 111_020, 9);
  });
});

describe('a run with an eater', () => {
  const vm = (rateMiBps: number, threads = 0): ModelInputInput => ({
    device: { cpus: 2, ramBytes: 1024 * MiB, zram: { disksizeBytes: 2048 * MiB, algorithm: 'lz4' } },
    workload: { sizeBytes: 1536 * MiB, ratio: 3, rateMiBps },
    costs: { t1Us: 4, t2Us: 16 },
    design: { threads },
  });

  it('has no allocstalls while kswapd keeps up, and stalls once the eater is faster', () => {
    const slow = predictRun(parseModelInput(vm(100)));
    expect(slow.allocstallPerSec).toBe(0);
    expect(slow.pgstealAnonPerSec).toBeCloseTo((100 * MiB) / 4096, 6);
    expect(slow.kswapdCpuShare).toBeLessThan(1);
    const fast = predictRun(parseModelInput(vm(1000)));
    expect(fast.allocstallPerSec).toBeGreaterThan(0);
    expect(fast.kswapdCpuShare).toBeCloseTo(1, 9);
  });

  it('predicts the same allocstall rate as the simulation', () => {
    for (const threads of [0, 1]) {
      const r = predictRun(parseModelInput(vm(1000, threads)), { simulate: { pages: 20_000, seed: 9 } });
      expect(r.allocstallPerSec).toBeGreaterThan(0);
      expect(r.simulation!.allocstallPerSec).toBeGreaterThan(r.allocstallPerSec! * 0.9);
      expect(r.simulation!.allocstallPerSec).toBeLessThan(r.allocstallPerSec! * 1.1);
      expect(r.simulation!.pgstealAnonPerSec).toBeGreaterThan(r.pgstealAnonPerSec * 0.97);
      expect(r.simulation!.pgstealAnonPerSec).toBeLessThan(r.pgstealAnonPerSec * 1.03);
    }
  });

  it('a stock kernel predicts exactly zero kcompressd CPU', () => {
    const p = metric(predictRun(parseModelInput(vm(100))), 'kcompressdCpuShare');
    expect(p).toMatchObject({ kind: 'exact', value: 0, low: 0, high: 0 });
  });

  it('predicts no run totals without the RAM size', () => {
    const input = vm(100);
    delete input.device.ramBytes;
    const r = predictRun(parseModelInput(input));
    expect(r.memory).toBeNull();
    expect(r.predictions.map((p) => p.metric)).not.toContain('pswpout');
  });
});

describe('bad input', () => {
  it('names the missing compression cost', () => {
    const input = parseModelInput({ device: { cpus: 4, zram: { algorithm: 'zstd' } }, costs: { t1Us: 1, t2Points: [{ algorithm: 'lz4', dataClass: 'compressible', ratio: 3, usPerPage: 2 }] } });
    expect(() => predictRun(input)).toThrow(/no compression cost for zstd on compressible pages/);
  });

  it('refuses all-zero costs', () => {
    expect(() => predictRun(parseModelInput({ device: { cpus: 4 }, costs: { t1Us: 0, t2Us: 0 } }))).toThrow(UsageError);
  });

  it('names the bad field', () => {
    expect(() => parseModelInput({ device: { cpus: 0 }, costs: { t1Us: 1 } })).toThrow(/device\.cpus/);
    expect(() => parseModelInput({ device: { cpus: 2 }, costs: { t1Us: 1 }, workload: { sizeBytes: 4096, zeroFraction: 0.7, sameFilledFraction: 0.5 } })).toThrow(
      /zeroFraction \+ sameFilledFraction/,
    );
  });
});
