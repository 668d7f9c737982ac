import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { startAdbServer, type AdbServer } from '../device/adb-server.js';
import { Device } from '../device/device.js';
import { buildKernel } from '../kernel/build.js';
import { loadRecipe, type Recipe } from '../kernel/recipe.js';
import { errorMessage, UsageError, ZlabError } from '../util/errors.js';
import { startVirtualDevice, stopVirtualDevice } from '../vm/api.js';
import type { ZramAlgorithm } from '../vm/vm-options.js';
import { buildWorkloadBinaries } from '../workload/device-binaries.js';
import { parseEatOptions } from '../workload/eat-options.js';
import { runEat } from '../workload/eat-run.js';
import { CommitSkip, substituteCommit, type ImageSource, type Measurer, type MeasureSource } from './measure-source.js';
import { headlineMetric, readHeadlineMetric } from './metrics.js';

type DeviceSource = Extract<MeasureSource, { kind: 'device' }>;
type Log = (line: string) => void;

/** A kernel image in --images named by the commit: SHA, SHA.bzImage or SHA/bzImage (7+ hex digits). */
export function imageInFolder(dir: string, commit: string): string {
  for (const entry of readdirSync(dir).sort()) {
    const m = /^([0-9a-f]{7,40})(\.bzImage)?$/.exec(entry);
    if (!m || !commit.startsWith(m[1]!)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (existsSync(join(path, 'bzImage'))) return join(path, 'bzImage');
      continue;
    }
    return path;
  }
  throw new CommitSkip(`no kernel image for ${commit.slice(0, 12)} in ${dir}`);
}

async function imageFromCommand(source: Extract<ImageSource, { kind: 'command' }>, repo: string, commit: string, log: Log): Promise<string> {
  const [file, ...args] = substituteCommit(source.argv, commit);
  const result = await execa(file!, args, {
    cwd: repo,
    reject: false,
    timeout: source.timeoutSeconds * 1000,
    env: { ZLAB_BISECT_COMMIT: commit },
    stdin: 'ignore',
  });
  if (result.timedOut) throw new CommitSkip(`--image-command timed out after ${source.timeoutSeconds} s at ${commit.slice(0, 12)}`);
  if (result.exitCode !== 0) throw new CommitSkip(`--image-command exited ${result.exitCode ?? 'on a signal'} at ${commit.slice(0, 12)}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const last = result.stdout.trim().split('\n').at(-1)?.trim() ?? '';
  const path = isAbsolute(last) ? last : resolve(repo, last);
  if (!last || !existsSync(path)) throw new CommitSkip(`--image-command named no existing image at ${commit.slice(0, 12)} (last line: "${last}")`);
  log(`image for ${commit.slice(0, 12)}: ${path}`);
  return path;
}

/** A recipe with its source switched to the repository at one commit (its fragments and patches still apply on top). */
export function recipeAtCommit(name: string, repo: string, commit: string): Recipe {
  const recipe = loadRecipe(name);
  return { ...recipe, source: { git: repo, commit } };
}

async function imageFromBuild(source: Extract<ImageSource, { kind: 'build' }>, repo: string, commit: string, log: Log): Promise<string> {
  const recipe = recipeAtCommit(source.recipe, repo, commit);
  try {
    const build = await buildKernel(recipe, { jobs: source.jobs, log });
    return build.bzImage;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new CommitSkip(`building ${source.recipe} at ${commit.slice(0, 12)} failed: ${errorMessage(err).split('\n').slice(0, 3).join(' | ')}`);
  }
}

export async function imageFor(source: DeviceSource, commit: string, log: Log): Promise<string> {
  const image = source.image;
  if (image.kind === 'images') return imageInFolder(image.dir, commit);
  if (image.kind === 'command') return imageFromCommand(image, source.repo, commit, log);
  return imageFromBuild(image, source.repo, commit, log);
}

function withTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommitSkip(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}

interface Booted {
  commit: string;
  serial: string;
  adb: AdbServer;
  device: Device;
}

/**
 * Measure a commit on a fresh virtual device booted with that commit's
 * kernel, on a private adb server: each run is one eater run under pressure,
 * its headline giving the metric. The device stays up while the same commit
 * is measured again and is stopped before the next commit boots.
 */
export async function deviceMeasurer(source: DeviceSource, log: Log = () => {}): Promise<Measurer> {
  // Bad metric or eater options fail before anything is built or booted.
  headlineMetric(source.metric);
  parseEatOptions(source.eat);
  await buildWorkloadBinaries();
  const scratch = mkdtempSync(join(tmpdir(), 'zlab-bisect-'));
  let booted: Booted | null = null;

  async function stop(): Promise<void> {
    const b = booted;
    booted = null;
    if (!b) return;
    await stopVirtualDevice(b.serial).catch((err) => log(`stopping ${b.serial}: ${errorMessage(err)}`));
    await b.adb.stop();
  }

  async function boot(commit: string): Promise<Booted> {
    if (booted?.commit === commit) return booted;
    await stop();
    const kernel = await imageFor(source, commit, log);
    const adb = await startAdbServer();
    try {
      const vd = await startVirtualDevice(
        {
          kernel,
          memory: source.vm.memory,
          cpus: source.vm.cpus,
          zramSize: source.vm.zramSize,
          zramAlgorithm: source.vm.zramAlgorithm as ZramAlgorithm,
          adbServerPort: adb.port,
          bootTimeoutSeconds: source.vm.bootTimeoutSeconds,
        },
        log,
      );
      const device = await Device.open(vd.serial, { server: { host: '127.0.0.1', port: adb.port } });
      booted = { commit, serial: vd.serial, adb, device };
      return booted;
    } catch (err) {
      await adb.stop();
      if (err instanceof UsageError) throw err;
      throw new CommitSkip(`the kernel of ${commit.slice(0, 12)} did not boot to adb: ${errorMessage(err).split('\n')[0]}`);
    }
  }

  const runner = eaterRunner(source, scratch, log);
  return {
    async measure(commit, count) {
      const { device } = await boot(commit);
      return runner.run(device, commit, count);
    },
    async close() {
      await stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * Eater runs on a device that runs a commit's kernel: each run one eater run
 * under the sampler (its files under `scratch`), the metric read from its
 * headline. Runs are numbered across commits, as the log shows them.
 */
export function eaterRunner(source: DeviceSource, scratch: string, log: Log): { run(device: Device, commit: string, count: number): Promise<number[]> } {
  const metric = headlineMetric(source.metric);
  const request = parseEatOptions(source.eat);
  let runs = 0;
  return {
    async run(device, commit, count) {
      const values: number[] = [];
      for (let i = 0; i < count; i++) {
        const localDir = join(scratch, `run-${++runs}`);
        const result = await withTimeout(runEat(device, request, { localDir }), source.runTimeoutSeconds, `eater run ${runs} at ${commit.slice(0, 12)}`);
        const value = readHeadlineMetric(metric, result.headline);
        if (value === null || !result.headline.valid) {
          throw new ZlabError('device', `run ${runs} at ${commit.slice(0, 12)} gave no valid ${source.metric}: ${result.headline.reasons.join('; ') || 'no value'}`);
        }
        log(`  ${commit.slice(0, 12)} run ${runs}: ${source.metric} ${value.toFixed(1)}`);
        values.push(value);
      }
      return values;
    },
  };
}
