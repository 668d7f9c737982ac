import type { LoadedPlan } from './load-plan.js';
import type { PlannedJob } from './matrix.js';

/**
 * A rough duration for a plan, before any device is seen: enough to tell a
 * lab whether a plan fits in a night. Figures measured on the virtual device
 * under TCG (it fills about 70 MiB/s); phones are faster, so this errs long.
 */
const FILL_MIB_PER_SECOND = 70;
const ASSUMED_RAM_MIB = 1024;
const PER_JOB_OVERHEAD_SECONDS = 25; // push, configure, collect, restore
const KERNEL_SWITCH_SECONDS = 120;

export function estimateJobSeconds(loaded: LoadedPlan, job: PlannedJob, ramMib = ASSUMED_RAM_MIB): number {
  const request = loaded.workloads[job.cell.workload]!;
  const sizeMib = 'bytes' in request.size ? request.size.bytes / 2 ** 20 : (request.size.percent / 100) * ramMib;
  const fillMibps = request.rateMibps > 0 ? Math.min(request.rateMibps, FILL_MIB_PER_SECOND) : FILL_MIB_PER_SECOND;
  const eatSeconds = (sizeMib / fillMibps) * (1 + request.retouch) + request.holdMs / 1000;
  return PER_JOB_OVERHEAD_SECONDS + loaded.plan.thermal.cooldownSeconds + eatSeconds;
}

export function estimatePlanSeconds(loaded: LoadedPlan, jobs: PlannedJob[], devices: number): number {
  let total = 0;
  let previousKernel: string | undefined;
  for (const job of jobs) {
    total += estimateJobSeconds(loaded, job);
    const spec = loaded.plan.kernels[job.cell.kernel];
    if (spec && !('current' in spec) && job.cell.kernel !== previousKernel) total += KERNEL_SWITCH_SECONDS;
    previousKernel = job.cell.kernel;
  }
  return Math.round(total / Math.max(1, devices));
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
}
