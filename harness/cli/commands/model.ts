import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import Table from 'cli-table3';
import { UsageError } from '../../util/errors.js';
import { exitCodeForSignal, guardSignals } from '../../util/signal-guard.js';
import { calibrateFromMeasurements, CalibrationRequestSchema, calibrationNotes, type Calibration } from '../../model/calibration.js';
import { findCalibration, listCalibrations, readCalibrationFile, saveCalibration } from '../../model/calibration-store.js';
import { ALGORITHMS, type Algorithm } from '../../model/device-profile.js';
import { explainRun, parseExplainInput } from '../../model/explain.js';
import { describeZodIssues, ModelInputSchema, type ModelInput } from '../../model/model-input.js';
import { phonePreset } from '../../model/phone-preset.js';
import { predictRun, type RunPrediction } from '../../model/run-prediction.js';
import { parseAdbServer } from '../../device/adb-host.js';
import { Device } from '../../device/device.js';
import { calibrateDevice } from '../../model/device-calibration.js';
import { stateDir } from '../../util/state-dir.js';
import { printJson } from '../output.js';

/** Raw option values as commander hands them over: every value is a string until checked here. */
interface PredictFlags {
  input?: string;
  preset?: string;
  calibration?: string;
  t1Us?: string;
  t2Us?: string;
  t3Us?: string;
  threads?: string;
  queueDepth?: string;
  fallback?: string;
  sameFilledInline?: boolean;
  cpus?: string;
  busyCpus?: string;
  ram?: string;
  available?: string;
  algorithm?: string;
  zramSize?: string;
  zeromap?: boolean;
  enqueueUs?: string;
  wakeUs?: string;
  rescan?: string;
  faultUs?: string;
  size?: string;
  zero?: string;
  sameFilled?: string;
  ratio?: string;
  rateMibps?: string;
  workers?: string;
  fileMib?: string;
  retouch?: string;
  anonShare?: string;
  simulate?: boolean;
  pages?: string;
  seed?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const model = program.command('model').description('the reference model: what a run should show, and where it diverged');

  model
    .command('predict')
    .description('predict reclaim rates, CPU shares, stalls and zram counters from costs, a calibration or a parameter file')
    .option('--input <file>', 'model input as JSON: {device, workload, costs, design}')
    .option('--preset <name>', 'a documented parameter set: "phone" (the seed\'s handheld)')
    .option('--calibration <file|device@kernel>', 'costs from a calibration file, or the stored one for device@kernel')
    .option('--t1-us <µs>', 'scan and unmap one anonymous folio')
    .option('--t2-us <µs>', 'compress one anonymous folio (any algorithm and data class)')
    .option('--t3-us <µs>', 'reclaim one file folio')
    .option('--threads <k>', 'compressor threads; 0 is the stock kernel')
    .option('--queue-depth <n>', 'folios the compressor queue holds in all')
    .option('--fallback <mode>', 'when the queue is full: sync (kswapd compresses) or block')
    .option('--same-filled-inline', 'same-filled detection happens in kswapd before queueing')
    .option('--cpus <n>', 'CPUs of the device')
    .option('--busy-cpus <n>', 'CPUs kept busy by background load')
    .option('--ram <size>', 'RAM of the device, e.g. 1G')
    .option('--available <size>', 'memory available to the eater when it starts')
    .option('--algorithm <name>', `zram compressor: ${ALGORITHMS.join(', ')}`)
    .option('--zram-size <size>', 'zram disksize')
    .option('--no-zeromap', 'the kernel has no swap zeromap (before 6.12): zero pages reach zram')
    .option('--enqueue-us <µs>', "kswapd's cost to queue one folio")
    .option('--wake-us <µs>', "a compressor thread's cost to be woken")
    .option('--rescan <share>', 'extra scan work per queued folio, as a share of t1')
    .option('--fault-us <µs>', "the eater's CPU per page it faults in and fills")
    .option('--size <size>', 'eater: anonymous memory to fill, e.g. 1536M or 1.5G')
    .option('--zero <percent>', 'eater: share of zero pages, e.g. 5%')
    .option('--same-filled <percent>', 'eater: share of same-filled pages, e.g. 10%')
    .option('--ratio <r>', 'eater: compression ratio of the other pages (3 means 3:1)')
    .option('--rate-mibps <n>', 'eater: allocation rate, 0 = as fast as it can')
    .option('--workers <n>', 'eater: worker processes')
    .option('--file-mib <n>', 'eater: file read repeatedly into the page cache, MiB')
    .option('--retouch <n>', 'eater: passes that fault the buffer back in')
    .option('--anon-share <share>', 'share of reclaimed folios that are anonymous (0..1)')
    .option('--simulate', 'also run the discrete-event simulation')
    .option('--pages <n>', 'simulation: folios to reclaim', '50000')
    .option('--seed <n>', 'simulation: seed', '1')
    .option('--json', 'print one JSON document')
    .action((flags: PredictFlags) => {
      const input = buildModelInput(flags);
      const simulate = flags.simulate
        ? { pages: integerFlag('--pages', flags.pages!, 100, 10_000_000), seed: integerFlag('--seed', flags.seed!, 0, 2 ** 32 - 1) }
        : undefined;
      const prediction = predictRun(input, simulate ? { simulate } : {});
      if (flags.json) printJson(prediction);
      else process.stdout.write(renderPrediction(prediction));
    });

  model
    .command('explain')
    .description("tell where a run's time went: a JSON file with {prediction, measured}")
    .argument('<file>', 'the prediction (from predict --json) and the measured metrics')
    .option('--json', 'print one JSON document')
    .action((file: string, flags: { json?: boolean }) => {
      const explanation = explainRun(parseExplainInput(readJson(file, file), file));
      if (flags.json) printJson(explanation);
      else process.stdout.write(`${explanation.lines.join('\n')}\n`);
      if (explanation.divergence.worst === 'bug') process.exitCode = 1;
    });

  model
    .command('calibrate')
    .description('measure t1/t2 on a device (-s SERIAL) or turn measured numbers (FILE) into a calibration, stored per device and kernel')
    .argument('[file]', 'JSON: {device, kernelRelease, samples: [{algorithm, dataClass, ratio?, bytes, cpuUs}], baselines: [{algorithm, ratio, mix, kswapdCpuUs, anonSteals, fileSteals}], t3Us?, extra?}')
    .option('-s, --serial <serial>', 'measure on this device: t2 with zramcost, t1 from a stock baseline eater run (on a kcompressd kernel with offload off for it, put back afterwards)')
    .option('--adb-server <host:port>', 'adb server the device is on')
    .option('--algorithms <list>', `compressors to measure, comma-separated (${ALGORITHMS.join(', ')})`, 'lz4,zstd')
    .option('--ratios <list>', 'data ratios to measure t2 at, comma-separated', '2,3,4')
    .option('--force', 'measure again even when a calibration for this device and kernel is stored')
    .option('--out-dir <dir>', "where to keep the baseline run's record and summary")
    .option('--json', 'print one JSON document')
    .action(async (file: string | undefined, flags: CalibrateFlags) => {
      if (file !== undefined && flags.serial !== undefined) throw new UsageError('give a measurements FILE or -s SERIAL, not both');
      if (file === undefined && flags.serial === undefined) throw new UsageError('give a measurements FILE, or -s SERIAL to measure on a device');
      if (file !== undefined) {
        const parsed = CalibrationRequestSchema.safeParse(readJson(file, file));
        if (!parsed.success) throw new UsageError(`${file}: ${describeZodIssues(parsed.error)}`);
        const calibration = calibrateFromMeasurements(parsed.data);
        const path = saveCalibration(calibration);
        if (flags.json) printJson({ path, calibration });
        else process.stdout.write(`stored ${path}\n${describeCosts(calibration)}`);
        return;
      }
      const serial = flags.serial!;
      if (!/^[A-Za-z0-9._:-]+$/.test(serial)) throw new UsageError(`--serial: "${serial}" is not a device serial`);
      const algorithms = listFlag('--algorithms', flags.algorithms!, (v) => choiceFlag('--algorithms', v, ALGORITHMS) as Algorithm);
      const ratios = listFlag('--ratios', flags.ratios!, (v) => numberFlag('--ratios', v, 1, 12));
      const server = flags.adbServer !== undefined ? parseAdbServer(flags.adbServer) : undefined;
      const device = await Device.open(serial, server ? { server } : {});
      const localDir = flags.outDir ?? stateDir('runs', `calibrate-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      // Held for the whole calibration: a signal stops the baseline run, and a kcompressd kernel's offload is put back before exiting.
      const guard = guardSignals();
      let result: Awaited<ReturnType<typeof calibrateDevice>>;
      try {
        result = await calibrateDevice(device, { algorithms, ratios, force: flags.force === true }, { localDir, signal: guard.signal, progress: (m) => process.stderr.write(`${m}\n`) });
      } finally {
        guard.release();
      }
      if (flags.json) printJson({ path: result.path, reused: result.reused, calibration: result.calibration });
      else process.stdout.write(`${result.reused ? 'reused' : 'stored'} ${result.path}\n${describeCosts(result.calibration)}`);
      if (guard.received) process.exitCode = exitCodeForSignal(guard.received);
    });

  model
    .command('calibrations')
    .description('list the stored calibrations (per device and kernel release)')
    .option('--json', 'print one JSON document')
    .action((flags: { json?: boolean }) => {
      const all = listCalibrations();
      if (flags.json) {
        printJson(all);
        return;
      }
      const table = new Table({ head: ['device', 'kernel', 'created', 't1 µs', 't3 µs', 't2 points'], style: { head: [], border: [] } });
      for (const c of all) table.push([c.device, c.kernelRelease, c.createdAt, c.costs.t1Us.toFixed(3), c.costs.t3Us.toFixed(3), String(c.costs.t2Points.length)]);
      process.stdout.write(all.length > 0 ? `${table.toString()}\n` : 'no calibrations stored\n');
    });
}

/**
 * Layers, each overriding the one before: a preset or an input file, then a
 * calibration's costs, then single flags. The result is validated as a whole.
 */
export function buildModelInput(flags: PredictFlags): ModelInput {
  if (flags.input !== undefined && flags.preset !== undefined) throw new UsageError('--input and --preset exclude each other: give one');
  let base: Record<string, unknown> = {};
  if (flags.preset !== undefined) {
    if (flags.preset !== 'phone') throw new UsageError(`--preset: "${flags.preset}" is not a preset; the one preset is "phone"`);
    base = phonePreset() as Record<string, unknown>;
  } else if (flags.input !== undefined) {
    const raw = readJson(flags.input, `--input ${flags.input}`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`--input ${flags.input}: expected a JSON object`);
    base = raw as Record<string, unknown>;
  }
  const device = { ...(base.device as Record<string, unknown> | undefined) };
  const zram = { ...(device.zram as Record<string, unknown> | undefined) };
  let costs = { ...(base.costs as Record<string, unknown> | undefined) };
  const design = { ...(base.design as Record<string, unknown> | undefined) };
  const workload = base.workload === undefined ? undefined : { ...(base.workload as Record<string, unknown>) };

  if (flags.calibration !== undefined) {
    const calibration = loadCalibration(flags.calibration);
    for (const note of calibrationNotes(calibration)) process.stderr.write(`note: ${note}\n`);
    costs = { ...calibration.costs };
    device.name ??= calibration.device;
    device.kernelRelease ??= calibration.kernelRelease;
  }

  const set = (target: Record<string, unknown>, key: string, value: unknown): void => {
    if (value !== undefined) target[key] = value;
  };
  set(costs, 't1Us', opt(flags.t1Us, (v) => numberFlag('--t1-us', v, 0, 1e6)));
  set(costs, 't2Us', opt(flags.t2Us, (v) => numberFlag('--t2-us', v, 0, 1e6)));
  set(costs, 't3Us', opt(flags.t3Us, (v) => numberFlag('--t3-us', v, 0, 1e6)));
  set(costs, 'enqueueUs', opt(flags.enqueueUs, (v) => numberFlag('--enqueue-us', v, 0, 1e6)));
  set(costs, 'wakeUs', opt(flags.wakeUs, (v) => numberFlag('--wake-us', v, 0, 1e6)));
  set(costs, 'rescanFraction', opt(flags.rescan, (v) => numberFlag('--rescan', v, 0, 10)));
  set(costs, 'faultUs', opt(flags.faultUs, (v) => numberFlag('--fault-us', v, 1e-6, 1e6)));
  // A t2 given on the command line is meant: it replaces every measured point.
  if (flags.t2Us !== undefined) costs.t2Points = [];

  set(design, 'threads', opt(flags.threads, (v) => integerFlag('--threads', v, 0, 256)));
  set(design, 'queueDepth', opt(flags.queueDepth, (v) => integerFlag('--queue-depth', v, 1, 1_000_000)));
  set(design, 'fallback', opt(flags.fallback, (v) => choiceFlag('--fallback', v, ['sync', 'block'] as const)));
  if (flags.sameFilledInline) design.sameFilledInline = true;

  set(device, 'cpus', opt(flags.cpus, (v) => integerFlag('--cpus', v, 1, 4096)));
  set(device, 'backgroundCpus', opt(flags.busyCpus, (v) => numberFlag('--busy-cpus', v, 0, 4096)));
  set(device, 'ramBytes', opt(flags.ram, (v) => sizeFlag('--ram', v)));
  set(device, 'availableBytes', opt(flags.available, (v) => sizeFlag('--available', v)));
  set(zram, 'algorithm', opt(flags.algorithm, (v) => choiceFlag('--algorithm', v, ALGORITHMS) as Algorithm));
  set(zram, 'disksizeBytes', opt(flags.zramSize, (v) => sizeFlag('--zram-size', v)));
  if (flags.zeromap === false) device.zeromap = false;
  if (Object.keys(zram).length > 0) device.zram = zram;
  if (device.cpus === undefined) throw new UsageError('--cpus is required (or give --input or --preset)');
  if (costs.t1Us === undefined) throw new UsageError('--t1-us is required (or give --calibration, --input or --preset)');

  const workloadFlags: Record<string, unknown> = {};
  set(workloadFlags, 'sizeBytes', opt(flags.size, (v) => sizeFlag('--size', v)));
  set(workloadFlags, 'zeroFraction', opt(flags.zero, (v) => percentFlag('--zero', v)));
  set(workloadFlags, 'sameFilledFraction', opt(flags.sameFilled, (v) => percentFlag('--same-filled', v)));
  set(workloadFlags, 'ratio', opt(flags.ratio, (v) => numberFlag('--ratio', v, 1, 64)));
  set(workloadFlags, 'rateMiBps', opt(flags.rateMibps, (v) => numberFlag('--rate-mibps', v, 0, 1e7)));
  set(workloadFlags, 'workers', opt(flags.workers, (v) => integerFlag('--workers', v, 1, 1024)));
  set(workloadFlags, 'fileBackedMiB', opt(flags.fileMib, (v) => numberFlag('--file-mib', v, 0, 1e9)));
  set(workloadFlags, 'retouchPasses', opt(flags.retouch, (v) => integerFlag('--retouch', v, 0, 1000)));
  let mergedWorkload = workload;
  if (Object.keys(workloadFlags).length > 0) {
    mergedWorkload = { ...workload, ...workloadFlags };
    if (mergedWorkload.sizeBytes === undefined) throw new UsageError('--size is required with the other eater flags (--zero, --ratio, …)');
  }

  const assembled: Record<string, unknown> = { ...base, device, costs, design };
  if (mergedWorkload !== undefined) assembled.workload = mergedWorkload;
  set(assembled, 'anonShare', opt(flags.anonShare, (v) => numberFlag('--anon-share', v, 0, 1)));

  const parsed = ModelInputSchema.safeParse(assembled);
  if (!parsed.success) {
    const origin = flags.input !== undefined ? `--input ${flags.input}` : 'model parameters';
    throw new UsageError(`${origin}: ${describeZodIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** A calibration file, or for `device@kernel` (no such file) the stored calibration of that pair. */
function loadCalibration(spec: string): Calibration {
  if (existsSync(spec)) return readCalibrationFile(spec);
  const m = /^([^@]+)@([^@]+)$/.exec(spec);
  if (!m) throw new UsageError(`--calibration: no file "${spec}"; give a calibration file or device@kernel for a stored one`);
  const stored = findCalibration(m[1]!, m[2]!);
  if (!stored) throw new UsageError(`--calibration: no stored calibration for device "${m[1]}" and kernel "${m[2]}" (see zlab model calibrations)`);
  return stored;
}

interface CalibrateFlags {
  serial?: string;
  adbServer?: string;
  algorithms?: string;
  ratios?: string;
  force?: boolean;
  outDir?: string;
  json?: boolean;
}

function describeCosts(calibration: Calibration): string {
  const c = calibration.costs;
  return (
    `t1 = ${c.t1Us.toFixed(3)} µs, t1 direct = ${c.t1DirectUs !== undefined ? `${c.t1DirectUs.toFixed(3)} µs` : 'not measured'}, t3 = ${c.t3Us.toFixed(3)} µs, ${c.t2Points.length} t2 point(s): ` +
    `${c.t2Points.map((p) => `${p.algorithm}/${p.dataClass}${p.ratio !== undefined ? `@${p.ratio}` : ''} ${p.usPerPage.toFixed(3)} µs`).join(', ')}\n`
  );
}

/** A comma-separated flag, every entry checked; duplicates dropped. */
function listFlag<T>(flag: string, text: string, parse: (v: string) => T): T[] {
  const items = text.split(',').map((v) => v.trim());
  if (items.length === 0 || items.some((v) => v.length === 0)) throw new UsageError(`${flag}: "${text}" is not a comma-separated list`);
  return [...new Set(items.map(parse))];
}

function opt<T>(value: string | undefined, parse: (v: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function numberFlag(flag: string, text: string, min: number, max: number): number {
  const trimmed = text.trim();
  if (!NUMBER_RE.test(trimmed)) throw new UsageError(`${flag}: "${text}" is not a number`);
  const value = Number(trimmed);
  if (value < min || value > max) throw new UsageError(`${flag}: ${text} is out of range; use ${min} to ${max}`);
  return value;
}

export function integerFlag(flag: string, text: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new UsageError(`${flag}: "${text}" is not a whole number`);
  return numberFlag(flag, text, min, max);
}

function choiceFlag<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`${flag}: "${text}" is not one of ${choices.join(', ')}`);
  return text as T;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A byte size with a binary unit: 4096, 512K, 1536M, 1.5G. */
export function sizeFlag(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  const bytes = m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!) : NaN;
  if (!m || !(bytes > 0)) throw new UsageError(`${flag}: "${text}" is not a size; use 512M, 1.5G or a byte count`);
  return bytes;
}

/** A share written as a percentage, "10%" or "10", returned as a fraction. */
export function percentFlag(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const value = m ? Number(m[1]) : NaN;
  if (!m || value > 100) throw new UsageError(`${flag}: "${text}" is not a percentage from 0% to 100%`);
  return value / 100;
}

function readJson(path: string, origin: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${origin}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${origin}: not valid JSON (${(err as Error).message})`);
  }
}

function renderPrediction(r: RunPrediction): string {
  const lines: string[] = [];
  const threads = r.params.threads;
  lines.push(
    `${threads === 0 ? 'stock kernel' : `${threads} compressor thread(s)`}: ${Math.round(r.pgstealAnonPerSec)} pgsteal_anon/s` +
      (threads > 0 ? ` (stock ${Math.round(r.stockPgstealAnonPerSec)}/s, ${r.speedup.toFixed(2)}×)` : '') +
      `, bottleneck ${r.bottleneck}`,
  );
  const table = new Table({ head: ['metric', 'predicted', 'band', 'kind', 'unit'], style: { head: [], border: [] } });
  for (const p of r.predictions) table.push([p.metric, show(p.value), `${show(p.low)} … ${show(p.high)}`, p.kind, p.unit]);
  lines.push(table.toString());
  if (r.simulation) {
    const s = r.simulation;
    lines.push(
      `simulation: ${Math.round(s.pgstealAnonPerSec)} pgsteal_anon/s, queue mean ${s.meanQueueOccupancy.toFixed(1)} max ${s.maxQueueOccupancy}, ` +
        `fallback ${(s.fallbackShare * 100).toFixed(1)} %, allocstall ${s.allocstallPerSec.toFixed(1)}/s`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function show(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toString() : Number(v.toPrecision(3)).toString();
}
