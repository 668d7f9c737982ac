import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { headline, type Headline } from '../collect/headline.js';
import { pullRecord, readBootId, startSampler, stopSampler, type RunningSampler } from '../collect/sampler-control.js';
import type { SamplerRecord } from '../collect/sampler-record.js';
import { shellCommand } from '../device/shell-quote.js';
import { ZlabError, errorMessage } from '../util/errors.js';
import { eaterArgs, planEat, type EatPlan, type EatRequest } from './eat-options.js';
import { parseEaterSummary, type EaterSummary } from './eater-summary.js';
import { DEVICE_TOOL_DIR, pushTools, type ToolDevice } from './device-tools.js';
import { memorySizes } from './meminfo.js';
import { samePagesCheck, type SamePagesCheck } from './same-pages-check.js';

export interface EatResult {
  plan: EatPlan;
  summary: EaterSummary;
  /** Over the pressure phase: from the start of the fill to the end of the last re-touch pass. */
  headline: Headline;
  record: SamplerRecord;
  /** zram same_pages and swpout_zero against the eater's own swap census. */
  samePages: SamePagesCheck | null;
  files: { record: string; summary: string };
}

export interface EatRunOptions {
  /** Local folder for the pulled record and summary. */
  localDir: string;
  /** Folder on the device for the tools and the run's files (default /data/local/tmp/zlab). */
  deviceDir?: string;
  progress?: (message: string) => void;
  /** Aborting closes the eater's stream, which ends it on the device. */
  signal?: AbortSignal;
}

/** Generous upper bound for an eater run: even a slow phone fills and re-reads 2 MiB/s. */
function eaterTimeoutMs(plan: EatPlan): number {
  return 120_000 + plan.holdMs + plan.sizeMib * (1 + plan.retouch) * 500 + plan.fileMib * 500;
}

/**
 * Push the tools, run the eater under the sampler, pull everything and work
 * out the headline figures. Sizes are checked against the device's memory
 * before anything starts there.
 */
export async function runEat(device: ToolDevice, request: EatRequest, options: EatRunOptions): Promise<EatResult> {
  const say = options.progress ?? (() => undefined);
  const plan = planEat(request, memorySizes(await device.run('cat /proc/meminfo /proc/swaps 2>/dev/null || true')));
  const deviceDir = options.deviceDir ?? DEVICE_TOOL_DIR;
  if (!/^\/[A-Za-z0-9_./-]+$/.test(deviceDir)) throw new ZlabError('usage', `device folder "${deviceDir}" is not an absolute path of plain characters`);
  const tools = await pushTools(device, ['memeater', 'sampler'], deviceDir);
  const runDir = `${deviceDir}/run-${Date.now()}-${process.pid}`;
  const remote = { record: `${runDir}/sampler.rec`, summary: `${runDir}/eater.json`, file: `${runDir}/eater.file` };
  await device.run(shellCommand(['mkdir', '-p', runDir]));
  await mkdir(options.localDir, { recursive: true });
  const files = { record: join(options.localDir, 'sampler.rec'), summary: join(options.localDir, 'eater.json') };

  let sampler: RunningSampler | undefined;
  try {
    say(`sampling every ${plan.periodMs} ms`);
    // Bounded, so that a sampler whose host died does not sample forever.
    sampler = await startSampler(device, {
      binary: tools.sampler,
      out: remote.record,
      periodMs: plan.periodMs,
      comms: ['memeater'],
      durationMs: eaterTimeoutMs(plan) + 120_000,
    });
    say(`eating ${plan.sizeMib} MiB (ratio ${plan.ratio}:1, ${plan.zeroPct}% zero, ${plan.sameFilledPct}% same-filled)`);
    const eater = await device.shell(shellCommand([tools.memeater, ...eaterArgs(plan, remote)]), {
      timeoutMs: eaterTimeoutMs(plan),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await stopSampler(device, sampler);
    sampler = undefined;
    const bootIdAfter = await readBootId(device);

    let summary: EaterSummary;
    try {
      summary = parseEaterSummary(eater.stdout);
    } catch (err) {
      throw new ZlabError('device', `the eater exited with ${eater.exitCode} without a summary: ${eater.stderr.trim() || errorMessage(err)}`);
    }
    await writeFile(files.summary, `${JSON.stringify(summary, null, 2)}\n`);
    const record = await pullRecord(device, remote.record, files.record);
    const fill = summary.phases.find((p) => p.name === 'fill');
    const last = summary.phases[summary.phases.length - 1];
    const window = { startNs: fill?.startBoottimeNs ?? summary.clock.startBoottimeNs, endNs: last?.endBoottimeNs ?? summary.clock.endBoottimeNs };
    return { plan, summary, headline: headline(record, window, { bootIdAfter }), record, samePages: samePagesCheck(record, summary), files };
  } finally {
    if (sampler) await stopSampler(device, sampler).catch(() => undefined);
    await device.shell(shellCommand(['rm', '-rf', runDir])).catch(() => undefined);
  }
}
