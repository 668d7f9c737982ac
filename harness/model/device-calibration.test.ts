import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { applyConfiguration } from '../configure/apply-configuration.js';
import { parseConfiguration } from '../configure/config-schema.js';
import { createFakeDeviceRoot, type FakeDeviceRoot, type FakeDeviceShape } from '../configure/fake-device-root.js';
import { loadSnapshot } from '../configure/snapshot-store.js';
import { parseSamplerRecord } from '../collect/sampler-record.js';
import { useTemporaryStateDir } from '../testing/temporary-state-dir.js';
import type { EatResult } from '../workload/eat-run.js';
import type { EaterSummary } from '../workload/eater-summary.js';
import type { ToolDevice } from '../workload/device-tools.js';
import { findCalibration } from './calibration-store.js';
import { calibrateDevice, withStockReclaim, type CalibrationSteps } from './device-calibration.js';
import type { T2Cell } from './zram-cost.js';

/*
 * Calibration on a kcompressd kernel: its baseline must be stock reclaim, so
 * offload is off for it (vm.kcompressd = 0) and put back afterwards, whatever
 * happens. The device is a folder shaped like its /proc and /sys, changed by
 * the real configuration scripts; the eater run and zramcost are fakes.
 */

const stateDir = useTemporaryStateDir('zlab-calibration-');
let fake: FakeDeviceRoot | undefined;
afterEach(() => fake?.cleanup());

function setup(shape: FakeDeviceShape = { kcompressdSysctl: true }): FakeDeviceRoot {
  fake = createFakeDeviceRoot(shape);
  if (shape.kcompressdSysctl) fake.write('sys/kernel/mm/kcompressd/queued', '100');
  return fake;
}

const depth = (f: FakeDeviceRoot) => f.read('proc/sys/vm/kcompressd').trim();

describe('the baseline on a kcompressd kernel', () => {
  it('runs with offload off and puts vm.kcompressd back afterwards', async () => {
    const f = setup();
    let during = '';
    const { value, offload } = await withStockReclaim(f.device, { queueDepthPerThread: 24, threads: 1 }, async () => {
      during = depth(f);
      return 'ran';
    }, { root: f.root });
    expect(value).toBe('ran');
    expect(during).toBe('0');
    expect(depth(f)).toBe('24');
    expect(loadSnapshot(f.device.serial)).toBeNull();
    expect(offload).toMatchObject({ knobs: { queueDepthPerThread: 24, threads: 1 }, turnedOff: true, queuedDuringBaseline: 0 });
    expect(offload.note).toMatch(/vm\.kcompressd = 0 during the run .* put back to 24 afterwards; kcompressd queued 0 folios meanwhile/);
  });

  it('puts it back when the baseline fails', async () => {
    const f = setup();
    await expect(
      withStockReclaim(f.device, { queueDepthPerThread: 24, threads: 1 }, async () => {
        throw new Error('the eater died');
      }, { root: f.root }),
    ).rejects.toThrow('the eater died');
    expect(depth(f)).toBe('24');
    expect(loadSnapshot(f.device.serial)).toBeNull();
  });

  it('refuses a baseline in which kcompressd took folios, and still puts the knob back', async () => {
    const f = setup();
    await expect(
      withStockReclaim(f.device, { queueDepthPerThread: 24, threads: 1 }, async () => {
        f.write('sys/kernel/mm/kcompressd/queued', '150');
      }, { root: f.root }),
    ).rejects.toThrow(/kcompressd took 50 folio\(s\) during the baseline although offload was off/);
    expect(depth(f)).toBe('24');
  });

  it('changes nothing on a stock kernel or when offload is already off', async () => {
    const stock = setup({});
    const onStock = await withStockReclaim(stock.device, null, async () => 1, { root: stock.root });
    expect(onStock.offload).toEqual({ knobs: null, turnedOff: false, queuedDuringBaseline: null, note: 'stock kernel: no kcompressd' });
    expect(stock.device.calls).toEqual([]);
    stock.cleanup();

    const f = setup();
    f.write('proc/sys/vm/kcompressd', '0');
    const off = await withStockReclaim(f.device, { queueDepthPerThread: 0, threads: 1 }, async () => 2, { root: f.root });
    expect(off.offload).toMatchObject({ turnedOff: false, queuedDuringBaseline: 0, note: expect.stringMatching(/already off/) });
    expect(f.commandLog()).toEqual([]);
    expect(depth(f)).toBe('0');
  });

  it('refuses to run while another configuration is pending restore, and leaves it alone', async () => {
    const f = setup();
    await applyConfiguration(f.device, parseConfiguration({ vm: { swappiness: 100 } }), { root: f.root, handleSignals: false });
    let ran = false;
    await expect(
      withStockReclaim(f.device, { queueDepthPerThread: 24, threads: 1 }, async () => {
        ran = true;
      }, { root: f.root }),
    ).rejects.toThrow(/has a configuration pending restore .* run `zlab config restore -s fake-/);
    expect(ran).toBe(false);
    expect(depth(f)).toBe('24');
    expect(f.read('proc/sys/vm/swappiness').trim()).toBe('100');
    expect(loadSnapshot(f.device.serial)?.settings.map((s) => s.label)).toEqual(['vm.swappiness']);
  });
});

// A stock-reclaim baseline as the sampler records it: reclaim from 6 s, kswapd 3 s of CPU for 1,600 steals.
const S = 1e9;
const COLUMNS = ['vmstat.pgsteal_anon', 'vmstat.pgsteal_file', 'vmstat.pgsteal_kswapd', 'vmstat.pgsteal_direct', 'meminfo.AnonPages', 'meminfo.MemAvailable', 'meminfo.MemTotal'];
const steal = [0, 0, 0, 0, 10, 1000, 2000, 3000, 4000, 5000];
const kswapd = [0, 0, 0, 0, 10, 400, 800, 1200, 1600, 2000];
function baselineRecord() {
  const header = [
    '# zlab-sampler 1', '# boot_id 11111111-2222-3333-4444-555555555555', '# anchor 1000000000 1700000000000000000', '# period_ns 1000000000',
    '# clk_tck 100', '# page_size 4096', '# ncpu 2', '# pid 99', '# comm kswapd', '# comm memeater', '# source vmstat /proc/vmstat ok 4',
    '# meta zram0.comp_algorithm lz4', `# columns ${COLUMNS.length + 1} t_ns ${COLUMNS.join(' ')}`, '# end',
  ];
  const body = steal.map((s, i) => `S ${(i + 1) * S} ${[s, 0, kswapd[i], s - kswapd[i]!, i * 4000, 800_000, 1_000_000].join(' ')}`);
  const threads = ['N 1000000000 40 40 kswapd0 kswapd0', 'N 1000000000 77 77 memeater memeater', 'T 1000000000 40:0:0 77:0:0', 'T 6000000000 40:0:0 77:60:40', 'T 10000000000 40:100:200 77:200:100'];
  return parseSamplerRecord(`${[...header, body[0], threads[0], threads[1], threads[2], ...body.slice(1, 5), body[5], threads[3], ...body.slice(6), threads[4]].join('\n')}\n`);
}
const baselineSummary = {
  config: { sizeMib: 40, ratio: 3, zeroPct: 5, sameFilledPct: 10, rateMibps: 0, workers: 1, retouchPasses: 0 },
  pages: { zero: 500, sameFilled: 1000, data: 8500 },
  phases: [{ name: 'fill', startBoottimeNs: 1 * S, endBoottimeNs: 10 * S, pages: 10_000, mibPerSec: 4 }],
  swappedBeforeRetouch: null,
} as unknown as EaterSummary;

const cell = (dataClass: T2Cell['dataClass'], usPerPage: number, ratio?: number): T2Cell => ({
  algorithm: 'lz4',
  dataClass,
  ...(ratio !== undefined ? { ratio } : {}),
  repeats: 1,
  usPerPage,
  minUsPerPage: usPerPage,
  maxUsPerPage: usPerPage,
  achievedRatio: ratio ?? null,
  samePages: 0,
});

function toolDevice(f: FakeDeviceRoot): ToolDevice & { serial: string } {
  const unused = async () => {
    throw new Error('not used: the steps are fakes');
  };
  return {
    serial: f.device.serial,
    shell: (command: string) => f.device.shell(command),
    run: async (command: string) => {
      const r = await f.device.shell(command);
      if (r.exitCode !== 0) throw new Error(`${command}: exit ${r.exitCode}: ${r.stderr}`);
      return r.stdout;
    },
    push: unused,
    pull: unused,
    abi: unused,
  } as unknown as ToolDevice & { serial: string };
}

function fakeSteps(f: FakeDeviceRoot, seen: string[]): Partial<CalibrationSteps> {
  return {
    measureT2: async () => ({ output: {} as never, cells: [cell('zero', 10), cell('sameFilled', 10), cell('compressible', 150, 2), cell('compressible', 200, 3), cell('compressible', 250, 4)] }),
    runEat: async () => {
      seen.push(f.read('proc/sys/vm/kcompressd').trim());
      return { record: baselineRecord(), summary: baselineSummary } as unknown as EatResult;
    },
  };
}

describe('zlab model calibrate -s on a kcompressd kernel', () => {
  it('runs its baseline with offload off, puts the knob back, and says so in the sources', async () => {
    const f = setup();
    const seen: string[] = [];
    const lines: string[] = [];
    const result = await calibrateDevice(toolDevice(f), { algorithms: ['lz4'], ratios: [2, 3, 4] }, {
      localDir: join(stateDir(), 'run'),
      root: f.root,
      steps: fakeSteps(f, seen),
      progress: (l) => lines.push(l),
    });
    expect(seen).toEqual(['0']);
    expect(depth(f)).toBe('24');
    expect(loadSnapshot(f.device.serial)).toBeNull();
    const sources = result.calibration.sources;
    expect(sources.method).toMatch(/one eater run with kcompressd offload off \(vm\.kcompressd = 0\)/);
    expect(sources.kcompressd).toMatchObject({ knobs: { queueDepthPerThread: 24, threads: 1 }, turnedOff: true, queuedDuringBaseline: 0 });
    expect((sources.baseline as Record<string, unknown>).reclaim).toMatch(/offload off for the baseline: vm\.kcompressd = 0 .* put back to 24/);
    expect(lines).toContain('kcompressd offload off for the baseline (vm.kcompressd 24 → 0, put back afterwards)');
    // stored under the device and kernel it was measured on, t1 from the baseline
    expect(findCalibration(f.device.serial, result.calibration.kernelRelease)?.sources.kcompressd).toEqual(sources.kcompressd);
    expect(result.calibration.costs.t1Us).toBeGreaterThan(0);
  });

  it('calls a stock kernel\'s baseline a stock run and touches no knob', async () => {
    const f = setup({});
    const seen: string[] = [];
    const result = await calibrateDevice(toolDevice(f), { algorithms: ['lz4'] }, { localDir: join(stateDir(), 'run'), root: f.root, steps: {
      ...fakeSteps(f, seen),
      runEat: async () => ({ record: baselineRecord(), summary: baselineSummary }) as unknown as EatResult,
    } });
    expect(result.calibration.sources.method).toMatch(/\+ one stock eater run$/);
    expect(result.calibration.sources.kcompressd).toMatchObject({ knobs: null, turnedOff: false });
    expect(f.commandLog()).toEqual([]);
  });

  it('refuses before measuring anything while another configuration is pending', async () => {
    const f = setup();
    await applyConfiguration(f.device, parseConfiguration({ vm: { swappiness: 100 } }), { root: f.root, handleSignals: false });
    const seen: string[] = [];
    let measured = false;
    await expect(
      calibrateDevice(toolDevice(f), { algorithms: ['lz4'] }, { localDir: join(stateDir(), 'run'), root: f.root, steps: { ...fakeSteps(f, seen), measureT2: async () => {
        measured = true;
        throw new Error('measured');
      } } }),
    ).rejects.toThrow(/pending restore/);
    expect(measured).toBe(false);
    expect(seen).toEqual([]);
  });
});
