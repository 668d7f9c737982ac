import type { Prediction } from '../analysis/model-divergence.js';
import type { SamplerRecord } from '../collect/sampler-record.js';
import { calibrationNotes, type Calibration } from '../model/calibration.js';
import { findCalibration } from '../model/calibration-store.js';
import { AlgorithmSchema } from '../model/device-profile.js';
import { predictEatRun, type DeviceFacts } from '../model/device-calibration.js';
import { eatRunFigures } from '../model/eat-run-figures.js';
import { describeKnobs, KcompressdKnobsSchema, offloads, reclaimDesignFor, type KcompressdKnobs } from '../model/kcompressd-design.js';
import type { MetricName as ModelMetric } from '../model/run-prediction.js';
import type { LoadedPlan } from '../plan/load-plan.js';
import type { Cell } from '../plan/matrix.js';
import { errorMessage } from '../util/errors.js';
import type { EaterSummary } from '../workload/eater-summary.js';

/**
 * What every cell must show whatever the kernel: predictions of kind
 * "exact", where any divergence is a bug in the kernel or in zlab.
 *
 * - corrupt_pages: every page the eater reads back must be what it wrote.
 * - same_pages_error: zram's same_pages growth minus the same-filled pages the
 *   eater had out in swap. Other processes' pages (the guest's tools, adbd)
 *   can add a few; a page still in the swap cache can take one away.
 */
export const SAME_PAGES_ALLOWANCE = 64;

export function cellPredictions(_loaded: LoadedPlan, _cell: Cell): Prediction[] {
  return [
    { metric: 'corrupt_pages', predicted: 0, low: 0, high: 0, kind: 'exact' },
    { metric: 'same_pages_error', predicted: 0, low: -SAME_PAGES_ALLOWANCE, high: SAME_PAGES_ALLOWANCE, kind: 'exact' },
  ];
}

/**
 * The model's metrics under the report catalogue's names. Only those the
 * catalogue measures the same way: pswpout is a total in the model and a rate
 * in the catalogue, and same_pages is held exactly by same_pages_error.
 */
export const CATALOG_METRIC: Partial<Record<ModelMetric, string>> = {
  pgstealAnonPerSec: 'pgsteal_anon_per_s',
  pgstealFilePerSec: 'pgsteal_file_per_s',
  kswapdCpuShare: 'kswapd_cpu_share',
  kcompressdCpuShare: 'kcompressd_cpu_share',
  allocstallPerSec: 'allocstall_per_s',
  compressionRatio: 'compression_ratio',
};

/** What one finished job offers for a calibrated prediction. */
export interface JobRun {
  /** ro.product.* and the serial, as the collect stage records them. */
  device: Record<string, unknown>;
  kernelRelease: string;
  /**
   * vm.kcompressd and vm.kcompressd_threads as the collect stage read them:
   * null on a kernel without them (stock), undefined when not recorded.
   */
  kcompressd?: KcompressdKnobs | null;
  summary: EaterSummary;
  record: SamplerRecord;
}

export type CalibratedOutcome =
  | { recorded: true; calibration: Calibration; predictions: Prediction[]; notes: string[]; design: string }
  | { recorded: false; reason: string };

/** The name a device's calibration is stored under: its model, else its serial (as `zlab model calibrate` names it). */
export function calibrationDeviceName(device: Record<string, unknown>): string | undefined {
  const model = device['ro.product.model'];
  if (typeof model === 'string' && model.trim() !== '') return model.trim();
  const serial = device.serial;
  return typeof serial === 'string' && serial !== '' ? serial : undefined;
}

/**
 * Calibrated predictions for one job, from the calibration stored for its
 * device and kernel release, with the model's own bands, for the kernel's
 * reclaim design: stock, or the kcompressd design its knobs say. No
 * calibration, or a run the model cannot describe, gives a reason instead:
 * a band is never made up.
 */
export function calibratedPredictions(run: JobRun, find: typeof findCalibration = findCalibration): CalibratedOutcome {
  const name = calibrationDeviceName(run.device);
  if (name === undefined) return { recorded: false, reason: 'the device has neither a model name nor a serial to look its calibration up by' };
  const calibration = find(name, run.kernelRelease);
  if (!calibration) {
    return { recorded: false, reason: `no calibration for ${name} on ${run.kernelRelease}: no calibrated predictions (zlab model calibrate -s SERIAL)` };
  }
  // The model needs the design (threads, queue depth, fallback) of a kcompressd
  // kernel: the collect stage records the kernel's knobs.
  const compressors = [...run.record.threads.values()].filter((t) => t.comm.startsWith('kcompressd')).length;
  if (run.kcompressd === undefined && compressors > 0) {
    return { recorded: false, reason: `${compressors} kcompressd thread(s) ran but the job did not record the kernel's kcompressd knobs: its design is not known, no calibrated predictions` };
  }
  if (run.kcompressd === null && compressors > 0) {
    return { recorded: false, reason: `${compressors} kcompressd thread(s) ran on a kernel without vm.kcompressd knobs: not the design the model knows, no calibrated predictions` };
  }
  const knobs = run.kcompressd ?? null;
  const algorithm = AlgorithmSchema.safeParse(run.record.header.meta['zram0.comp_algorithm']);
  if (!algorithm.success) return { recorded: false, reason: `zram0's compressor "${run.record.header.meta['zram0.comp_algorithm'] ?? ''}" is not one the model knows` };
  if (!calibration.costs.t2Points.some((p) => p.algorithm === algorithm.data) && calibration.costs.t2Us === undefined) {
    return { recorded: false, reason: `the calibration of ${name} on ${run.kernelRelease} has no t2 for ${algorithm.data}` };
  }
  if (!(run.record.header.ncpu > 0)) return { recorded: false, reason: 'the sampler record does not say how many CPUs the device has' };
  // the record does not carry zram's disksize: the pages out are then not capped by it
  const facts: DeviceFacts = { name, kernelRelease: run.kernelRelease, cpus: run.record.header.ncpu, zram: { algorithm: algorithm.data } };
  let predictions: Prediction[];
  try {
    const figures = eatRunFigures(run.record, run.summary);
    const model = predictEatRun(calibration, facts, run.summary, figures, reclaimDesignFor(knobs));
    predictions = model.predictions.flatMap((p) => {
      const metric = CATALOG_METRIC[p.metric];
      return metric === undefined ? [] : [{ metric, predicted: p.value, low: p.low, high: p.high, kind: p.kind }];
    });
  } catch (err) {
    return { recorded: false, reason: `the model cannot describe this run: ${errorMessage(err)}` };
  }
  const notes = calibrationNotes(calibration);
  if (offloads(knobs)) {
    notes.push('the calibration has no enqueue, wake-up or re-scan cost for kcompressd (they stay 0 until measured): the model gives offload for free');
  }
  return { recorded: true, calibration, predictions, notes, design: describeKnobs(knobs) };
}

/** Where calibrated predictions go; the results store satisfies it. */
export interface PredictionSink {
  recordPrediction(runId: number, cellKey: string, prediction: Prediction): void;
}

/**
 * After a passed job: record the calibrated predictions for its cell (a later
 * job of the same cell replaces them), or say in a progress line why there are
 * none. Never fails the job: a prediction that cannot be made is reported.
 */
export function recordJobPredictions(
  store: PredictionSink,
  runId: number,
  job: { cellKey: string; eat?: { summary: EaterSummary; record: SamplerRecord }; environment?: { device: Record<string, unknown>; kernel: Record<string, unknown> } },
  progress: (line: string) => void,
  find: typeof findCalibration = findCalibration,
): void {
  const release = job.environment?.kernel.release;
  if (!job.eat || !job.environment || typeof release !== 'string' || release === '') {
    progress('no calibrated predictions: the job left no run or no kernel release');
    return;
  }
  const recordedKnobs = job.environment.kernel.kcompressd;
  const knobs = recordedKnobs === undefined || recordedKnobs === null ? recordedKnobs : KcompressdKnobsSchema.safeParse(recordedKnobs);
  if (knobs !== undefined && knobs !== null && !knobs.success) {
    progress(`no calibrated predictions: the recorded kcompressd knobs ${JSON.stringify(recordedKnobs)} are not {queueDepthPerThread, threads}`);
    return;
  }
  let outcome: CalibratedOutcome;
  try {
    outcome = calibratedPredictions(
      {
        device: job.environment.device,
        kernelRelease: release,
        ...(knobs !== undefined ? { kcompressd: knobs === null ? null : knobs.data } : {}),
        summary: job.eat.summary,
        record: job.eat.record,
      },
      find,
    );
  } catch (err) {
    outcome = { recorded: false, reason: `the calibration could not be read: ${errorMessage(err)}` };
  }
  if (!outcome.recorded) {
    progress(outcome.reason);
    return;
  }
  for (const p of outcome.predictions) store.recordPrediction(runId, job.cellKey, p);
  progress(
    `calibrated predictions from ${outcome.calibration.device}@${outcome.calibration.kernelRelease} (${outcome.calibration.createdAt}), ${outcome.design}: ` +
      outcome.predictions.map((p) => `${p.metric} ${fmt(p.predicted)} [${fmt(p.low)}, ${fmt(p.high)}]`).join(', '),
  );
  for (const note of outcome.notes) progress(`note: ${note}`);
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(3);
}
