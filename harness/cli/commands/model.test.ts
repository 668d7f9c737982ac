import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCalibration } from '../../model/calibration.js';
import { CostsSchema } from '../../model/costs.js';
import { runCommand } from '../../testing/run-command.js';
import { register } from './model.js';

/** Run `zlab model …` in-process and return what it printed on stdout. */
const zlab = (...args: string[]): Promise<string> => runCommand(register, ['model', ...args]);

describe('zlab model predict', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zlab-model-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes raw costs and prints one JSON document with pgstealAnonPerSec', async () => {
    const doc = JSON.parse(await zlab('predict', '--t1-us', '1.2', '--t2-us', '2.1', '--t3-us', '0', '--threads', '4', '--cpus', '8', '--json'));
    expect(doc.pgstealAnonPerSec).toBeCloseTo(1e6 / 1.2, 3);
    expect(doc.stockPgstealAnonPerSec).toBeCloseTo(1e6 / 3.3, 3);
    expect(doc.bottleneck).toBe('kswapd');
  });

  it('--threads 0 is the stock kernel', async () => {
    const doc = JSON.parse(await zlab('predict', '--t1-us', '1.2', '--t2-us', '2.1', '--threads', '0', '--cpus', '8', '--json'));
    expect(doc.pgstealAnonPerSec).toBeCloseTo(1e6 / 3.3, 3);
    expect(doc.kcompressdCpuShare).toBe(0);
  });

  it('prints a table for a person', async () => {
    const text = await zlab('predict', '--preset', 'phone');
    expect(text).toMatch(/4 compressor thread\(s\): 80\d{4} pgsteal_anon\/s \(stock 303030\/s/);
    expect(text).toMatch(/kcompressdCpuShare/);
  });

  it('reads costs from a calibration and a workload from flags', async () => {
    const path = join(dir, 'cal.json');
    const calibration = makeCalibration({
      device: 'vd',
      kernelRelease: '6.12',
      costs: CostsSchema.parse({ t1Us: 5, t2Points: [{ algorithm: 'zstd', dataClass: 'compressible', ratio: 3, usPerPage: 20 }] }),
    });
    writeFileSync(path, JSON.stringify(calibration));
    const flags = ['predict', '--calibration', path, '--cpus', '2', '--algorithm', 'zstd', '--ram', '1G', '--size', '1536M', '--ratio', '3', '--same-filled', '10%', '--json'];
    await expect(zlab(...flags)).rejects.toThrow(/no compression cost for zstd on sameFilled pages/);
    calibration.costs.t2Points.push({ algorithm: 'zstd', dataClass: 'sameFilled', usPerPage: 0.5 });
    writeFileSync(path, JSON.stringify(calibration));
    const doc = JSON.parse(await zlab(...flags));
    expect(doc.stockPgstealAnonPerSec).toBeCloseTo(1e6 / (5 + 0.9 * 20 + 0.1 * 0.5), 3);
    expect(doc.predictions.map((p: { metric: string }) => p.metric)).toContain('zramSamePages');
    expect(doc.memory.anonPages).toBe(393216);
  });

  it('reads a whole model input from a file', async () => {
    const path = join(dir, 'input.json');
    writeFileSync(path, JSON.stringify({ device: { cpus: 4 }, costs: { t1Us: 2, t2Us: 2 }, design: { threads: 1 } }));
    const doc = JSON.parse(await zlab('predict', '--input', path, '--json'));
    expect(doc.pgstealAnonPerSec).toBeCloseTo(1e6 / 2, 3);
    writeFileSync(path, JSON.stringify({ device: { cpus: 4 }, costs: { t1Us: 2 }, design: { threads: -1 } }));
    await expect(zlab('predict', '--input', path)).rejects.toThrow(/--input .*input\.json: design\.threads/);
  });

  it('names the bad flag', async () => {
    const base = ['predict', '--t1-us', '1', '--t2-us', '1', '--cpus', '2'];
    await expect(zlab(...base, '--threads', 'four')).rejects.toThrow(/^--threads: "four" is not a whole number$/);
    await expect(zlab(...base, '--rescan', '1e9')).rejects.toThrow(/^--rescan: 1e9 is out of range/);
    await expect(zlab(...base, '--algorithm', 'snappy')).rejects.toThrow(/^--algorithm: "snappy" is not one of lz4/);
    await expect(zlab(...base, '--zero', '120%', '--size', '1G')).rejects.toThrow(/^--zero: "120%" is not a percentage/);
    await expect(zlab(...base, '--ratio', '3')).rejects.toThrow(/--size is required/);
    await expect(zlab(...base, '--preset', 'tablet')).rejects.toThrow(/--preset: "tablet" is not a preset/);
    await expect(zlab('predict', '--t2-us', '1', '--cpus', '2')).rejects.toThrow(/--t1-us is required/);
    await expect(zlab(...base, '--calibration', join(dir, 'missing.json'))).rejects.toThrow(/--calibration: no file ".*missing\.json"/);
  });

  it('calibrates from measured numbers, stores it, and predicts from the store', async () => {
    const saved = process.env.ZLAB_STATE_DIR;
    process.env.ZLAB_STATE_DIR = join(dir, 'state');
    try {
      const request = join(dir, 'measured.json');
      const mix = { zero: 0, sameFilled: 0, compressible: 1 };
      writeFileSync(
        request,
        JSON.stringify({
          device: 'vd-1',
          kernelRelease: '6.12.48+deb13-amd64',
          samples: [{ algorithm: 'lz4', dataClass: 'compressible', ratio: 3, bytes: 4096 * 1000, cpuUs: 8000 }],
          baselines: [{ algorithm: 'lz4', ratio: 3, mix, kswapdCpuUs: 200_000 * (4 + 8), anonSteals: 200_000, fileSteals: 0 }],
        }),
      );
      const stored = JSON.parse(await zlab('calibrate', request, '--json'));
      expect(stored.calibration.costs.t1Us).toBeCloseTo(4, 9);
      expect(stored.path).toContain(join(dir, 'state', 'calibrations'));
      const listed = JSON.parse(await zlab('calibrations', '--json'));
      expect(listed.map((c: { device: string }) => c.device)).toEqual(['vd-1']);
      const doc = JSON.parse(await zlab('predict', '--calibration', 'vd-1@6.12.48+deb13-amd64', '--cpus', '2', '--json'));
      expect(doc.pgstealAnonPerSec).toBeCloseTo(1e6 / 12, 3);
      await expect(zlab('predict', '--calibration', 'vd-2@6.12', '--cpus', '2')).rejects.toThrow(/no stored calibration for device "vd-2" and kernel "6.12"/);
      writeFileSync(request, JSON.stringify({ device: 'vd-1', kernelRelease: 'k', samples: [], baselines: [] }));
      await expect(zlab('calibrate', request)).rejects.toThrow(/measured\.json: samples: /);
    } finally {
      if (saved === undefined) delete process.env.ZLAB_STATE_DIR;
      else process.env.ZLAB_STATE_DIR = saved;
    }
  });

  it('names what is wrong with a device calibration before touching a device', async () => {
    await expect(zlab('calibrate')).rejects.toThrow(/give a measurements FILE, or -s SERIAL/);
    await expect(zlab('calibrate', join(dir, 'm.json'), '-s', 'emulator-5554')).rejects.toThrow(/not both/);
    await expect(zlab('calibrate', '-s', 'a b')).rejects.toThrow(/--serial: "a b" is not a device serial/);
    await expect(zlab('calibrate', '-s', 'emulator-5554', '--algorithms', 'lz4,lzma')).rejects.toThrow(/--algorithms: "lzma" is not one of/);
    await expect(zlab('calibrate', '-s', 'emulator-5554', '--algorithms', 'lz4,')).rejects.toThrow(/--algorithms: "lz4," is not a comma-separated list/);
    await expect(zlab('calibrate', '-s', 'emulator-5554', '--ratios', '2,13')).rejects.toThrow(/--ratios: 13 is out of range/);
  });

  it('explains a run from its prediction and measurements', async () => {
    const prediction = JSON.parse(await zlab('predict', '--preset', 'phone', '--json'));
    const path = join(dir, 'run.json');
    writeFileSync(path, JSON.stringify({ prediction, measured: { pgstealAnonPerSec: 805_000, kswapdCpuShare: 1, kcompressdCpuShare: 2.4 } }));
    const text = await zlab('explain', path);
    expect(text).toMatch(/bottleneck: kswapd itself/);
    expect(text).toMatch(/every measured metric is inside its band/);
    const doc = JSON.parse(await zlab('explain', path, '--json'));
    expect(doc.divergence.worst).toBe('none');
  });
});
