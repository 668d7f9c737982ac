import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { startAdbServer, type AdbServer } from '../device/adb-server.js';
import { Device } from '../device/device.js';
import { startVirtualDevice, stopVirtualDevice } from '../vm/api.js';
import { selectKernel } from '../vm/kernel.js';
import type { ZramAlgorithm } from '../vm/vm-options.js';
import { buildWorkloadBinaries } from '../workload/device-binaries.js';
import { parseEatOptions } from '../workload/eat-options.js';
import { runEat } from '../workload/eat-run.js';
import { defaultPolicy } from './decision.js';
import { prepareBisect, runBisect, type BisectOutcome } from './driver.js';
import { deviceMeasurer } from './device-measure.js';
import { CommitSkip, type Measurer } from './measure-source.js';
import { readHeadlineMetric } from './metrics.js';

/**
 * The whole bisect on the virtual device, for real: a small kernel-config
 * history in which one commit switches zram's default compressor from lz4
 * to lz4hc (several times slower to compress, so kswapd reclaims anonymous
 * pages more slowly), every commit booted on a fresh virtual device and measured with
 * the eater. The compressor a commit's configuration selects is applied at
 * boot (the Debian kernel carries both as modules) rather than compiled in,
 * which keeps the test free of kernel builds. One run at the first step is
 * replaced by a run of the other end: it must not mislead the bisect.
 */

// The bisect boots its own kernels: it needs QEMU, whatever device ZLAB_SERIAL names.
const qemuMissing = execaSync('qemu-system-x86_64', ['--version'], { reject: false }).exitCode !== 0;
const noDeviceReason = 'no virtual device: qemu-system-x86_64 is not installed (run scripts/bootstrap.sh)';
if (qemuMissing) process.stderr.write(`[device suite skipped] bisect on the virtual device: ${noDeviceReason}\n`);
const describeWithQemu = qemuMissing ? describe.skip : describe;

const log = (line: string): void => void process.stderr.write(`${line}\n`);
let root: string;
let repo: string;
let adb: AdbServer;
const commits: string[] = [];
const PLANTED = 2;

async function g(args: string[]): Promise<string> {
  return (await execa('git', args, { cwd: repo })).stdout.trim();
}

function fragment(compressor: 'LZ4' | 'LZ4HC', logBufShift: number): string {
  return `CONFIG_ZRAM=y\nCONFIG_ZRAM_DEF_COMP_${compressor}=y\nCONFIG_LOG_BUF_SHIFT=${logBufShift}\n`;
}

async function commit(message: string, text: string): Promise<string> {
  writeFileSync(join(repo, 'zram.config'), text);
  await g(['add', 'zram.config']);
  await g(['commit', '-q', '-m', message]);
  return g(['rev-parse', 'HEAD']);
}

function compressorAt(config: string): ZramAlgorithm {
  const m = /^CONFIG_ZRAM_DEF_COMP_(\w+)=y$/m.exec(config);
  if (!m) throw new Error('no default zram compressor in zram.config');
  return m[1]!.toLowerCase() as ZramAlgorithm;
}

beforeAll(async () => {
  if (qemuMissing) return;
  root = mkdtempSync(join(tmpdir(), 'zlab-bisect-device-'));
  process.env.ZLAB_STATE_DIR ??= join(root, 'state');
  repo = join(root, 'kernel-config');
  await execa('git', ['init', '-q', '-b', 'main', repo]);
  await g(['config', 'user.email', 'lab@example.org']);
  await g(['config', 'user.name', 'Lab']);
  commits.push(await commit('base: zram with lz4', fragment('LZ4', 17)));
  commits.push(await commit('printk: larger log buffer', fragment('LZ4', 18)));
  commits.push(await commit('zram: default to lz4hc for a better ratio', fragment('LZ4HC', 18)));
  commits.push(await commit('printk: log buffer back to 2^17', fragment('LZ4HC', 17)));
  await buildWorkloadBinaries();
  adb = await startAdbServer();
}, 300_000);

afterAll(async () => {
  await adb?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

/** Boot a fresh virtual device per commit; one eater run per repetition. */
function virtualDeviceMeasurer(): Measurer & { runs: Array<{ commit: string; value: number }> } {
  let current: { commit: string; serial: string; device: Device } | null = null;
  const request = parseEatOptions({ size: '130%', ratio: '3', holdMs: '200', retouch: '0' });
  const runs: Array<{ commit: string; value: number }> = [];
  let firstStep: string | null = null;
  let n = 0;
  const stop = async (): Promise<void> => {
    if (current) await stopVirtualDevice(current.serial);
    current = null;
  };
  return {
    runs,
    async measure(c, count) {
      if (current?.commit !== c) {
        await stop();
        const zramAlgorithm = compressorAt(await g(['show', `${c}:zram.config`]));
        const vd = await startVirtualDevice({ memory: 256, cpus: 2, zramSize: '512M', zramAlgorithm, adbServerPort: adb.port, bootTimeoutSeconds: 300 }, log);
        current = { commit: c, serial: vd.serial, device: await Device.open(vd.serial, { server: { host: '127.0.0.1', port: adb.port } }) };
        log(`${c.slice(0, 12)}: booted with zram ${zramAlgorithm}`);
      }
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const result = await runEat(current.device, request, { localDir: join(root, `run-${++n}`) });
        const value = readHeadlineMetric('pgsteal_anon_per_sec', result.headline);
        if (value === null) throw new Error(`run ${n}: no pgsteal_anon_per_sec (${result.headline.reasons.join('; ')})`);
        runs.push({ commit: c, value });
        log(`${c.slice(0, 12)} run ${n}: pgsteal_anon ${value.toFixed(0)} pages/s`);
        out.push(value);
      }
      if (c !== commits[0] && c !== commits.at(-1) && firstStep === null) firstStep = c;
      // The second run at the first step: swapped for the other end's typical value.
      if (c === firstStep && runs.filter((r) => r.commit === c).length >= 2 && !injected.done) {
        const good = median(runs.filter((r) => r.commit === commits[0]).map((r) => r.value));
        const bad = median(runs.filter((r) => r.commit === commits.at(-1)).map((r) => r.value));
        const mine = median(out);
        const index = out.length >= 2 ? 1 : 0;
        out[index] = Math.abs(mine - good) < Math.abs(mine - bad) ? bad * 0.8 : good * 1.2;
        injected.done = true;
        injected.commit = c;
        injected.value = out[index]!;
        log(`${c.slice(0, 12)}: injected a misleading run ${injected.value.toFixed(0)}`);
      }
      return out;
    },
    close: stop,
  };
}

const injected: { done: boolean; commit: string | null; value: number } = { done: false, commit: null, value: 0 };

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}


describeWithQemu(qemuMissing ? `bisect on the virtual device [skipped: ${noDeviceReason}]` : 'bisect on the virtual device', () => {
  let outcome: BisectOutcome;
  let measurer: ReturnType<typeof virtualDeviceMeasurer>;

  beforeAll(async () => {
    measurer = virtualDeviceMeasurer();
    try {
      const session = await prepareBisect({
        repo,
        good: commits[0]!,
        bad: commits.at(-1)!,
        metric: 'pgsteal_anon_per_sec',
        direction: 'higher-is-better',
        policy: { ...defaultPolicy, minReps: 3, maxReps: 5 },
        source: { kind: 'command', argv: ['true'], repo: '', timeoutSeconds: 1 },
        replace: true,
      });
      outcome = await runBisect(session, measurer, log);
      log(`report: ${outcome.report.markdown}`);
      for (const step of outcome.session.steps) {
        log(`${step.role} ${step.commit.slice(0, 12)} ${step.subject}: ${step.runs.map((v) => v.toFixed(0)).join(', ')} -> ${step.verdict}`);
      }
    } finally {
      await measurer.close();
    }
  }, 3_600_000);

  it('finds the commit that switched zram to the slower compressor', () => {
    expect(outcome.result.firstBad).toBe(commits[PLANTED]);
    const b = outcome.session.baseline!;
    expect(b.goodMedian).toBeGreaterThan(b.badMedian);
    for (const step of outcome.session.steps.filter((s) => s.role === 'step')) {
      expect(step.verdict).toBe(commits.indexOf(step.commit) >= PLANTED ? 'bad' : 'good');
    }
  });

  it('was not misled by the injected run at its first step', () => {
    expect(injected.done).toBe(true);
    const step = outcome.session.steps.find((s) => s.role === 'step' && s.commit === injected.commit)!;
    expect(step.runs).toContain(injected.value);
    expect(step.verdict).toBe(commits.indexOf(step.commit) >= PLANTED ? 'bad' : 'good');
  });
});

describeWithQemu(qemuMissing ? `bisect's device measurement [skipped: ${noDeviceReason}]` : "bisect's device measurement (--images)", () => {
  it('boots the image named by the commit and reads the metric from an eater run; a commit without an image is a skip', async () => {
    const images = join(root, 'images');
    mkdirSync(images);
    symlinkSync(selectKernel().path, join(images, `${commits[0]!.slice(0, 10)}.bzImage`));
    const measurer = await deviceMeasurer(
      {
        kind: 'device',
        repo,
        image: { kind: 'images', dir: images },
        metric: 'pgsteal_anon_per_sec',
        vm: { memory: '256M', cpus: 2, zramSize: '512M', zramAlgorithm: 'lz4', bootTimeoutSeconds: 300 },
        eat: { size: '130%', ratio: '3', holdMs: '200', retouch: '0' },
        runTimeoutSeconds: 600,
      },
      log,
    );
    try {
      const values = await measurer.measure(commits[0]!, 1);
      expect(values).toHaveLength(1);
      expect(values[0]).toBeGreaterThan(0);
      await expect(measurer.measure(commits[1]!, 1)).rejects.toThrow(CommitSkip);
    } finally {
      await measurer.close();
    }
  }, 900_000);
});
