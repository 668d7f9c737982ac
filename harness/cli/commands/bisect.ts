import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { checkPolicy, defaultPolicy, type DecisionPolicy } from '../../bisect/decision.js';
import { abandonBisect, prepareBisect, runBisectWithGit, runStep, STEP_ABORT } from '../../bisect/driver.js';
import { repositoryRoot } from '../../bisect/git.js';
import { BisectAbort, checkArgv, openMeasurer, type ImageSource, type MeasureSource } from '../../bisect/measure-source.js';
import { checkMetricName, headlineMetric, metricDirection } from '../../bisect/metrics.js';
import { loadSession, sessionDir } from '../../bisect/session.js';
import { errorMessage, UsageError, ZlabError } from '../../util/errors.js';
import { printJson, reportError } from '../output.js';

interface StartOptions {
  repo: string;
  good: string;
  bad: string;
  metric: string;
  higherIsBetter?: boolean;
  lowerIsBetter?: boolean;
  minReps: string;
  maxReps: string;
  confidence: string;
  build?: string;
  images?: string;
  imageCommand?: string;
  measureCommand?: string;
  serial?: string;
  memory: string;
  cpus: string;
  zramSize: string;
  zramAlgorithm: string;
  size: string;
  ratio: string;
  retouch: string;
  holdMs: string;
  runTimeout: string;
  imageTimeout: string;
  bootTimeout: string;
  jobs: string;
  replace?: boolean;
  json?: boolean;
}

const zlabEntry = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'bin', 'zlab.js');
const say = (line: string): void => void process.stderr.write(`${line}\n`);

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag}: "${text}" is not a whole number from ${min} to ${max}`);
  return Number(text);
}

/** Split a command given as one string on blanks: no shell, no quoting, no expansion. */
function commandWords(flag: string, text: string): string[] {
  return checkArgv(text.trim().split(/\s+/).filter(Boolean), flag);
}

function imageSource(o: StartOptions): ImageSource | null {
  if (o.build !== undefined) {
    const recipe = o.build.replace(/^recipe:/, '');
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(recipe)) throw new UsageError(`--build: "${o.build}" is not recipe:NAME`);
    return { kind: 'build', recipe, jobs: wholeNumber('--jobs', o.jobs, 1, 64) };
  }
  if (o.images !== undefined) {
    const dir = resolve(o.images);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--images: ${dir} is not a folder`);
    return { kind: 'images', dir };
  }
  if (o.imageCommand !== undefined) {
    return { kind: 'command', argv: commandWords('--image-command', o.imageCommand), timeoutSeconds: wholeNumber('--image-timeout', o.imageTimeout, 1, 86_400) };
  }
  return null;
}

function measureSource(o: StartOptions): { source: MeasureSource; stepTimeoutMs: number } {
  const chosen = [o.build, o.images, o.imageCommand, o.measureCommand].filter((v) => v !== undefined).length;
  if (chosen !== 1) throw new UsageError('give exactly one of --build recipe:NAME, --images DIR, --image-command CMD or --measure-command CMD');
  const runTimeout = wholeNumber('--run-timeout', o.runTimeout, 1, 86_400);
  const maxReps = wholeNumber('--max-reps', o.maxReps, 1, 100);
  if (o.measureCommand !== undefined) {
    if (o.serial) throw new UsageError('--serial: a --measure-command measures by itself; it takes no device');
    checkMetricName(o.metric);
    return {
      source: { kind: 'command', argv: commandWords('--measure-command', o.measureCommand), repo: '', timeoutSeconds: runTimeout },
      stepTimeoutMs: (maxReps * runTimeout + 60) * 1000,
    };
  }
  headlineMetric(o.metric);
  const image = imageSource(o)!;
  const imageSeconds = image.kind === 'build' ? 4 * 3600 : image.kind === 'command' ? image.timeoutSeconds : 60;
  const bootTimeout = wholeNumber('--boot-timeout', o.bootTimeout, 10, 3600);
  return {
    source: {
      kind: 'device',
      repo: '',
      image,
      metric: o.metric,
      vm: { memory: o.memory, cpus: wholeNumber('--cpus', o.cpus, 1, 16), zramSize: o.zramSize, zramAlgorithm: o.zramAlgorithm, bootTimeoutSeconds: bootTimeout },
      eat: { size: o.size, ratio: o.ratio, retouch: o.retouch, holdMs: o.holdMs },
      runTimeoutSeconds: runTimeout,
    },
    // A flash adds the reboot to the bootloader and the transfer (deployKernel allows the bootloader 90 s).
    stepTimeoutMs: (imageSeconds + bootTimeout + maxReps * runTimeout + (o.serial ? 300 : 120)) * 1000,
  };
}

function policyFrom(o: StartOptions): DecisionPolicy {
  const confidence = Number(o.confidence);
  if (!/^0?\.\d+$/.test(o.confidence.trim())) throw new UsageError(`--confidence: "${o.confidence}" is not a probability such as 0.99`);
  return checkPolicy({
    ...defaultPolicy,
    minReps: wholeNumber('--min-reps', o.minReps, 1, 100),
    maxReps: wholeNumber('--max-reps', o.maxReps, 1, 100),
    confidence,
  });
}

export function register(program: Command): void {
  const bisect = program.command('bisect').description('find the commit that regressed a metric: git bisect run with a noise-aware good/bad decision');

  bisect
    .command('start')
    .description('measure the good and bad ends, then bisect (builds, boots and measures each step) and write a report')
    .requiredOption('--repo <dir>', 'the kernel (or other) git repository to bisect')
    .requiredOption('--good <rev>', 'a commit known to be good')
    .requiredOption('--bad <rev>', 'a commit known to be bad (good must be its ancestor)')
    .requiredOption('--metric <name>', 'what to measure, e.g. pgsteal_anon_per_sec')
    .option('--higher-is-better', 'a lower value is worse')
    .option('--lower-is-better', 'a higher value is worse')
    .option('--min-reps <n>', 'runs per commit before any decision', String(defaultPolicy.minReps))
    .option('--max-reps <n>', 'runs per commit before it is skipped as undecided', String(defaultPolicy.maxReps))
    .option('--confidence <p>', 'posterior probability a decision needs', String(defaultPolicy.confidence))
    .option('--build <recipe>', 'build each commit with recipe:NAME, its source switched to the repository at that commit')
    .option('--images <dir>', 'prebuilt kernels named by commit (SHA, SHA.bzImage or SHA/bzImage; an abbreviated SHA of 7+ digits will do)')
    .option('--image-command <cmd>', 'a command (split on blanks, no shell; {commit} is replaced) whose last output line is the kernel image for the commit')
    .option('--measure-command <cmd>', 'measure without a device: a command (split on blanks, no shell; {commit} is replaced) printing the metric; run once per repetition')
    .option('-s, --serial <serial>', "flash this device (a phone, or a virtual device from zlab vm start) with each commit's kernel inside its own known-good boot image, instead of booting a fresh virtual device; it is put back on its known-good kernel at the end")
    .option('--memory <size>', 'fresh virtual device RAM (not with -s)', '1G')
    .option('--cpus <n>', 'fresh virtual device CPUs (not with -s)', '2')
    .option('--zram-size <size>', 'fresh virtual device zram size (not with -s)', '75%')
    .option('--zram-algorithm <name>', 'fresh virtual device zram compressor (not with -s)', 'lz4')
    .option('--size <size>', 'eater size per run (150 % cannot fit on the default 1G device with 75 % zram: what swap cannot hold must stay resident beside the compressed pages)', '120%')
    .option('--ratio <r>', 'eater compression ratio', '3')
    .option('--retouch <n>', 'eater re-touch passes', '1')
    .option('--hold-ms <ms>', 'eater hold between fill and re-touch', '1000')
    .option('--run-timeout <s>', 'seconds one measurement run may take', '900')
    .option('--image-timeout <s>', 'seconds --image-command may take', '3600')
    .option('--boot-timeout <s>', 'seconds a kernel may take to boot to adb (with -s: to sys.boot_completed after the flash)', '300')
    .option('--jobs <n>', 'make -j for --build', '2')
    .option('--replace', 'discard the state of an earlier bisect of this repository that did not finish')
    .option('--json', 'print one JSON document: the result, the report files and every step')
    .action(async (o: StartOptions, command: Command) => {
      const { source, stepTimeoutMs } = measureSource(o);
      const direction = metricDirection(o.metric, o);
      const policy = policyFrom(o);
      if (o.serial) {
        const vmOnly = ['memory', 'cpus', 'zramSize', 'zramAlgorithm'].filter((k) => command.getOptionValueSource(k) === 'cli');
        if (vmOnly.length) {
          throw new UsageError(`--serial: ${vmOnly.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} only apply to a fresh virtual device; a flashed device keeps its own memory, CPUs and zram`);
        }
      }
      const { flashTargetFor, restoreKnownGood } = await import('../../bisect/flash-measure.js');
      const target = o.serial && source.kind === 'device' ? await flashTargetFor(o.serial, undefined) : undefined;
      if (target && source.kind === 'device') source.target = target;
      const session = await prepareBisect({ repo: o.repo, good: o.good, bad: o.bad, metric: o.metric, direction, policy, source, replace: o.replace });
      say(`bisecting ${session.repo}: good ${session.good.slice(0, 12)}, bad ${session.bad.slice(0, 12)}, ${session.metric} (${direction}); state in ${session.dir}`);
      if (target) say(`each commit's kernel is flashed to ${target.serial} (adb server port ${target.adbServerPort})`);
      let restored: string | null = null;
      try {
        const measurer = await openMeasurer(session.source, say);
        try {
          const step = [process.execPath, zlabEntry, 'bisect', 'step', '--state', session.dir];
          const outcome = await runBisectWithGit(session, measurer, step, stepTimeoutMs, say);
          if (target) restored = await restoreKnownGood(target, wholeNumber('--boot-timeout', o.bootTimeout, 10, 3600), say);
          const device = target ? { serial: target.serial, knownGood: restored } : null;
          if (o.json) printJson({ result: outcome.result, report: outcome.report, baseline: outcome.session.baseline, steps: outcome.session.steps, device });
          else process.stdout.write(`${readFileSync(outcome.report.markdown, 'utf8')}\nreport: ${outcome.report.markdown}\n        ${outcome.report.json}\n`);
        } finally {
          await measurer.close();
        }
      } finally {
        // Whatever happened, a flashed device goes back to its known-good kernel.
        if (target && restored === null) {
          await restoreKnownGood(target, wholeNumber('--boot-timeout', o.bootTimeout, 10, 3600), say).catch((err) => say(`${target.serial}: known-good kernel NOT restored: ${errorMessage(err)}`));
        }
      }
    });

  bisect
    .command('step', { hidden: true })
    .description('one git bisect run step: measure HEAD, exit 0 good, 1 bad, 125 skip')
    .requiredOption('--state <dir>', 'the bisect state folder')
    .action(async (o: { state: string }) => {
      let measurer;
      try {
        const session = loadSession(o.state);
        measurer = await openMeasurer(session.source, say);
        process.exitCode = await runStep(o.state, measurer, say);
      } catch (err) {
        reportError(err);
        // Anything but a commit that cannot be measured stops git bisect run.
        process.exitCode = err instanceof ZlabError && err.kind !== 'usage' && err.kind !== 'bug' && !(err instanceof BisectAbort) ? 125 : STEP_ABORT;
      } finally {
        await measurer?.close();
      }
    });

  bisect
    .command('report')
    .description('print the report of the last bisect of a repository')
    .requiredOption('--repo <dir>', 'the repository')
    .option('--json', 'print the JSON report')
    .action(async (o: { repo: string; json?: boolean }) => {
      const dir = sessionDir(await repositoryRoot(o.repo));
      const file = join(dir, o.json ? 'report.json' : 'report.md');
      if (!existsSync(file)) throw new UsageError(`no finished bisect report for ${o.repo} (looked in ${dir})`);
      process.stdout.write(readFileSync(file, 'utf8'));
    });

  bisect
    .command('reset')
    .description("abandon a bisect: git bisect reset and remove zlab's state for the repository")
    .requiredOption('--repo <dir>', 'the repository')
    .action(async (o: { repo: string }) => {
      say(`removed ${await abandonBisect(o.repo)}`);
    });
}
