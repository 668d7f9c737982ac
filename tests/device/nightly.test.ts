import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverDevice } from '../../harness/configure/apply-configuration.js';
import { loadSnapshot } from '../../harness/configure/snapshot-store.js';
import { checkPage } from '../../harness/report/headless-chromium.js';
import { colourVariety, decodePng } from '../../harness/report/png-pixels.js';
import { ResultsStore } from '../../harness/store/results-store.js';
import { describeOnDevice } from '../../harness/testing/on-device.js';

const repo = join(import.meta.dirname, '..', '..');
const minutes = (n: number) => n * 60_000;

interface NightlySummary {
  runId: number;
  resumed: boolean;
  skippedJobs: number;
  jobs: number;
  failedJobs: number;
  passed: boolean;
  report: { html: string; markdown: string; junit: string; json: string };
}

/** Run the CLI the way the README does, on the test's adb server and state. */
function zlab(args: string[], env: NodeJS.ProcessEnv) {
  return execa(join(repo, 'zlab'), args, { env, reject: false, all: true });
}

describe('the default nightly (README main command) on the virtual device', () => {
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'zlab-nightly-test-'));
    // The README command, on this test's private adb server and state directory.
    env = { ...process.env, ZLAB_STATE_DIR: join(scratch, 'state'), ANDROID_ADB_SERVER_PORT: process.env.ANDROID_ADB_SERVER_PORT ?? '5037' };
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it(
    'builds and flashes both kernels, writes all four report forms; the HTML opens in Chromium without errors and shows charts; lz4 vs zstd is told apart; kcompressd does the compressing on its kernel only',
    async () => {
      if (!process.env.ZLAB_ADB_SERVER) {
        // No device project set-up (no QEMU): say so instead of passing.
        throw new Error(`no virtual device infrastructure: ${process.env.ZLAB_NO_DEVICE_REASON ?? 'device global setup did not run'}`);
      }
      const result = await zlab(['nightly', '--json', '--out', join(scratch, 'reports')], env);
      const summary = JSON.parse(result.stdout) as NightlySummary;
      expect(summary.jobs).toBe(16);
      expect(summary.failedJobs).toBe(0);
      for (const file of Object.values(summary.report)) expect(existsSync(file)).toBe(true);

      const page = await checkPage(summary.report.html);
      expect(page.consoleErrors).toEqual([]);
      expect(page.externalRequests).toEqual([]);
      writeFileSync(join(scratch, 'nightly.png'), page.png);
      expect(colourVariety(decodePng(page.png))).toBeGreaterThan(20);

      const report = JSON.parse(readFileSync(summary.report.json, 'utf8')) as {
        comparisons: Array<{ baseline: string; candidate: string; metric: string; comparison: { ratio: { value: number; low: number; high: number }; significant: boolean } | null }>;
        selfChecks: Array<{ cellKey: string; otherCell?: string; metric: string; check: { passed: boolean; comparison: { ratio: { value: number; low: number; high: number }; rankTest: { p: number } } } | null }>;
      };
      const describe = (pairs: typeof report.comparisons) =>
        pairs.map((c) => `${c.metric} ${c.comparison ? `${c.comparison.ratio.value.toFixed(3)} [${c.comparison.ratio.low.toFixed(3)}, ${c.comparison.ratio.high.toFixed(3)}]${c.comparison.significant ? ' changed' : ''}` : 'n/a'}`).join('; ');

      // zstd costs kswapd several times lz4's CPU per page (the eater's data is
      // calibrated to the same ratio for both): the A/B must show a difference
      // whose CI excludes "no change" in at least one headline metric.
      const zram = report.comparisons.filter((c) => c.baseline === 'stock/lz4/eat-3to1' && c.candidate === 'stock/zstd/eat-3to1');
      expect(zram.length).toBeGreaterThan(0);
      process.stderr.write(`[nightly] lz4 vs zstd: ${describe(zram)}\n`);
      const called = zram.filter((c) => c.comparison?.significant);
      expect(called.map((c) => c.metric)).not.toEqual([]);
      for (const c of called) expect(c.comparison!.ratio.low > 1 || c.comparison!.ratio.high < 1).toBe(true);

      // The kernel A/B is reported whatever it shows (that is the measurement);
      // what must hold is that each cell ran on its own kernel and that on the
      // kcompressd kernel the compressor thread really took work off kswapd.
      const kernels = report.comparisons.filter((c) => c.baseline === 'stock/lz4/eat-3to1' && c.candidate === 'kcompressd/lz4/eat-3to1');
      expect(kernels.map((c) => c.metric)).toEqual(expect.arrayContaining(['pgsteal_anon_per_s', 'kswapd_cpu_share', 'allocstall_per_s']));
      process.stderr.write(`[nightly] stock vs kcompressd: ${describe(kernels)}\n`);
      const store = ResultsStore.open(join(env.ZLAB_STATE_DIR!, 'results.sqlite'));
      try {
        for (const job of store.jobs(summary.runId)) {
          const kernel = store.environment(job.id)?.kernel as { release?: string } | undefined;
          const onKcompressd = job.cellKey.startsWith('kcompressd/');
          // The recipe name is the kernel's local version (6.12.N-stock-6.12, 6.12.N-kcompressd-6.12).
          expect(`${job.cellKey}#${job.repetition} ${kernel?.release}`).toMatch(onKcompressd ? /#\d+ 6\.12\.\d+-kcompressd-6\.12$/ : /#\d+ 6\.12\.\d+-stock-6\.12$/);
        }
        const values = store.cellMetricValues(summary.runId);
        const kcompressdShares = values.get('kcompressd/lz4/eat-3to1')?.get('kcompressd_cpu_share') ?? [];
        expect(kcompressdShares).toHaveLength(4);
        for (const share of kcompressdShares) expect(share).toBeGreaterThan(0);
        expect(values.get('stock/lz4/eat-3to1')?.get('kcompressd_cpu_share')).toBeUndefined();
      } finally {
        store.close();
      }
      // The A/A self-check (lz4-again is lz4 under another name) is evaluated on real runs. Its verdict is
      // the report's to give: with 4 runs a side a true A/A is flagged about 3 % of the time.
      const aa = report.selfChecks.filter((c) => c.cellKey === 'stock/lz4/eat-3to1' && c.otherCell === 'stock/lz4-again/eat-3to1');
      expect(aa).toHaveLength(1);
      expect(aa[0]!.check).not.toBeNull();
      const aaRatio = aa[0]!.check!.comparison.ratio;
      process.stderr.write(`[nightly] A/A lz4 vs lz4-again (${aa[0]!.metric}): ${aaRatio.value.toFixed(3)} [${aaRatio.low.toFixed(3)}, ${aaRatio.high.toFixed(3)}] p ${aa[0]!.check!.comparison.rankTest.p.toFixed(3)}: ${aa[0]!.check!.passed ? 'no change called' : 'FLAGGED'}\n`);
      expect(readFileSync(summary.report.junit, 'utf8')).toMatch(/<testsuites[\s>]/);
      expect(readFileSync(summary.report.markdown, 'utf8')).toMatch(/kcompressd/);
    },
    minutes(60),
  );
});

await describeOnDevice('a nightly killed mid-run', { requires: { root: true, zram: true } }, (device) => {
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let planPath: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'zlab-resume-test-'));
    env = { ...process.env, ZLAB_STATE_DIR: join(scratch, 'state') };
    planPath = join(scratch, 'resume.yaml');
    writeFileSync(
      planPath,
      `name: resume-check
devices:
  - serial: "${device.serial}"
configurations:
  lz4: { zram: { algorithm: lz4, disksize: 1536M }, vm: { swappiness: 100 } }
  zstd: { zram: { algorithm: zstd, disksize: 1536M }, vm: { swappiness: 60 } }
workloads:
  eat: { size: 110%, ratio: 3, retouch: 1 }
repetitions: 2
`,
    );
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it(
    'resumes, skipping the jobs already done, and leaves the device as it found it',
    async () => {
      const before = await discoverDevice(device);
      const first = execa(join(repo, 'zlab'), ['nightly', planPath, '--json', '--out', join(scratch, 'reports')], { env, reject: false, all: true });
      // Kill it hard once the second job has started running its workload.
      let output = '';
      first.all!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (/current\/zstd\/eat#1: eating/.test(output)) {
            clearInterval(timer);
            first.kill('SIGKILL');
            resolve();
          }
          if (first.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`the nightly ended before it could be killed:\n${output}`));
          }
        }, 200);
      });
      await first;
      // Killed with the device configured: the snapshot is still pending.
      expect(loadSnapshotIn(env, device.serial)).not.toBeNull();

      const second = await zlab(['nightly', planPath, '--json', '--out', join(scratch, 'reports')], env);
      const summary = JSON.parse(second.stdout) as NightlySummary;
      expect(summary.resumed).toBe(true);
      expect(summary.skippedJobs).toBe(1);
      expect(summary.jobs).toBe(3);
      const store = ResultsStore.open(join(env.ZLAB_STATE_DIR!, 'results.sqlite'));
      try {
        const failed = store.jobs(summary.runId).filter((j) => j.status === 'failed');
        expect(failed.map((j) => `${j.cellKey}#${j.repetition}: ${j.failureKind}: ${j.failureMessage}`)).toEqual([]);
        expect([...store.completedJobKeys(summary.runId)].sort()).toEqual(['current/lz4/eat#1', 'current/lz4/eat#2', 'current/zstd/eat#1', 'current/zstd/eat#2']);
      } finally {
        store.close();
      }
      expect(loadSnapshotIn(env, device.serial)).toBeNull();

      const after = await discoverDevice(device);
      expect(comparable(after)).toEqual(comparable(before));

    },
    minutes(30),
  );
});

/** The snapshot store reads ZLAB_STATE_DIR; look into the child's. */
function loadSnapshotIn(env: NodeJS.ProcessEnv, serial: string) {
  const saved = process.env.ZLAB_STATE_DIR;
  process.env.ZLAB_STATE_DIR = env.ZLAB_STATE_DIR;
  try {
    return loadSnapshot(serial);
  } finally {
    process.env.ZLAB_STATE_DIR = saved;
  }
}

/** The knobs the plan's configurations touch, as the device shows them. */
function comparable(state: Awaited<ReturnType<typeof discoverDevice>>) {
  return {
    zram: state.zram.map((z) => ({ index: z.index, algorithm: z.algorithm, disksize: z.disksize, memLimit: z.memLimit })),
    swaps: state.swaps.map((s) => ({ path: s.path, sizeKiB: s.sizeKiB, priority: s.priority })),
    swappiness: state.sysctls.swappiness,
    pageCluster: state.sysctls['page-cluster'],
  };
}
