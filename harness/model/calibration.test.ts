import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrateFromMeasurements, makeCalibration, meanT2, scanCostsFromBaseline, t2FromSamples, type BaselineRun } from './calibration.js';
import { calibrationPath, findCalibration, listCalibrations, readCalibrationFile, saveCalibration } from './calibration-store.js';
import { CostsSchema, compressCostUs } from './costs.js';

describe('t2 from compression samples', () => {
  it('is CPU time over pages, pooled per algorithm × class × ratio', () => {
    const points = t2FromSamples([
      { algorithm: 'lz4', dataClass: 'compressible', ratio: 3, bytes: 4096 * 1000, cpuUs: 2000 },
      { algorithm: 'lz4', dataClass: 'compressible', ratio: 3, bytes: 4096 * 3000, cpuUs: 9000 },
      { algorithm: 'zstd', dataClass: 'compressible', ratio: 3, bytes: 4096 * 100, cpuUs: 600 },
      { algorithm: 'lz4', dataClass: 'sameFilled', bytes: 4096 * 500, cpuUs: 100 },
    ]);
    expect(points).toEqual([
      { algorithm: 'lz4', dataClass: 'compressible', ratio: 3, usPerPage: 11000 / 4000 },
      { algorithm: 'lz4', dataClass: 'sameFilled', usPerPage: 0.2 },
      { algorithm: 'zstd', dataClass: 'compressible', ratio: 3, usPerPage: 6 },
    ]);
  });

  it('feeds the cost lookup, interpolating between ratios', () => {
    const costs = CostsSchema.parse({
      t1Us: 1,
      t2Points: t2FromSamples([
        { algorithm: 'lz4', dataClass: 'compressible', ratio: 2, bytes: 4096, cpuUs: 4 },
        { algorithm: 'lz4', dataClass: 'compressible', ratio: 4, bytes: 4096, cpuUs: 2 },
      ]),
    });
    expect(compressCostUs(costs, 'lz4', 'compressible', 3)).toBeCloseTo(3, 12);
    expect(compressCostUs(costs, 'lz4', 'compressible', 8)).toBe(2);
    expect(() => compressCostUs(costs, 'zstd', 'compressible', 3)).toThrow(/zstd/);
  });

  it('refuses samples it cannot use, naming them', () => {
    expect(() => t2FromSamples([])).toThrow(/at least one/);
    expect(() => t2FromSamples([{ algorithm: 'lz4', dataClass: 'compressible', bytes: 4096, cpuUs: 1 }])).toThrow(/sample 0: a compressible sample needs the ratio/);
    expect(() => t2FromSamples([{ algorithm: 'lz4', dataClass: 'zero', bytes: -1, cpuUs: 1 }])).toThrow(/sample 0: bytes/);
    expect(() => t2FromSamples([{ algorithm: 'snappy' as 'lz4', dataClass: 'zero', bytes: 1, cpuUs: 1 }])).toThrow(/sample 0: algorithm/);
  });
});

describe('t1 and t3 from stock baseline runs', () => {
  const t1 = 3.7;
  const t3 = 1.9;
  const run = (anon: number, file: number, t2: number): BaselineRun => ({
    kswapdCpuUs: anon * (t1 + t2) + file * t3,
    anonSteals: anon,
    fileSteals: file,
    t2UsPerAnonPage: t2,
  });

  it('recovers t1 from one anon-only run', () => {
    const r = scanCostsFromBaseline([run(500_000, 0, 9.5)]);
    expect(r.t1Us).toBeCloseTo(t1, 9);
    expect(r.t3Us).toBe(0);
    expect(r.method).toBe('t3-given');
    expect(r.residualUs).toBeCloseTo(0, 3);
  });

  it('recovers t1 and t3 from runs with different anon/file mixes', () => {
    const r = scanCostsFromBaseline([run(400_000, 100_000, 9.5), run(200_000, 300_000, 4.2), run(350_000, 50_000, 7)]);
    expect(r.t1Us).toBeCloseTo(t1, 6);
    expect(r.t3Us).toBeCloseTo(t3, 6);
    expect(r.method).toBe('solved');
  });

  it('uses a given t3 with a single mixed run', () => {
    const r = scanCostsFromBaseline([run(400_000, 100_000, 9.5)], { t3Us: t3 });
    expect(r.t1Us).toBeCloseTo(t1, 9);
  });

  it('says why it cannot separate t1 from t3', () => {
    expect(() => scanCostsFromBaseline([run(400_000, 100_000, 9.5)])).toThrow(/do not separate t1 from t3/);
  });

  it('refuses a baseline that used less CPU than compression alone', () => {
    expect(() => scanCostsFromBaseline([{ kswapdCpuUs: 1000, anonSteals: 1000, fileSteals: 0, t2UsPerAnonPage: 5 }])).toThrow(
      /inconsistent with the t2 calibration/,
    );
  });

  it('averages t2 over the data mix', () => {
    expect(meanT2({ zero: 0.1, sameFilled: 0.2, compressible: 0.7 }, { zero: 0.3, sameFilled: 0.5, compressible: 10 })).toBeCloseTo(0.03 + 0.1 + 7, 12);
  });
});

describe('a whole calibration from measured numbers', () => {
  it('takes t2 off the baseline before solving for t1', () => {
    const t2 = { zero: 0.25, sameFilled: 0.5, compressible: 8 };
    const mix = { zero: 0.1, sameFilled: 0.1, compressible: 0.8 };
    const anon = 300_000;
    const c = calibrateFromMeasurements({
      device: 'vd',
      kernelRelease: '6.12',
      samples: [
        { algorithm: 'lz4', dataClass: 'zero', bytes: 4096 * 100, cpuUs: 100 * t2.zero },
        { algorithm: 'lz4', dataClass: 'sameFilled', bytes: 4096 * 100, cpuUs: 100 * t2.sameFilled },
        { algorithm: 'lz4', dataClass: 'compressible', ratio: 3, bytes: 4096 * 100, cpuUs: 100 * t2.compressible },
      ],
      baselines: [{ algorithm: 'lz4', ratio: 3, mix, anonSteals: anon, fileSteals: 0, kswapdCpuUs: anon * (2.5 + meanT2(mix, t2)) }],
      extra: { wakeUs: 1.5 },
    });
    expect(c.costs.t1Us).toBeCloseTo(2.5, 9);
    expect(c.costs.wakeUs).toBe(1.5);
    expect(c.costs.t2Points).toHaveLength(3);
    expect(c.sources).toMatchObject({ compressSamples: 3, baselineRuns: 1, scanMethod: 't3-given' });
  });
});

describe('the calibration store', () => {
  let dir: string;
  const saved = process.env.ZLAB_STATE_DIR;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zlab-calibration-'));
    process.env.ZLAB_STATE_DIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.ZLAB_STATE_DIR;
    else process.env.ZLAB_STATE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const calibration = (device: string, kernel: string, t1Us: number) =>
    makeCalibration({ device, kernelRelease: kernel, costs: CostsSchema.parse({ t1Us, t2Us: 2 }), now: new Date('2026-01-02T03:04:05Z') });

  it('keeps one versioned document per device and kernel release, and reads it back', () => {
    const path = saveCalibration(calibration('emulator-5554', '6.12.48+deb13-amd64', 1.5));
    expect(path.startsWith(join(dir, 'calibrations'))).toBe(true);
    saveCalibration(calibration('emulator-5554', '6.12.48+deb13-amd64', 1.7));
    saveCalibration(calibration('emulator-5554', '6.12.48-kcompressd', 1.6));
    expect(findCalibration('emulator-5554', '6.12.48+deb13-amd64')?.costs.t1Us).toBe(1.7);
    expect(findCalibration('emulator-5554', 'other')).toBeUndefined();
    expect(listCalibrations()).toHaveLength(2);
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    expect(doc).toMatchObject({ schema: 'zlab.calibration', version: 1, createdAt: '2026-01-02T03:04:05.000Z' });
  });

  it('keeps odd device names inside the store', () => {
    const path = saveCalibration(calibration('../../etc/passwd', '6.12/../x', 1));
    expect(path.startsWith(join(dir, 'calibrations') + '/')).toBe(true);
    expect(path.slice(join(dir, 'calibrations').length + 1)).not.toContain('/');
    expect(findCalibration('../../etc/passwd', '6.12/../x')?.costs.t1Us).toBe(1);
  });

  it('refuses another version instead of guessing', () => {
    const path = calibrationPath('d', 'k');
    writeFileSync(path, JSON.stringify({ ...calibration('d', 'k', 1), version: 2 }));
    expect(() => readCalibrationFile(path)).toThrow(/version 2 is not supported/);
    writeFileSync(path, '{ not json');
    expect(() => readCalibrationFile(path)).toThrow(/not readable JSON/);
  });
});
