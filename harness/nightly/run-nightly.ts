import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreConfiguration } from '../configure/apply-configuration.js';
import { loadInventory } from '../lab/inventory.js';
import type { LoadedPlan } from '../plan/load-plan.js';
import { aaPairs, cellKey, comparePairs, expandCells, orderJobs, type PlannedJob } from '../plan/matrix.js';
import { runPipeline } from '../runner/pipeline.js';
import { type JobRecord, runSchedule } from '../runner/scheduler.js';
import { ResultsStore } from '../store/results-store.js';
import { writeNightlyReport, type WrittenReport } from '../report/write-report.js';
import { errorMessage } from '../util/errors.js';
import { releasePool, resolveDevicePool, type PooledDevice } from './device-pool.js';
import { type JobContext, jobStages, workDirFor } from './job-stages.js';
import { NightKernels, resolvePlanKernels } from './kernel-deploy.js';
import { cellPredictions, recordJobPredictions } from './predictions.js';

export interface NightlyOptions {
  storePath?: string;
  /** Where reports/out/<date>-<plan>/ goes (default: the repository's reports/out). */
  outRoot?: string;
  signal?: AbortSignal;
  progress?: (line: string) => void;
}

export interface NightlyResult {
  runId: number;
  resumed: boolean;
  skippedJobs: number;
  records: Array<JobRecord<PlannedJob & { matches(id: string): boolean }>>;
  report: WrittenReport;
  interrupted: boolean;
}

/**
 * One night of one plan: resolve devices, run every job not already done
 * (an interrupted night resumes), record each job in one transaction, then
 * analyse and write the report. Devices are restored after every job and,
 * should a previous run have died half-way, before the first.
 */
export async function runNightly(loaded: LoadedPlan, options: NightlyOptions = {}): Promise<NightlyResult> {
  const say = options.progress ?? (() => undefined);
  const { plan } = loaded;
  // Kernels first: builds and image checks fail the plan before a device is touched.
  const inventory = loadInventory();
  const productFromLab = inventory.devices.length > 0 && inventory.devices.every((d) => d.flash.product !== undefined);
  const resolvedKernels = await resolvePlanKernels(loaded, { progress: say, productFromLab });
  const kernels = new NightKernels(resolvedKernels, { inventory, deployTimeoutMs: plan.timeouts.deploy * 1000, progress: say });
  const cells = expandCells(plan);
  const store = ResultsStore.open(options.storePath);
  let pool: PooledDevice[] = [];
  const scratch = mkdtempSync(join(tmpdir(), `zlab-nightly-${plan.name}-`));
  try {
    const run = store.beginRun({ name: plan.name, yaml: loaded.text }, { resume: true });
    const done = store.completedJobKeys(run.id);
    const jobs = orderJobs(plan, cells).filter((job) => !done.has(job.key));
    say(run.resumed ? `resuming run ${run.id}: ${done.size} job(s) already done, ${jobs.length} to go` : `run ${run.id}: ${jobs.length} jobs`);

    pool = await resolveDevicePool(plan.devices, inventory, { progress: say, virtualNamePrefix: `nightly-${plan.name}`.slice(0, 36) });
    for (const member of pool) {
      const restored = await restoreConfiguration(member.device, { handleSignals: false });
      if (restored.restored) say(`${member.device.serial}: restored the configuration an earlier run left applied`);
    }
    for (const cell of cells) {
      for (const prediction of cellPredictions(loaded, cell)) store.recordPrediction(run.id, cellKey(cell), prediction);
    }

    const byId = new Map(pool.map((p) => [p.device.serial, p]));
    const schedulable = jobs.map((job) => ({ ...job, matches: (id: string) => byId.has(id) }));
    const stages = jobStages(loaded);
    const records = await runSchedule(
      schedulable,
      [...byId.keys()],
      async (job, deviceId, signal) => {
        const member = byId.get(deviceId)!;
        const startedAt = Date.now();
        const context: JobContext = {
          loaded,
          job,
          device: member.device,
          workDir: workDirFor(scratch, job),
          progress: (line) => say(`${deviceId} ${job.key}: ${line}`),
          kernels,
        };
        const result = await runPipeline(stages, context, {
          ...(signal ? { signal } : {}),
          onEvent: (e) => say(`${deviceId} ${job.key}: ${e.stage} ${e.outcome}${e.message ? ` — ${e.message}` : ''}`),
        });
        const interrupted = result.failureKind === 'interrupted';
        store.recordJob(run.id, {
          cellKey: job.cellKey,
          repetition: job.repetition,
          orderIndex: job.order,
          deviceSerial: deviceId,
          kernelId: String(context.environment?.kernel.release ?? job.cell.kernel),
          configId: job.cell.configuration,
          status: result.ok ? 'passed' : interrupted ? 'interrupted' : 'failed',
          ...(!result.ok && !interrupted ? { failureKind: result.failureKind!, failureMessage: errorMessage(result.error) } : {}),
          startedAt,
          endedAt: Date.now(),
          stages: result.events.map((e) => ({ stage: e.stage, outcome: e.outcome, startedAt: e.startedAt, endedAt: e.endedAt, ...(e.message ? { message: e.message } : {}) })),
          ...(result.ok && context.samples ? { samples: context.samples } : {}),
          ...(result.ok && context.metrics ? { metrics: context.metrics } : {}),
          ...(context.eat ? { eaterSummary: context.eat.summary as unknown as Record<string, unknown> } : {}),
          ...(context.environment ? { environment: context.environment } : {}),
        });
        if (result.ok) recordJobPredictions(store, run.id, { cellKey: job.cellKey, ...context }, context.progress);
        rmSync(context.workDir, { recursive: true, force: true });
        return result.ok ? { ok: true } : { ok: false, failureKind: result.failureKind!, error: result.error };
      },
      {
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (p) => say(`progress: ${p.done} done, ${p.failed} failed of ${p.total}${p.etaSeconds !== undefined ? `, about ${p.etaSeconds} s to go` : ''}`),
      },
    );
    const interrupted = options.signal?.aborted ?? false;
    store.endRun(run.id, interrupted ? 'interrupted' : records.every((r) => r.ok) ? 'completed' : 'failed');

    const comparisons = plan.compare.flatMap((pair) => comparePairs(cells, pair.a, pair.b)).map((p) => ({ baseline: cellKey(p.a), candidate: cellKey(p.b) }));
    // Cells that ran the same thing under other names are the plan's A/A self-checks.
    const sameThing = aaPairs(plan, cells).map((p) => ({ a: cellKey(p.a), b: cellKey(p.b) }));
    const report = await writeNightlyReport(store, run.id, { comparisons, aaPairs: sameThing, ...(options.outRoot ? { outRoot: options.outRoot } : {}) });
    say(`report: ${report.dir}`);
    return { runId: run.id, resumed: run.resumed, skippedJobs: done.size, records, report, interrupted };
  } finally {
    // A lab finds its devices on the kernels it left them on, whatever happened tonight.
    await kernels.restoreAll();
    await releasePool(pool);
    store.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
