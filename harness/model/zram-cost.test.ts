import { beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { buildWorkloadBinaries } from '../workload/device-binaries.js';
import { calibrateFromMeasurements } from './calibration.js';
import { compressCostUs } from './costs.js';
import { compressSamples, parseZramCostOutput, t2Cells } from './zram-cost.js';

const sample = (dataClass: string, cpuNs: number, extra: Record<string, unknown> = {}) => ({
  algorithm: 'lz4',
  dataClass,
  pages: 100,
  bytes: 409600,
  cpuNs,
  wallNs: cpuNs,
  origBytes: 409600,
  comprBytes: dataClass === 'compressible' ? 136533 : 0,
  samePages: dataClass === 'compressible' ? 0 : 100,
  hugePages: 0,
  ...extra,
});

const output = (samples: unknown[], errors: string[] = []) =>
  JSON.stringify({ tool: 'zramcost', version: 1, pageSize: 4096, scratchDevice: 'zram1', pages: 100, chunkPages: 64, samples, errors });

describe('zramcost output', () => {
  it('takes the median repeat of every cell, with the spread and the achieved ratio', () => {
    const cells = t2Cells(
      parseZramCostOutput(
        output([
          sample('compressible', 900_000, { ratio: 3 }),
          sample('compressible', 200_000, { ratio: 3 }),
          sample('compressible', 250_000, { ratio: 3 }),
          sample('zero', 30_000),
        ]),
      ),
    );
    const data = cells.find((c) => c.dataClass === 'compressible')!;
    expect(data.usPerPage).toBeCloseTo(2.5, 9); // 250 µs over 100 pages; the 9 µs outlier is left out
    expect(data.minUsPerPage).toBeCloseTo(2, 9);
    expect(data.maxUsPerPage).toBeCloseTo(9, 9);
    expect(data.repeats).toBe(3);
    expect(data.achievedRatio).toBeCloseTo(3, 3);
    const zero = cells.find((c) => c.dataClass === 'zero')!;
    expect(zero.achievedRatio).toBeNull();
    expect(zero.samePages).toBe(100);
  });

  it('turns cells into calibration samples whose t2 is the median per page', () => {
    const cells = t2Cells(parseZramCostOutput(output([sample('compressible', 300_000, { ratio: 2 }), sample('zero', 40_000), sample('sameFilled', 50_000)])));
    const calibration = calibrateFromMeasurements({
      device: 'd',
      kernelRelease: 'k',
      samples: compressSamples(cells),
      baselines: [{ algorithm: 'lz4', ratio: 2, mix: { zero: 0, sameFilled: 0, compressible: 1 }, kswapdCpuUs: 5_000, anonSteals: 1_000, fileSteals: 0 }],
      t3Us: 0,
    });
    expect(compressCostUs(calibration.costs, 'lz4', 'compressible', 2)).toBeCloseTo(3, 9);
    expect(compressCostUs(calibration.costs, 'lz4', 'zero')).toBeCloseTo(0.4, 9);
    // kswapd's 5 µs per steal minus 3 µs of compression
    expect(calibration.costs.t1Us).toBeCloseTo(2, 9);
  });

  it('refuses output that is not zramcost JSON, naming the problem', () => {
    expect(() => parseZramCostOutput('zramcost: cannot allocate')).toThrow(/printed no JSON/);
    expect(() => parseZramCostOutput(JSON.stringify({ tool: 'memeater' }))).toThrow(/unexpected shape/);
  });

  it('refuses an algorithm the model does not know', () => {
    expect(() => t2Cells(parseZramCostOutput(output([sample('zero', 1, { algorithm: 'lzma' })])))).toThrow(/"lzma"/);
  });
});

describe('the zramcost program', () => {
  let binary: string;
  beforeAll(async () => {
    binary = (await buildWorkloadBinaries(['zramcost'])).x86_64.zramcost;
  }, 120_000);

  // Only bad usage is exercised here: a valid command would hot-add a zram device on this host.
  it.each([
    [[], /usage: zramcost --algorithms/],
    [['--algorithms', 'lz4;reboot'], /--algorithms: "lz4;reboot" is not a compressor name/],
    [['--algorithms', 'lz4', '--classes', 'zero,huge'], /--classes: "huge" is not zero, sameFilled or compressible/],
    [['--algorithms', 'lz4', '--ratios', '2,13'], /--ratios: "13" is not a number in 1\.\.12/],
    [['--algorithms', 'lz4', '--pages', '0'], /--pages: "0" is not a whole number/],
  ])('refuses %j with exit status 2 and a message naming the problem', async (args, message) => {
    const result = await execa(binary, args, { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
