import { execa } from 'execa';
import { UsageError, ZlabError } from '../util/errors.js';

/**
 * How a commit is measured. A Measurer answers `measure(commit, count)` with
 * up to `count` fresh runs of the metric; it throws when the commit cannot be
 * measured (no image, build or boot failure), which makes the commit a skip.
 */
export interface Measurer {
  measure(commit: string, count: number): Promise<number[]>;
  close(): Promise<void>;
}

/** A commit that cannot be measured: git bisect skips it (exit 125). */
export class CommitSkip extends ZlabError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('kernel', message, details);
    this.name = 'CommitSkip';
  }
}

/**
 * The measurement cannot go on at all (a flashed device that could not be
 * brought back): git bisect run stops rather than skipping every commit after.
 */
export class BisectAbort extends ZlabError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('device', message, details, options);
    this.name = 'BisectAbort';
  }
}

/** A device (phone, or a virtual device from zlab vm start) flashed with each commit's kernel, and the lab's rules for it. */
export interface FlashTarget {
  serial: string;
  adbServerPort: number;
  /** The product images must be for (inventory flash.product), else the one the known-good image declares. */
  product?: string;
  allowedSerials?: string[];
  powerCycle?: string[];
  knownGoodImage?: string;
}

/** Where the kernel for a commit comes from. */
export type ImageSource =
  | { kind: 'build'; recipe: string; jobs: number }
  | { kind: 'images'; dir: string }
  | { kind: 'command'; argv: string[]; timeoutSeconds: number };

/** The serialisable description a step process rebuilds its Measurer from. */
export type MeasureSource =
  | { kind: 'command'; argv: string[]; repo: string; timeoutSeconds: number }
  | {
      kind: 'device';
      repo: string;
      image: ImageSource;
      metric: string;
      /** The virtual device each commit boots on; only bootTimeoutSeconds applies when a target is flashed. */
      vm: { memory: string; cpus: number; zramSize: string; zramAlgorithm: string; bootTimeoutSeconds: number };
      /** -s SERIAL: flash this device per commit instead of booting a fresh virtual device. */
      target?: FlashTarget;
      eat: Record<string, string>;
      runTimeoutSeconds: number;
    };

/** `{commit}` in an argument stands for the commit being measured. */
export function substituteCommit(argv: readonly string[], commit: string): string[] {
  return argv.map((a) => a.split('{commit}').join(commit));
}

export function checkArgv(argv: readonly string[], flag: string): string[] {
  if (argv.length === 0 || !argv[0]) throw new UsageError(`${flag}: give the command and its arguments`);
  if (argv.some((a) => a.includes('\0'))) throw new UsageError(`${flag}: an argument holds a NUL byte`);
  return [...argv];
}

/** Every number a measurement command printed, one per line (other lines are ignored). */
export function parseMeasurements(stdout: string): number[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(l))
    .map(Number)
    .filter(Number.isFinite);
}

/**
 * A user's measurement command, run once per repetition with an argument
 * vector (never through a shell), in the repository, with the commit in
 * ZLAB_BISECT_COMMIT and the run number in ZLAB_BISECT_RUN. It prints the
 * metric's value; a non-zero exit or no number makes the commit a skip.
 */
export function commandMeasurer(source: Extract<MeasureSource, { kind: 'command' }>, log: (line: string) => void = () => {}): Measurer {
  const runs = new Map<string, number>();
  return {
    async measure(commit, count) {
      const values: number[] = [];
      for (let i = 0; i < count; i++) {
        const run = (runs.get(commit) ?? 0) + 1;
        runs.set(commit, run);
        const [file, ...args] = substituteCommit(source.argv, commit);
        const result = await execa(file!, args, {
          cwd: source.repo,
          reject: false,
          timeout: source.timeoutSeconds * 1000,
          env: { ZLAB_BISECT_COMMIT: commit, ZLAB_BISECT_RUN: String(run) },
          stdin: 'ignore',
        });
        if (result.timedOut) throw new CommitSkip(`measurement command timed out after ${source.timeoutSeconds} s at ${commit.slice(0, 12)}`);
        if (result.exitCode !== 0) {
          throw new CommitSkip(`measurement command exited ${result.exitCode ?? 'on a signal'} at ${commit.slice(0, 12)}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        }
        const numbers = parseMeasurements(result.stdout);
        if (numbers.length === 0) throw new CommitSkip(`measurement command printed no number at ${commit.slice(0, 12)}`);
        log(`  run ${run}: ${numbers.join(', ')}`);
        values.push(...numbers);
      }
      return values;
    },
    async close() {},
  };
}

/** The Measurer a description stands for; the device one is loaded only when needed. */
export async function openMeasurer(source: MeasureSource, log: (line: string) => void = () => {}): Promise<Measurer> {
  if (source.kind === 'command') return commandMeasurer(source, log);
  if (source.target) {
    const { flashedDeviceMeasurer } = await import('./flash-measure.js');
    return flashedDeviceMeasurer(source, log);
  }
  const { deviceMeasurer } = await import('./device-measure.js');
  return deviceMeasurer(source, log);
}
