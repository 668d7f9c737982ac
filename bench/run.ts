/**
 * Sampler overhead on the device, side by side with the naive alternative.
 *
 * For 10 Hz and 50 Hz: the on-device sampler runs for a fixed time and its own
 * CPU time comes from its record (utime + stime of its own process); then a
 * host loop runs `adb shell cat …` of the same sources at the same rate and its
 * device-side cost is the device's busy time (/proc/stat) above an idle
 * baseline measured first. Prints CPU share of one CPU, CPU per sample and the
 * ratio. Beside the sampler, device-scripts/readcost gives the floor under its
 * figure: waking at the same period and doing nothing, and waking and only
 * reading the files the sampler read (no parsing, no writing).
 * Uses the device ZLAB_SERIAL names (ZLAB_ADB_SERVER), else boots a
 * virtual device on a private adb server. ZLAB_BENCH_SECONDS sets the length
 * of each measurement (default 30).
 */
import Table from 'cli-table3';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { pullRecord, startSampler, stopSampler } from '../harness/collect/sampler-control.js';
import { parseSamplerRecord, type SamplerRecord } from '../harness/collect/sampler-record.js';
import { shellCommand } from '../harness/device/shell-quote.js';
import { buildWorkloadBinaries } from '../harness/workload/device-binaries.js';
import { DEVICE_TOOL_DIR, pushTools, type ToolDevice } from '../harness/workload/device-tools.js';
import { openWorkloadDevice } from '../harness/workload/virtual-device.fixture.js';

const SECONDS = Number(process.env.ZLAB_BENCH_SECONDS ?? 30);
const RATES_HZ = [10, 50];
const USER_HZ = 100; // /proc/stat counts in USER_HZ, 100 on every Linux ABI

/** The naive loop reads what the sampler reads, one `adb shell` per sample. */
const NAIVE_COMMAND =
  'cat /proc/vmstat /proc/meminfo /proc/pressure/memory /proc/stat /sys/block/zram*/mm_stat /sys/block/zram*/io_stat /sys/block/zram*/stat ' +
  '/proc/$(pidof kswapd0)/task/*/stat >/dev/null 2>&1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function busyTicks(device: ToolDevice): Promise<number> {
  const line = (await device.run('head -n 1 /proc/stat')).trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0); // idle + iowait
  return line.reduce((a, b) => a + b, 0) - idle;
}

interface Row {
  method: string;
  targetHz: number;
  samples: number;
  seconds: number;
  cpuSeconds: number;
  /** The sampler's thread scans (they back off while nothing new appears). */
  scans?: number | null;
}

/** The sampler's own CPU seconds over its record. */
function ownCpuSeconds(record: SamplerRecord): number {
  const ticks = (name: string) => {
    const v = record.columns.get(name)!;
    return v[v.length - 1]! - v[0]!;
  };
  return (ticks('self.utime') + ticks('self.stime')) / record.header.clkTck;
}

/**
 * CPU per sample with no sleeping in between (1 ms period), on the device and
 * on this host: how much of the sampler's cost is the emulated CPU's speed.
 */
async function backToBack(device: ToolDevice, binary: string, hostBinary: string, dir: string): Promise<{ deviceMs: number; hostMs: number }> {
  const count = 1000;
  const out = `${DEVICE_TOOL_DIR}/bench-b2b.rec`;
  await device.run(shellCommand([binary, '--out', out, '--period-ms', 1, '--count', count]), { timeoutMs: 600_000 });
  const onDevice = await pullRecord(device, out, join(dir, 'b2b-device.rec'));
  await device.run(shellCommand(['rm', '-f', out]));
  const hostOut = join(dir, 'b2b-host.rec');
  await execa(hostBinary, ['--out', hostOut, '--period-ms', '1', '--count', String(count)]);
  const onHost = parseSamplerRecord(await readFile(hostOut, 'utf8'));
  return { deviceMs: (ownCpuSeconds(onDevice) / (count - 1)) * 1000, hostMs: (ownCpuSeconds(onHost) / (count - 1)) * 1000 };
}

/** The files a sampler record shows it read every period: its sources and its tracked threads' stat. */
function filesReadPerPeriod(record: SamplerRecord): string[] {
  const sources = record.header.sources.filter((s) => s.ok && s.name !== 'self').map((s) => s.path);
  const threads = [...record.threads.values()].filter((t) => t.goneNs === null).map((t) => `/proc/${t.pid}/task/${t.tid}/stat`);
  return [...sources, ...threads];
}

const readcostOutput = z.object({ tool: z.literal('readcost'), samples: z.number().int().positive(), elapsedNs: z.number().positive(), cpuUs: z.number().nonnegative() });

/** readcost at a rate: the wake-up alone (no files) or the bare reads of `files`. */
async function runReadcost(device: ToolDevice, binary: string, hz: number, files: string[]): Promise<Row> {
  const text = await device.run(shellCommand([binary, '--period-ms', Math.round(1000 / hz), '--duration-ms', SECONDS * 1000, ...files]), { timeoutMs: (SECONDS + 60) * 1000 });
  const out = readcostOutput.parse(JSON.parse(text.trim().split('\n').at(-1) ?? ''));
  const method = files.length ? `bare reads of the same ${files.length} files (readcost)` : 'wake-up alone, no reads (readcost)';
  return { method, targetHz: hz, samples: out.samples, seconds: out.elapsedNs / 1e9, cpuSeconds: out.cpuUs / 1e6 };
}

async function runSampler(device: ToolDevice, binary: string, hz: number, dir: string): Promise<Row & { files: string[] }> {
  const out = `${DEVICE_TOOL_DIR}/bench-${hz}.rec`;
  const sampler = await startSampler(device, { binary, out, periodMs: Math.round(1000 / hz) });
  await sleep(SECONDS * 1000);
  await stopSampler(device, sampler);
  const record = await pullRecord(device, out, join(dir, `sampler-${hz}.rec`));
  await device.run(shellCommand(['rm', '-f', out]));
  const seconds = (record.tNs[record.tNs.length - 1]! - record.tNs[0]!) / 1e9;
  const cpuSeconds = ownCpuSeconds(record);
  return { method: 'on-device sampler (own CPU)', targetHz: hz, samples: record.tNs.length - 1, seconds, cpuSeconds, scans: record.end?.scans ?? null, files: filesReadPerPeriod(record) };
}

async function runNaive(device: ToolDevice, hz: number, idleBusyPerSec: number): Promise<Row> {
  const before = await busyTicks(device);
  const start = Date.now();
  let samples = 0;
  while (Date.now() - start < SECONDS * 1000) {
    const due = start + samples * (1000 / hz);
    if (due > Date.now()) await sleep(due - Date.now());
    await device.shell(NAIVE_COMMAND, { timeoutMs: 30_000 });
    samples++;
  }
  const seconds = (Date.now() - start) / 1000;
  const busy = (await busyTicks(device)) - before;
  const cpuSeconds = Math.max(0, busy / USER_HZ - idleBusyPerSec * seconds);
  return { method: 'host loop of adb shell cat (device busy above idle)', targetHz: hz, samples, seconds, cpuSeconds };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'zlab-bench-'));
  const bins = await buildWorkloadBinaries(['sampler', 'readcost']);
  const fixture = await openWorkloadDevice((line) => process.stderr.write(`${line}\n`));
  try {
    const device = fixture.device;
    const tools = await pushTools(device, ['sampler', 'readcost']);
    process.stderr.write(`idle baseline, ${SECONDS} s\n`);
    const b0 = await busyTicks(device);
    const t0 = Date.now();
    await sleep(SECONDS * 1000);
    const idleBusyPerSec = ((await busyTicks(device)) - b0) / USER_HZ / ((Date.now() - t0) / 1000);

    const rows: Row[] = [];
    const floors = new Map<number, { wake: Row; reads: Row }>();
    for (const hz of RATES_HZ) {
      process.stderr.write(`sampler at ${hz} Hz, ${SECONDS} s\n`);
      const sampler = await runSampler(device, tools.sampler, hz, dir);
      rows.push(sampler);
      process.stderr.write(`naive loop at ${hz} Hz, ${SECONDS} s\n`);
      rows.push(await runNaive(device, hz, idleBusyPerSec));
      process.stderr.write(`readcost at ${hz} Hz: wake-up alone, then the sampler's ${sampler.files.length} files, ${SECONDS} s each\n`);
      const floor = { wake: await runReadcost(device, tools.readcost, hz, []), reads: await runReadcost(device, tools.readcost, hz, sampler.files) };
      floors.set(hz, floor);
      rows.push(floor.wake, floor.reads);
    }

    const table = new Table({ head: ['method', 'target Hz', 'achieved Hz', 'CPU share (of one CPU)', 'CPU per sample', 'thread scans'] });
    const perSample = (r: Row) => (r.samples > 0 ? r.cpuSeconds / r.samples : Number.NaN);
    for (const r of rows) {
      table.push([r.method, r.targetHz, (r.samples / r.seconds).toFixed(1), `${((r.cpuSeconds / r.seconds) * 100).toFixed(2)} %`, `${(perSample(r) * 1000).toFixed(3)} ms`, r.scans ?? '']);
    }
    process.stdout.write(`device ${fixture.serial}; idle busy ${(idleBusyPerSec * 100).toFixed(2)} % of one CPU\n${table.toString()}\n`);
    const verdicts: string[] = [];
    for (const hz of RATES_HZ) {
      const [s, n] = rows.filter((r) => r.targetHz === hz) as [Row, Row];
      const floor = floors.get(hz)!;
      const pct = (r: Row) => `${((r.cpuSeconds / r.seconds) * 100).toFixed(2)} %`;
      process.stdout.write(
        `${hz} Hz: of the sampler's ${pct(s)}, waking up alone costs ${pct(floor.wake)} and waking to read its files without parsing or writing ${pct(floor.reads)}\n`,
      );
      const ratio = perSample(n) / perSample(s);
      process.stdout.write(`${hz} Hz: the naive loop costs ${Number.isFinite(ratio) ? ratio.toFixed(1) : '∞ (sampler below one tick)'}× the sampler's device CPU per sample\n`);
      if (hz === 10) {
        const share = s.cpuSeconds / s.seconds;
        verdicts.push(`sampler at 10 Hz ≤ 1 % of one CPU: ${share <= 0.01 ? 'yes' : 'NO'} (${(share * 100).toFixed(2)} %)`);
        verdicts.push(`naive ≥ 10× the sampler per sample at 10 Hz: ${!(ratio < 10) ? 'yes' : 'NO'}`);
      }
    }
    process.stdout.write(`${verdicts.join('\n')}\n`);
    const b2b = await backToBack(device, tools.sampler, bins.x86_64.sampler, dir);
    process.stdout.write(
      `back to back (1 ms period): ${b2b.deviceMs.toFixed(3)} ms CPU per sample on the device, ${b2b.hostMs.toFixed(3)} ms on this host ` +
        `(${(b2b.deviceMs / b2b.hostMs).toFixed(0)}× — emulation and host load, not the sampler)\n`,
    );
  } finally {
    await fixture.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
