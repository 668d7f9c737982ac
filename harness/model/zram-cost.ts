import { z } from 'zod';
import { shellCommand } from '../device/shell-quote.js';
import { errorMessage, ZlabError } from '../util/errors.js';
import { pushTools, type ToolDevice } from '../workload/device-tools.js';
import type { CompressSample } from './calibration.js';
import { AlgorithmSchema, type Algorithm } from './device-profile.js';
import type { DataClass } from './costs.js';

/**
 * t2 measured on the device by `device-scripts/zramcost`: the eater's own page
 * generator writes N pages per cell to a scratch zram device with O_DIRECT,
 * and the writing thread's CPU time is what storing them cost (zram
 * compresses in the submitter's context). See docs/model.md, calibration.
 */

const count = z.number().int().nonnegative();

export const ZramCostSampleSchema = z
  .object({
    algorithm: z.string(),
    dataClass: z.enum(['zero', 'sameFilled', 'compressible']),
    ratio: z.number().min(1).optional(),
    pages: z.number().int().positive(),
    bytes: z.number().int().positive(),
    cpuNs: count,
    wallNs: count,
    origBytes: count,
    comprBytes: count,
    samePages: count,
    hugePages: count,
  })
  .strict();
export type ZramCostSample = z.infer<typeof ZramCostSampleSchema>;

export const ZramCostOutputSchema = z
  .object({
    tool: z.literal('zramcost'),
    version: z.literal(1),
    pageSize: z.number().int().positive(),
    scratchDevice: z.string().nullable(),
    pages: z.number().int().positive(),
    chunkPages: z.number().int().positive(),
    samples: z.array(ZramCostSampleSchema),
    errors: z.array(z.string()),
  })
  .strict();
export type ZramCostOutput = z.infer<typeof ZramCostOutputSchema>;

export function parseZramCostOutput(text: string): ZramCostOutput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ZlabError('device', `zramcost printed no JSON: ${text.slice(0, 200)}`);
  }
  const parsed = ZramCostOutputSchema.safeParse(raw);
  if (!parsed.success) throw new ZlabError('device', `zramcost output has an unexpected shape: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** One cell of the measurement: its median repeat, the spread, and what zram stored. */
export interface T2Cell {
  algorithm: Algorithm;
  dataClass: DataClass;
  ratio?: number;
  repeats: number;
  /** µs of CPU per page: the median repeat, and the lowest and highest. */
  usPerPage: number;
  minUsPerPage: number;
  maxUsPerPage: number;
  /** orig_data_size / compr_data_size of the median repeat (null when nothing was compressed). */
  achievedRatio: number | null;
  samePages: number;
}

/**
 * The median repeat of every cell. Under emulation on a loaded host a repeat
 * is sometimes charged for time its virtual CPU was not running; the median
 * keeps such outliers out, where a pooled mean would not.
 */
export function t2Cells(output: ZramCostOutput): T2Cell[] {
  const groups = new Map<string, ZramCostSample[]>();
  for (const s of output.samples) {
    const key = `${s.algorithm}/${s.dataClass}/${s.ratio ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const cells: T2Cell[] = [];
  for (const samples of groups.values()) {
    const perPage = (s: ZramCostSample) => s.cpuNs / 1000 / s.pages;
    const sorted = [...samples].sort((a, b) => perPage(a) - perPage(b));
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const algorithm = AlgorithmSchema.safeParse(median.algorithm);
    if (!algorithm.success) throw new ZlabError('device', `zramcost measured "${median.algorithm}", which the model does not know`);
    cells.push({
      algorithm: algorithm.data,
      dataClass: median.dataClass,
      ...(median.ratio !== undefined ? { ratio: median.ratio } : {}),
      repeats: samples.length,
      usPerPage: perPage(median),
      minUsPerPage: perPage(sorted[0]!),
      maxUsPerPage: perPage(sorted[sorted.length - 1]!),
      achievedRatio: median.comprBytes > 0 ? median.origBytes / median.comprBytes : null,
      samePages: median.samePages,
    });
  }
  return cells;
}

/** The cells as the samples `calibrateFromMeasurements()` takes (one per cell). */
export function compressSamples(cells: readonly T2Cell[], pageBytes = 4096): CompressSample[] {
  return cells.map((c) => ({
    algorithm: c.algorithm,
    dataClass: c.dataClass,
    ...(c.ratio !== undefined ? { ratio: c.ratio } : {}),
    bytes: pageBytes,
    cpuUs: c.usPerPage,
  }));
}

export const T2RequestSchema = z
  .object({
    algorithms: z.array(AlgorithmSchema).min(1).max(8),
    ratios: z.array(z.number().min(1).max(12)).min(1).max(8),
    pages: z.number().int().min(16).max(65536).default(1024),
    repeat: z.number().int().min(1).max(25).default(5),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type T2Request = z.input<typeof T2RequestSchema>;

/** Push zramcost, run it, and return its output and cells; an algorithm the kernel lacks is an error. */
export async function measureT2(device: ToolDevice, request: T2Request, deviceDir?: string): Promise<{ output: ZramCostOutput; cells: T2Cell[] }> {
  const r = T2RequestSchema.parse(request);
  const tools = await pushTools(device, ['zramcost'], deviceDir);
  const argv = [
    tools.zramcost,
    '--algorithms', r.algorithms.join(','),
    '--ratios', r.ratios.join(','),
    '--pages', String(r.pages),
    '--repeat', String(r.repeat),
    '--seed', String(r.seed),
  ];
  const result = await device.shell(shellCommand(argv), { timeoutMs: 60_000 + r.algorithms.length * r.ratios.length * r.repeat * r.pages * 20 });
  let output: ZramCostOutput;
  try {
    output = parseZramCostOutput(result.stdout);
  } catch (err) {
    throw new ZlabError('device', `zramcost exited with ${result.exitCode}: ${result.stderr.trim() || errorMessage(err)}`);
  }
  if (output.errors.length > 0) throw new ZlabError('device', `zramcost: ${output.errors.join('; ')}`, { errors: output.errors });
  return { output, cells: t2Cells(output) };
}
