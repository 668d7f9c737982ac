import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { AlgorithmSchema, type Algorithm } from './device-profile.js';
import { compressCostUs, CostsSchema, DataClassSchema, type CompressCost, type Costs, type CostsInput, type DataClass } from './costs.js';
import { PAGE_BYTES } from './workload.js';

/**
 * Calibration as pure functions over measured numbers. The device-side
 * measuring (writing the eater's patterns to a scratch zram device, a stock
 * baseline run) produces the numbers; these functions turn them into costs.
 */

/** One compression measurement: bytes written to zram and the CPU time it took. */
export const CompressSampleSchema = z
  .object({
    algorithm: AlgorithmSchema,
    dataClass: DataClassSchema,
    ratio: z.number().min(1).max(64).optional(),
    bytes: z.number().positive(),
    cpuUs: z.number().nonnegative(),
  })
  .strict();
export type CompressSample = z.infer<typeof CompressSampleSchema>;

/**
 * t2 per algorithm × data class (× ratio): CPU time over pages, pooled over
 * repeated samples of the same cell (total time over total pages, so long
 * samples weigh more than short ones).
 */
export function t2FromSamples(samples: readonly CompressSample[]): CompressCost[] {
  if (samples.length === 0) throw new UsageError('t2 calibration needs at least one compression sample');
  const cells = new Map<string, { algorithm: Algorithm; dataClass: DataClass; ratio?: number; pages: number; cpuUs: number }>();
  samples.forEach((raw, i) => {
    const parsed = CompressSampleSchema.safeParse(raw);
    if (!parsed.success) throw new UsageError(`compression sample ${i}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    const s = parsed.data;
    if (s.dataClass === 'compressible' && s.ratio === undefined) {
      throw new UsageError(`compression sample ${i}: a compressible sample needs the ratio of its data`);
    }
    const ratio = s.dataClass === 'compressible' ? s.ratio : undefined;
    const key = `${s.algorithm}/${s.dataClass}/${ratio ?? ''}`;
    const cell = cells.get(key) ?? { algorithm: s.algorithm, dataClass: s.dataClass, ...(ratio !== undefined ? { ratio } : {}), pages: 0, cpuUs: 0 };
    cell.pages += s.bytes / PAGE_BYTES;
    cell.cpuUs += s.cpuUs;
    cells.set(key, cell);
  });
  return [...cells.values()]
    .map(({ pages, cpuUs, ...cell }) => ({ ...cell, usPerPage: cpuUs / pages }))
    .sort((a, b) => (a.algorithm + a.dataClass).localeCompare(b.algorithm + b.dataClass) || (a.ratio ?? 0) - (b.ratio ?? 0));
}

/** What a stock baseline run says about kswapd: its CPU time and what it stole, over the pressure window. */
export const BaselineRunSchema = z
  .object({
    kswapdCpuUs: z.number().positive(),
    /** pgsteal_kswapd split by type over the same window (anon and file). */
    anonSteals: z.number().nonnegative(),
    fileSteals: z.number().nonnegative(),
    /** Mean t2 per anon page of this run's data, from the t2 calibration. */
    t2UsPerAnonPage: z.number().nonnegative(),
  })
  .strict();
export type BaselineRun = z.infer<typeof BaselineRunSchema>;

export interface ScanCosts {
  t1Us: number;
  t3Us: number;
  /** 'solved' from two or more runs that mix anon and file differently; 't3-given' otherwise. */
  method: 'solved' | 't3-given';
  /** Root-mean-square misfit of kswapd CPU per run, µs. */
  residualUs: number;
}

/**
 * t1 and t3 from stock baseline runs. On a stock kernel kswapd's CPU time is
 *   cpu = anon·(t1 + t2) + file·t3,
 * so with t2 known, y = cpu − anon·t2 = anon·t1 + file·t3: one run gives t1
 * when t3 is given (or no file folios were reclaimed); runs that differ in
 * their anon/file mix give both by least squares.
 */
export function scanCostsFromBaseline(runs: readonly BaselineRun[], options: { t3Us?: number } = {}): ScanCosts {
  if (runs.length === 0) throw new UsageError('t1/t3 calibration needs at least one baseline run');
  const parsed = runs.map((r, i) => {
    const p = BaselineRunSchema.safeParse(r);
    if (!p.success) throw new UsageError(`baseline run ${i}: ${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}`);
    if (p.data.anonSteals + p.data.fileSteals === 0) throw new UsageError(`baseline run ${i}: kswapd stole nothing, so it says nothing about t1`);
    return p.data;
  });
  const ys = parsed.map((r) => r.kswapdCpuUs - r.anonSteals * r.t2UsPerAnonPage);
  const a = parsed.map((r) => r.anonSteals);
  const f = parsed.map((r) => r.fileSteals);

  let t1: number;
  let t3: number;
  let method: ScanCosts['method'];
  // Normal equations of y = a·t1 + f·t3.
  const saa = dot(a, a);
  const sff = dot(f, f);
  const saf = dot(a, f);
  const det = saa * sff - saf * saf;
  if (options.t3Us === undefined && parsed.length >= 2 && det > 1e-9 * saa * sff) {
    t1 = (sff * dot(a, ys) - saf * dot(f, ys)) / det;
    t3 = (saa * dot(f, ys) - saf * dot(a, ys)) / det;
    method = 'solved';
  } else {
    t3 = options.t3Us ?? 0;
    if (options.t3Us === undefined && sff > 0) {
      throw new UsageError('baseline runs reclaimed file folios but do not separate t1 from t3: give t3 or add a run with another anon/file mix');
    }
    if (saa === 0) throw new UsageError('baseline runs reclaimed no anonymous folios, so they say nothing about t1');
    t1 = (dot(a, ys) - t3 * saf) / saa;
    method = 't3-given';
  }
  if (t1 < 0 || t3 < 0) {
    throw new UsageError(
      `baseline runs are inconsistent with the t2 calibration: kswapd used less CPU than compression alone would (t1 = ${t1.toFixed(3)} µs, t3 = ${t3.toFixed(3)} µs)`,
    );
  }
  const residuals = ys.map((y, i) => y - a[i]! * t1 - f[i]! * t3);
  const residualUs = Math.sqrt(dot(residuals, residuals) / residuals.length);
  return { t1Us: t1, t3Us: t3, method, residualUs };
}

/** Mean t2 per anon page for a class mix, from per-class costs. */
export function meanT2(mix: { zero: number; sameFilled: number; compressible: number }, t2: { zero: number; sameFilled: number; compressible: number }): number {
  return mix.zero * t2.zero + mix.sameFilled * t2.sameFilled + mix.compressible * t2.compressible;
}

/** What the eater did in a stock baseline's pressure window, for the direct-reclaim cost. */
export const DirectReclaimRunSchema = z
  .object({
    /** The eater's CPU time over the window (all its threads). */
    eaterCpuUs: z.number().nonnegative(),
    /** Pages the eater allocated and filled in the window. */
    allocatedPages: z.number().nonnegative(),
    /** The eater's own CPU per page it faults in and fills, outside reclaim. */
    faultUs: z.number().positive(),
    /** pgsteal_direct split by type over the window. */
    anonSteals: z.number().nonnegative(),
    fileSteals: z.number().nonnegative(),
    /** Mean t2 per anon page of this run's data, from the t2 calibration. */
    t2UsPerAnonPage: z.number().nonnegative(),
  })
  .strict();
export type DirectReclaimRun = z.infer<typeof DirectReclaimRunSchema>;

/**
 * t1 on the direct-reclaim path. The eater's CPU in the pressure window is
 *   cpu = allocated·fault + direct_anon·(t1d + t2) + direct_file·t3,
 * so t1d = (cpu − allocated·fault − direct_anon·t2 − direct_file·t3) / direct_anon,
 * pooled over runs (total over total). Direct reclaim compresses inline, so t2
 * is the same per-page figure kswapd pays; what differs is the scan/unmap path.
 */
export function directScanCostFromBaseline(runs: readonly DirectReclaimRun[], t3Us: number): { t1DirectUs: number; directAnonSteals: number } {
  if (runs.length === 0) throw new UsageError('the direct-reclaim cost needs at least one baseline run');
  let rest = 0;
  let anon = 0;
  runs.forEach((r, i) => {
    const p = DirectReclaimRunSchema.safeParse(r);
    if (!p.success) throw new UsageError(`direct reclaim of baseline run ${i}: ${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}`);
    const d = p.data;
    rest += d.eaterCpuUs - d.allocatedPages * d.faultUs - d.anonSteals * d.t2UsPerAnonPage - d.fileSteals * t3Us;
    anon += d.anonSteals;
  });
  if (anon === 0) throw new UsageError('the baseline runs had no direct reclaim of anonymous folios, so they say nothing about its cost');
  const t1DirectUs = rest / anon;
  if (t1DirectUs < 0) {
    throw new UsageError(
      `the eater used less CPU than faulting its pages and compressing what it reclaimed would take (t1 direct = ${t1DirectUs.toFixed(3)} µs): its fault cost or the t2 calibration does not fit this run`,
    );
  }
  return { t1DirectUs, directAnonSteals: anon };
}

/**
 * A calibration kept per device and kernel release, versioned so that old
 * files are recognised. Version 2 adds the direct-reclaim cost (t1DirectUs);
 * version 1 files are still read and predict with kswapd's t1 for it
 * (`calibrationNotes()` says so).
 */
export const CALIBRATION_VERSION = 2;
export const READABLE_CALIBRATION_VERSIONS: readonly number[] = [1, 2];
export const CalibrationSchema = z
  .object({
    schema: z.literal('zlab.calibration'),
    version: z.union([z.literal(1), z.literal(CALIBRATION_VERSION)]),
    device: z.string().min(1).max(200),
    kernelRelease: z.string().min(1).max(200),
    createdAt: z.string().min(1),
    costs: CostsSchema,
    /** Where the numbers came from (run ids, sample counts), free-form. */
    sources: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type Calibration = z.output<typeof CalibrationSchema>;

/** What a reader should know before trusting predictions from this calibration. */
export function calibrationNotes(calibration: Calibration): string[] {
  if (calibration.costs.t1DirectUs !== undefined) return [];
  const why =
    calibration.version < 2
      ? `calibration version ${calibration.version} of ${calibration.device} on ${calibration.kernelRelease} (${calibration.createdAt}) predates the direct-reclaim cost`
      : `the calibration of ${calibration.device} on ${calibration.kernelRelease} has no direct-reclaim cost`;
  return [`${why}: the eater's own reclaim is charged kswapd's t1; recalibrate (zlab model calibrate -s SERIAL --force) for the term`];
}

export function makeCalibration(args: {
  device: string;
  kernelRelease: string;
  costs: Costs;
  sources?: Record<string, unknown>;
  now?: Date;
}): Calibration {
  return CalibrationSchema.parse({
    schema: 'zlab.calibration',
    version: CALIBRATION_VERSION,
    device: args.device,
    kernelRelease: args.kernelRelease,
    createdAt: (args.now ?? new Date()).toISOString(),
    costs: args.costs,
    sources: args.sources ?? {},
  });
}

/** A stock baseline run described by what it ran, so that its mean t2 can be looked up. */
export const BaselineObservationSchema = z
  .object({
    algorithm: AlgorithmSchema,
    ratio: z.number().min(1).max(64),
    mix: z
      .object({ zero: z.number().min(0).max(1), sameFilled: z.number().min(0).max(1), compressible: z.number().min(0).max(1) })
      .strict()
      .refine((m) => Math.abs(m.zero + m.sameFilled + m.compressible - 1) < 1e-6, { message: 'mix shares must sum to 1' }),
    kswapdCpuUs: z.number().positive(),
    anonSteals: z.number().nonnegative(),
    fileSteals: z.number().nonnegative(),
    /** The eater's side of the same window (pgsteal_direct, its CPU), for the direct-reclaim cost. */
    direct: z
      .object({
        eaterCpuUs: z.number().nonnegative(),
        allocatedPages: z.number().nonnegative(),
        faultUs: z.number().positive(),
        anonSteals: z.number().nonnegative(),
        fileSteals: z.number().nonnegative(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type BaselineObservation = z.infer<typeof BaselineObservationSchema>;

/** Everything `calibrateFromMeasurements()` needs, as one document (what `zlab model calibrate` reads). */
export const CalibrationRequestSchema = z
  .object({
    device: z.string().min(1).max(200),
    kernelRelease: z.string().min(1).max(200),
    samples: z.array(CompressSampleSchema).min(1),
    baselines: z.array(BaselineObservationSchema).min(1),
    t3Us: z.number().nonnegative().optional(),
    extra: z
      .object({
        enqueueUs: z.number().nonnegative().optional(),
        wakeUs: z.number().nonnegative().optional(),
        rescanFraction: z.number().min(0).max(10).optional(),
        faultUs: z.number().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CalibrationRequest = z.infer<typeof CalibrationRequestSchema>;

/**
 * The whole calibration from measured numbers: t2 from the compression
 * samples, then t1 (and t3) from the baselines with that t2 taken off.
 * Overheads that need a kcompressd kernel to measure (enqueue, wake-up,
 * re-scan) are carried over from `extra` or left at 0.
 */
export function calibrateFromMeasurements(args: {
  device: string;
  kernelRelease: string;
  samples: readonly CompressSample[];
  baselines: readonly BaselineObservation[];
  t3Us?: number;
  extra?: Omit<CostsInput, 't1Us' | 't3Us' | 't2Points' | 't2Us'>;
  now?: Date;
}): Calibration {
  const t2Points = t2FromSamples(args.samples);
  const lookup = CostsSchema.parse({ t1Us: 0, t2Points });
  const runs = args.baselines.map((b) => {
    const cost = (cls: DataClass, share: number): number =>
      share > 0 ? compressCostUs(lookup, b.algorithm, cls, cls === 'compressible' ? b.ratio : undefined) : 0;
    return {
      kswapdCpuUs: b.kswapdCpuUs,
      anonSteals: b.anonSteals,
      fileSteals: b.fileSteals,
      t2UsPerAnonPage: meanT2(b.mix, {
        zero: cost('zero', b.mix.zero),
        sameFilled: cost('sameFilled', b.mix.sameFilled),
        compressible: cost('compressible', b.mix.compressible),
      }),
    };
  });
  const scan = scanCostsFromBaseline(runs, args.t3Us === undefined ? {} : { t3Us: args.t3Us });
  const directRuns = args.baselines.flatMap((b, i) => (b.direct ? [{ ...b.direct, t2UsPerAnonPage: runs[i]!.t2UsPerAnonPage }] : []));
  const direct = directRuns.length > 0 ? directScanCostFromBaseline(directRuns, scan.t3Us) : undefined;
  return makeCalibration({
    device: args.device,
    kernelRelease: args.kernelRelease,
    costs: CostsSchema.parse({ ...args.extra, t1Us: scan.t1Us, ...(direct ? { t1DirectUs: direct.t1DirectUs } : {}), t3Us: scan.t3Us, t2Points }),
    sources: {
      compressSamples: args.samples.length,
      baselineRuns: args.baselines.length,
      scanMethod: scan.method,
      residualUs: scan.residualUs,
      directReclaim: direct ? { runs: directRuns.length, anonSteals: direct.directAnonSteals } : 'not measured: no baseline gave the eater’s CPU and direct steals',
    },
    ...(args.now ? { now: args.now } : {}),
  });
}

function dot(x: readonly number[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}
