import { z } from 'zod';
import { withConfiguration } from '../configure/apply-configuration.js';
import type { DeviceShell, ScriptOptions } from '../configure/device-shell.js';
import { loadSnapshot, snapshotPath } from '../configure/snapshot-store.js';
import type { Device } from '../device/device.js';
import { shellQuote } from '../device/shell-quote.js';
import { ZlabError } from '../util/errors.js';
import type { EaterSummary } from '../workload/eater-summary.js';
import { parseEatOptions, type EatOptionsInput } from '../workload/eat-options.js';
import { runEat, type EatResult } from '../workload/eat-run.js';
import { calibrateFromMeasurements, type Calibration } from './calibration.js';
import { calibrationPath, findCalibration, saveCalibration } from './calibration-store.js';
import { AlgorithmSchema, type Algorithm } from './device-profile.js';
import { baselineObservation, eatRunFigures, type EatRunFigures } from './eat-run-figures.js';
import {
  describeKnobs,
  KCOMPRESSD_DEPTH_FILE,
  offloads,
  readKcompressdKnobs,
  readKcompressdQueued,
  type KcompressdKnobs,
} from './kcompressd-design.js';
import { parseModelInput } from './model-input.js';
import type { ReclaimDesignInput } from './reclaim-design.js';
import { expectedSamePages, predictRun, type RunPrediction } from './run-prediction.js';
import { compressSamples, measureT2, type T2Cell } from './zram-cost.js';
import type { ToolDevice } from '../workload/device-tools.js';

/**
 * Calibration on a device in one step: t2 per algorithm × data class from
 * zramcost, then one stock baseline eater run on zram0 as it is configured,
 * from which t1 (and the eater's cost per page) follow. Stored per device
 * model + kernel release and reused unless forced.
 */

/** The stock baseline every calibration runs unless told otherwise: 110 % of RAM of 3:1 data with same-filled and zero pages, no re-touch (only the fill is used). */
export const BASELINE_EAT: EatOptionsInput = { size: '110%', ratio: '3', sameFilled: '10%', zero: '5%', holdMs: '0', retouch: '0', periodMs: '100' };

export const DeviceCalibrationOptionsSchema = z
  .object({
    algorithms: z.array(AlgorithmSchema).min(1).max(8).default(['lz4', 'zstd']),
    ratios: z.array(z.number().min(1).max(12)).min(1).max(8).default([2, 3, 4]),
    pages: z.number().int().min(16).max(65536).default(1024),
    repeat: z.number().int().min(1).max(25).default(5),
    force: z.boolean().default(false),
  })
  .strict();
export type DeviceCalibrationOptions = z.input<typeof DeviceCalibrationOptionsSchema>;

/** What a device is known as in the store, and the facts a prediction needs. */
export interface DeviceFacts {
  /** ro.product.model, or the serial when the model is unknown. */
  name: string;
  kernelRelease: string;
  cpus: number;
  /** disksize unknown (a record that does not carry it): the model does not cap the pages out by it. */
  zram: { algorithm: Algorithm; disksizeBytes?: number };
}

export async function readDeviceFacts(device: Pick<Device, 'run' | 'serial'>, options: ScriptOptions = {}): Promise<DeviceFacts> {
  const zram0 = `${options.root ?? ''}/sys/block/zram0`;
  // One line per answer, also from a getprop that prints nothing for an unset property.
  const out = (await device.run(`echo "$(getprop ro.product.model)"; uname -r; nproc; cat ${shellQuote(`${zram0}/comp_algorithm`)} ${shellQuote(`${zram0}/disksize`)}`)).split('\n').map((l) => l.trim());
  const [model, release, nproc, algorithms, disksize] = out;
  const algorithm = AlgorithmSchema.safeParse(/\[([^\]]+)\]/.exec(algorithms ?? '')?.[1]);
  const cpus = Number(nproc);
  if (!release) throw new ZlabError('device', `${device.serial}: uname -r printed nothing`);
  if (!Number.isInteger(cpus) || cpus < 1) throw new ZlabError('device', `${device.serial}: nproc printed "${nproc}"`);
  if (!algorithm.success || !(Number(disksize) > 0)) {
    throw new ZlabError('device', `${device.serial}: zram0 is not set up as swap with a known compressor ("${algorithms}", disksize "${disksize}")`);
  }
  return { name: model || device.serial, kernelRelease: release, cpus, zram: { algorithm: algorithm.data, disksizeBytes: Number(disksize) } };
}

export interface DeviceCalibrationResult {
  calibration: Calibration;
  path: string;
  reused: boolean;
  /** The measurements, when this call made them. */
  cells?: T2Cell[];
  baseline?: { figures: EatRunFigures; summary: EaterSummary };
}

/** The device-side measurements; unit tests replace them with fakes. */
export interface CalibrationSteps {
  measureT2: typeof measureT2;
  runEat: typeof runEat;
}

export interface CalibrationRun extends ScriptOptions {
  localDir: string;
  progress?: (message: string) => void;
  baselineEat?: EatOptionsInput;
  /** Aborting stops the baseline run; offload is put back either way. */
  signal?: AbortSignal;
  steps?: Partial<CalibrationSteps>;
}

export async function calibrateDevice(
  device: ToolDevice & Pick<Device, 'serial'>,
  options: DeviceCalibrationOptions,
  run: CalibrationRun,
): Promise<DeviceCalibrationResult> {
  const o = DeviceCalibrationOptionsSchema.parse(options);
  const say = run.progress ?? (() => undefined);
  const steps: CalibrationSteps = { measureT2, runEat, ...run.steps };
  const scriptOptions: ScriptOptions = run.root !== undefined ? { root: run.root } : {};
  const facts = await readDeviceFacts(device, scriptOptions);
  if (!o.force) {
    const stored = findCalibration(facts.name, facts.kernelRelease);
    const covered = stored && o.algorithms.every((a) => stored.costs.t2Points.some((p) => p.algorithm === a));
    if (stored && covered) {
      say(`reusing the calibration of ${facts.name} on ${facts.kernelRelease} from ${stored.createdAt} (--force to redo)`);
      return { calibration: stored, path: calibrationPath(facts.name, facts.kernelRelease), reused: true };
    }
  }
  // Before anything runs: a kcompressd kernel's baseline needs its offload turned off.
  const knobs = await readKcompressdKnobs(device, scriptOptions);
  say(`${facts.kernelRelease}: ${describeKnobs(knobs)}`);
  if (offloads(knobs)) refusePendingConfiguration(device.serial);
  // The baseline runs on zram0 as configured, so its compressor must be measured too.
  const algorithms = o.algorithms.includes(facts.zram.algorithm) ? o.algorithms : [...o.algorithms, facts.zram.algorithm];
  const baselineEat = { ...BASELINE_EAT, ...run.baselineEat };
  const baselineRatio = Number(baselineEat.ratio ?? '3');
  const ratios = [...new Set([...o.ratios, baselineRatio])].sort((a, b) => a - b);
  say(`measuring t2 on ${facts.name}: ${algorithms.join(', ')} × zero, same-filled, data at ${ratios.join(', ')}:1 (${o.pages} pages × ${o.repeat})`);
  const { cells } = await steps.measureT2(device, { algorithms, ratios, pages: o.pages, repeat: o.repeat });
  if (run.signal?.aborted) throw new ZlabError('usage', 'interrupted before the baseline run; nothing on the device was changed');
  say(`stock baseline run on zram0 (${facts.zram.algorithm})`);
  const { value: eat, offload } = await withStockReclaim(
    device,
    knobs,
    () => steps.runEat(device, parseEatOptions(baselineEat), { localDir: run.localDir, progress: say, ...(run.signal ? { signal: run.signal } : {}) }),
    { ...scriptOptions, progress: say },
  );
  const figures = eatRunFigures(eat.record, eat.summary);
  const calibration = calibrateFromMeasurements({
    device: facts.name,
    kernelRelease: facts.kernelRelease,
    samples: compressSamples(cells),
    baselines: [baselineObservation(figures, eat.summary, facts.zram.algorithm)],
    t3Us: 0,
    ...(figures.faultUs !== null ? { extra: { faultUs: figures.faultUs } } : {}),
  });
  calibration.sources = {
    ...calibration.sources,
    method: offload.turnedOff
      ? 'zramcost (O_DIRECT writes to a scratch zram device, median of repeats) + one eater run with kcompressd offload off (vm.kcompressd = 0), i.e. stock reclaim'
      : 'zramcost (O_DIRECT writes to a scratch zram device, median of repeats) + one stock eater run',
    t3: 'not measured: the baseline has no file part (t3 = 0)',
    serial: device.serial,
    cpus: facts.cpus,
    kcompressd: offload,
    baseline: {
      eat: baselineEat,
      algorithm: facts.zram.algorithm,
      reclaim: offload.note,
      pressureSeconds: figures.pressure.seconds,
      kswapdCpuUs: figures.kswapdCpuUs,
      kswapdAnonSteals: figures.kswapdAnonSteals,
      directSteals: figures.directSteals,
      eaterCpuUs: figures.eaterCpuUs,
      t1DirectUs: calibration.costs.t1DirectUs ?? null,
      pgstealAnonPerSec: figures.pgstealAnonPerSec,
      faultUs: figures.faultUs,
    },
    t2Cells: cells,
  };
  const path = saveCalibration(calibration);
  return { calibration, path, reused: false, cells, baseline: { figures, summary: eat.summary } };
}

/** How the baseline was kept to stock reclaim on this kernel. */
export interface BaselineReclaim {
  /** vm.kcompressd and vm.kcompressd_threads as found; null on a kernel without them. */
  knobs: KcompressdKnobs | null;
  /** vm.kcompressd was set to 0 for the baseline and put back afterwards. */
  turnedOff: boolean;
  /** Folios kcompressd took during the baseline (its `queued` counter); null when the kernel has no counters. */
  queuedDuringBaseline: number | null;
  note: string;
}

/** Restoring after the baseline puts back every knob of a pending snapshot, so one pending from elsewhere would be undone too. */
function refusePendingConfiguration(serial: string): void {
  if (loadSnapshot(serial) === null) return;
  throw new ZlabError(
    'usage',
    `${serial} has a configuration pending restore (snapshot ${snapshotPath(serial)}): the baseline has to turn kcompressd offload off and put it back, ` +
      `and putting it back would undo that configuration too; run \`zlab config restore -s ${serial}\` first, calibrate, then apply it again`,
  );
}

/**
 * Run `body` (the calibration's baseline) with kswapd compressing every folio
 * itself. On a kernel that offloads, vm.kcompressd is set to 0 through the
 * configuration layer for the body and put back afterwards whatever happens
 * (its snapshot lets `zlab config restore` do it after a crash); the series'
 * `queued` counter must not move meanwhile. On a stock kernel, or with
 * offload already off, nothing is changed.
 */
export async function withStockReclaim<T>(
  device: DeviceShell,
  knobs: KcompressdKnobs | null,
  body: () => Promise<T>,
  options: ScriptOptions & { progress?: (line: string) => void } = {},
): Promise<{ value: T; offload: BaselineReclaim }> {
  const script: ScriptOptions = options.root !== undefined ? { root: options.root } : {};
  if (knobs === null) {
    return { value: await body(), offload: { knobs, turnedOff: false, queuedDuringBaseline: null, note: 'stock kernel: no kcompressd' } };
  }
  const counted = async () => {
    const before = await readKcompressdQueued(device, script);
    const value = await body();
    const after = await readKcompressdQueued(device, script);
    const queued = before !== null && after !== null ? after - before : null;
    if (queued !== null && queued > 0) {
      throw new ZlabError('device', `${device.serial}: kcompressd took ${queued} folio(s) during the baseline although offload was off (${KCOMPRESSD_DEPTH_FILE} = 0): the baseline is not stock reclaim`);
    }
    return { value, queued };
  };
  if (!offloads(knobs)) {
    const { value, queued } = await counted();
    return { value, offload: { knobs, turnedOff: false, queuedDuringBaseline: queued, note: `offload already off (${describeKnobs(knobs)}): nothing changed` } };
  }
  refusePendingConfiguration(device.serial);
  options.progress?.(`kcompressd offload off for the baseline (vm.kcompressd ${knobs.queueDepthPerThread} → 0, put back afterwards)`);
  const { value, queued } = await withConfiguration(device, { kcompressd: { queue_depth: 0 } }, counted, { ...script, handleSignals: false, ...(options.progress ? { progress: options.progress } : {}) });
  options.progress?.(`vm.kcompressd put back to ${knobs.queueDepthPerThread}`);
  return {
    value,
    offload: {
      knobs,
      turnedOff: true,
      queuedDuringBaseline: queued,
      note:
        `kcompressd offload off for the baseline: vm.kcompressd = 0 during the run (kswapd compressed every folio itself, as on a stock kernel), ` +
        `put back to ${knobs.queueDepthPerThread} afterwards; ${queued === null ? 'the kernel has no queued counter to confirm it' : `kcompressd queued ${queued} folios meanwhile`}`,
    },
  };
}

/**
 * The model's prediction for an eater run with this calibration, on the device
 * the run was on, for the kernel's reclaim design (default: stock; see
 * reclaimDesignFor() for a kcompressd kernel's).
 */
export function predictEatRun(
  calibration: Calibration,
  facts: DeviceFacts,
  summary: EaterSummary,
  figures: EatRunFigures,
  design: ReclaimDesignInput = { threads: 0 },
): RunPrediction {
  const c = summary.config;
  const ram = figures.memTotalBytes ?? undefined;
  const available = figures.availableBytes !== null && ram !== undefined ? Math.min(figures.availableBytes, ram) : undefined;
  return predictRun(
    parseModelInput({
      device: {
        name: facts.name,
        kernelRelease: facts.kernelRelease,
        cpus: facts.cpus,
        ...(ram !== undefined ? { ramBytes: ram } : {}),
        ...(available !== undefined ? { availableBytes: available } : {}),
        zram: facts.zram,
        zeromap: true,
      },
      workload: {
        sizeBytes: c.sizeMib * 1024 * 1024,
        zeroFraction: c.zeroPct / 100,
        sameFilledFraction: c.sameFilledPct / 100,
        ratio: c.ratio,
        rateMiBps: c.rateMibps,
        workers: c.workers,
        retouchPasses: c.retouchPasses,
        pageCounts: { zero: summary.pages.zero, sameFilled: summary.pages.sameFilled, compressible: summary.pages.data },
      },
      costs: calibration.costs,
      design,
    }),
  );
}

/**
 * same_pages as the model states it exactly: every same-filled page that is
 * out is one same_pages entry, zero pages go to the zeromap. Applied to the
 * pages the eater's census found out in swap.
 */
export function samePagesAtCensus(census: { zero: number; sameFilled: number; data: number }): number {
  const out = census.zero + census.sameFilled + census.data;
  return expectedSamePages({ swappedPages: out, anonPages: out, sameFilledPages: census.sameFilled, zeroPages: census.zero }, true);
}

export type { EatResult };

/**
 * same_pages at the end of a fill by the model's own law, with the pages that
 * went out measured (pswpout + swpout_zero) instead of taken from the memory
 * balance: the generator deals kinds by a hash, so the same-filled share of
 * what is out is their share of what was written.
 */
export function samePagesForPagesOut(summary: EaterSummary, pagesOut: number): number {
  const p = summary.pages;
  const anon = p.zero + p.sameFilled + p.data;
  return expectedSamePages({ swappedPages: Math.min(pagesOut, anon), anonPages: anon, sameFilledPages: p.sameFilled, zeroPages: p.zero }, true);
}
