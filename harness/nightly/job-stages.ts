import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { computeRunMetrics } from '../analysis/run-metrics.js';
import type { TimeSeries } from '../analysis/time-series.js';
import { toAnalysisSeries } from '../collect/analysis-series.js';
import { applyConfiguration, restoreConfiguration, type ApplyReport } from '../configure/apply-configuration.js';
import type { Configuration } from '../configure/config-schema.js';
import type { Device } from '../device/device.js';
import { readKcompressdKnobs } from '../model/kcompressd-design.js';
import type { LoadedPlan } from '../plan/load-plan.js';
import type { PlannedJob } from '../plan/matrix.js';
import type { Stage } from '../runner/pipeline.js';
import { ZlabError, errorMessage } from '../util/errors.js';
import type { KernelDeployment, NightKernels } from './kernel-deploy.js';
import { coolDown, watchTemperature } from './thermal-guard.js';
import { stopLeftoverTools } from '../workload/device-tools.js';
import { runEat, type EatResult } from '../workload/eat-run.js';
import { samePagesCheck } from '../workload/same-pages-check.js';

/** Everything one job's stages share, filled in as they go. */
export interface JobContext {
  loaded: LoadedPlan;
  job: PlannedJob;
  device: Device;
  /** Local folder for what the job pulls from the device. */
  workDir: string;
  progress: (line: string) => void;
  /** The night's kernels and what each device runs. */
  kernels: NightKernels;
  /** What the deploy stage did. */
  deployment?: KernelDeployment;
  applied?: ApplyReport;
  eat?: EatResult;
  samples?: TimeSeries;
  metrics?: Record<string, number>;
  environment?: { device: Record<string, unknown>; kernel: Record<string, unknown>; config: Record<string, unknown> };
}

const seconds = (s: number) => s * 1000;

/**
 * lease → deploy → configure → cool-down → run → collect; the configure
 * stage's cleanup is the restore, and it runs whatever happens after it.
 */
export function jobStages(loaded: LoadedPlan): Array<Stage<JobContext>> {
  const t = loaded.plan.timeouts;
  return [
    {
      name: 'lease',
      timeoutMs: seconds(60),
      timeoutKind: 'infrastructure',
      async run(ctx) {
        await ctx.device.root();
        const stopped = await stopLeftoverTools(ctx.device);
        if (stopped) ctx.progress(`stopped ${stopped} zlab program(s) an earlier run left running`);
      },
    },
    {
      name: 'deploy',
      timeoutMs: seconds(t.deploy),
      timeoutKind: 'kernel',
      async run(ctx) {
        ctx.deployment = await ctx.kernels.ensure(ctx.job.cell.kernel, { serial: ctx.device.serial, adbServerPort: ctx.device.server.port }, ctx.progress);
      },
    },
    {
      name: 'configure',
      timeoutMs: seconds(t.configure),
      async run(ctx) {
        const config: Configuration = loaded.plan.configurations[ctx.job.cell.configuration]!;
        ctx.applied = await applyConfiguration(ctx.device, config, { handleSignals: false, timeoutMs: seconds(t.configure) });
      },
      cleanupTimeoutMs: seconds(t.restore),
      async cleanup(ctx) {
        await restoreConfiguration(ctx.device, { handleSignals: false, timeoutMs: seconds(t.restore) });
      },
    },
    {
      name: 'cool-down',
      timeoutMs: seconds(loaded.plan.thermal.cooldownSeconds + loaded.plan.thermal.maxWaitSeconds + 60),
      timeoutKind: 'device',
      async run(ctx, signal) {
        await coolDown(ctx.device, loaded.plan.thermal, ctx.progress, signal);
      },
    },
    {
      name: 'run',
      timeoutMs: seconds(t.run),
      async run(ctx, signal) {
        const request = loaded.workloads[ctx.job.cell.workload]!;
        await mkdir(ctx.workDir, { recursive: true });
        const limit = loaded.plan.thermal.abortAboveCelsius;
        if (limit === undefined) {
          ctx.eat = await runEat(ctx.device, request, { localDir: ctx.workDir, progress: ctx.progress, signal });
          return;
        }
        const watch = watchTemperature(ctx.device, limit, signal);
        try {
          ctx.eat = await runEat(ctx.device, request, { localDir: ctx.workDir, progress: ctx.progress, signal: watch.signal });
        } finally {
          // Throws the thermal abort (instead of the run's own error) when the device got too hot.
          await watch.finish();
        }
      },
    },
    {
      name: 'collect',
      timeoutMs: seconds(t.collect),
      async run(ctx) {
        collect(ctx);
        await describeEnvironment(ctx);
      },
    },
  ];
}

/** Work out the job's metrics from what the run pulled. */
function collect(ctx: JobContext): void {
  const eat = ctx.eat;
  if (!eat) throw new ZlabError('bug', 'collect ran without a run');
  if (!eat.headline.valid) {
    throw new ZlabError('device', `the sampled data is invalid (${eat.headline.reasons?.join('; ') ?? 'the device rebooted or counters went backwards'})`);
  }
  const series = toAnalysisSeries(eat.record);
  const fill = eat.summary.phases.find((p) => p.name === 'fill');
  const last = eat.summary.phases.at(-1);
  // The eater's own phase clock bounds the pressure window; the steady part is detected inside it.
  const window = fill && last ? { start: fill.startBoottimeNs / 1e9, end: last.endBoottimeNs / 1e9 } : undefined;
  let metrics: Record<string, number>;
  try {
    metrics = { ...computeRunMetrics(series).metrics };
  } catch {
    metrics = window ? { ...computeRunMetrics(series, { window }).metrics } : {};
  }
  metrics.corrupt_pages = eat.summary.corruptPages;
  const same = samePagesCheck(eat.record, eat.summary);
  if (same?.difference !== null && same?.difference !== undefined) metrics.same_pages_error = same.difference;
  if (eat.headline.pgstealAnonPerSec !== null) metrics.pressure_pgsteal_anon_per_s = eat.headline.pgstealAnonPerSec;
  ctx.samples = series;
  ctx.metrics = Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

/** What the job ran on: device properties, the kernel (with its kcompressd knobs, null on a stock kernel) and the configuration. */
export async function describeEnvironment(ctx: Pick<JobContext, 'device' | 'loaded' | 'job' | 'deployment' | 'applied' | 'environment' | 'progress'>): Promise<void> {
  const props = await ctx.device.getProperties();
  const version = (await ctx.device.run('cat /proc/version')).trim();
  const release = (await ctx.device.run('uname -r')).trim();
  const cmdline = (await ctx.device.run('cat /proc/cmdline')).trim();
  // The kernel's kcompressd design as the run had it (the configuration is restored after collect); null on a stock kernel.
  // Knobs the model cannot read cost the job its calibrated predictions, not its measurement.
  let knobs: Record<string, unknown>;
  try {
    knobs = { kcompressd: await readKcompressdKnobs(ctx.device) };
  } catch (err) {
    knobs = { kcompressdError: errorMessage(err) };
    ctx.progress(`kcompressd knobs not recorded: ${errorMessage(err)}`);
  }
  const pick = (prefix: string) => Object.fromEntries(Object.entries(props).filter(([k]) => k.startsWith(prefix)));
  ctx.environment = {
    device: { serial: ctx.device.serial, ...pick('ro.product.'), ...pick('ro.build.') },
    kernel: { release, version, cmdline, ...knobs, spec: ctx.loaded.plan.kernels[ctx.job.cell.kernel], ...(ctx.deployment ? { deployment: ctx.deployment } : {}) },
    config: { name: ctx.job.cell.configuration, requested: ctx.loaded.plan.configurations[ctx.job.cell.configuration], changes: ctx.applied?.changes ?? [] },
  };
}

export function workDirFor(root: string, job: PlannedJob): string {
  return join(root, job.key.replace(/[^A-Za-z0-9_.-]/g, '_'));
}
