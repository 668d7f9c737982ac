import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calibrateFromMeasurements,
  calibrationNotes,
  directScanCostFromBaseline,
  makeCalibration,
  meanT2,
  scanCostsFromBaseline,
  t2FromSamples,
  type BaselineRun,
} from './calibration.js';
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

describe('the direct-reclaim cost from a baseline run', () => {
  // the eater: 100 µs per page it faults in, 60 µs to scan/unmap a page it reclaims itself, t2 = 40
  const run = { eaterCpuUs: 10_000 * 100 + 7_000 * (60 + 40), allocatedPages: 10_000, faultUs: 100, anonSteals: 7_000, fileSteals: 0, t2UsPerAnonPage: 40 };

  it("takes the eater's fault cost and t2 off its CPU and divides by its own anon steals", () => {
    expect(directScanCostFromBaseline([run], 0)).toEqual({ t1DirectUs: expect.closeTo(60, 9), directAnonSteals: 7_000 });
    // file folios reclaimed directly are charged t3
    const mixed = { ...run, eaterCpuUs: run.eaterCpuUs + 500 * 20, fileSteals: 500 };
    expect(directScanCostFromBaseline([mixed], 20).t1DirectUs).toBeCloseTo(60, 9);
  });

  it('refuses runs that say nothing about it or contradict the fault cost', () => {
    expect(() => directScanCostFromBaseline([], 0)).toThrow(/at least one baseline/);
    expect(() => directScanCostFromBaseline([{ ...run, anonSteals: 0 }], 0)).toThrow(/no direct reclaim/);
    expect(() => directScanCostFromBaseline([{ ...run, eaterCpuUs: 10_000 * 100 }], 0)).toThrow(/less CPU than faulting its pages/);
    expect(() => directScanCostFromBaseline([{ ...run, faultUs: 0 }], 0)).toThrow(/baseline run 0: faultUs/);
  });

  it('lands in a version 2 calibration when a baseline carries the eater side', () => {
    const mix = { zero: 0, sameFilled: 0, compressible: 1 };
    const c = calibrateFromMeasurements({
      device: 'vd',
      kernelRelease: '6.12',
      samples: [{ algorithm: 'lz4', dataClass: 'compressible', ratio: 3, bytes: 4096 * 100, cpuUs: 100 * 40 }],
      baselines: [
        {
          algorithm: 'lz4',
          ratio: 3,
          mix,
          anonSteals: 3_000,
          fileSteals: 0,
          kswapdCpuUs: 3_000 * (1_000 + 40),
          direct: { eaterCpuUs: run.eaterCpuUs, allocatedPages: 10_000, faultUs: 100, anonSteals: 7_000, fileSteals: 0 },
        },
      ],
    });
    expect(c.version).toBe(2);
    expect(c.costs.t1Us).toBeCloseTo(1_000, 9);
    expect(c.costs.t1DirectUs).toBeCloseTo(60, 9);
    expect(c.sources).toMatchObject({ directReclaim: { runs: 1, anonSteals: 7_000 } });
    expect(calibrationNotes(c)).toEqual([]);
  });

  it('is left out, and said to be, when no baseline has the eater side', () => {
    const c = calibrateFromMeasurements({
      device: 'vd',
      kernelRelease: '6.12',
      samples: [{ algorithm: 'lz4', dataClass: 'compressible', ratio: 3, bytes: 4096, cpuUs: 40 }],
      baselines: [{ algorithm: 'lz4', ratio: 3, mix: { zero: 0, sameFilled: 0, compressible: 1 }, anonSteals: 10, fileSteals: 0, kswapdCpuUs: 10 * 50 }],
    });
    expect(c.costs.t1DirectUs).toBeUndefined();
    expect(calibrationNotes(c)).toEqual([expect.stringMatching(/has no direct-reclaim cost/)]);
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
    expect(doc).toMatchObject({ schema: 'zlab.calibration', version: 2, createdAt: '2026-01-02T03:04:05.000Z' });
  });

  it('keeps odd device names inside the store', () => {
    const path = saveCalibration(calibration('../../etc/passwd', '6.12/../x', 1));
    expect(path.startsWith(join(dir, 'calibrations') + '/')).toBe(true);
    expect(path.slice(join(dir, 'calibrations').length + 1)).not.toContain('/');
    expect(findCalibration('../../etc/passwd', '6.12/../x')?.costs.t1Us).toBe(1);
  });

  it('refuses another version instead of guessing', () => {
    const path = calibrationPath('d', 'k');
    writeFileSync(path, JSON.stringify({ ...calibration('d', 'k', 1), version: 3 }));
    expect(() => readCalibrationFile(path)).toThrow(/version 3 is not supported/);
    writeFileSync(path, '{ not json');
    expect(() => readCalibrationFile(path)).toThrow(/not readable JSON/);
  });

  it('still reads a version 1 file, and says it lacks the direct-reclaim cost', () => {
    const path = calibrationPath('old', '6.12');
    // a version 1 document as it was written: no t1DirectUs in its costs
    const v1 = { schema: 'zlab.calibration', version: 1, device: 'old', kernelRelease: '6.12', createdAt: '2026-01-02T03:04:05.000Z', costs: { t1Us: 1370, t2Us: 200 }, sources: {} };
    writeFileSync(path, JSON.stringify(v1));
    const read = findCalibration('old', '6.12')!;
    expect(read.version).toBe(1);
    expect(read.costs.t1DirectUs).toBeUndefined();
    expect(calibrationNotes(read)).toEqual([expect.stringMatching(/version 1 .*predates the direct-reclaim cost.*charged kswapd's t1/)]);
    expect(calibrationNotes(makeCalibration({ device: 'd', kernelRelease: 'k', costs: CostsSchema.parse({ t1Us: 1, t1DirectUs: 0.5, t2Us: 2 }) }))).toEqual([]);
  });
});
