import type { Command } from 'commander';
import { parseAdbServer, type AdbServerAddress } from '../../device/adb-host.js';
import { Device } from '../../device/device.js';
import { UsageError } from '../../util/errors.js';
import { stateDir } from '../../util/state-dir.js';
import { parseEatOptions, type EatOptionsInput } from '../../workload/eat-options.js';
import { runEat, type EatResult } from '../../workload/eat-run.js';
import { printJson } from '../output.js';

interface EatCliOptions extends EatOptionsInput {
  serial?: string;
  adbServer?: string;
  outDir?: string;
  json?: boolean;
}

function fixed(value: number | null, digits = 1): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

function pct(value: number | null): string {
  return value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`;
}

function report(result: EatResult): string {
  const { summary: s, headline: h } = result;
  const lines = [
    `pages written ${s.pages.written} (zero ${s.pages.zero}, same-filled ${s.pages.sameFilled}, data ${s.pages.data})`,
    `pages verified ${s.pages.verified}, corrupt ${s.corruptPages}${s.firstCorrupt.length ? ` (first at offsets ${s.firstCorrupt.map((c) => c.offset).join(', ')})` : ''}`,
    ...s.phases.map((p) => `  ${p.name.padEnd(12)} ${((p.endBoottimeNs - p.startBoottimeNs) / 1e9).toFixed(2)} s  ${p.mibPerSec.toFixed(1)} MiB/s`),
    `window ${h.window.seconds.toFixed(1)} s${h.valid ? '' : ` INVALID: ${h.reasons.join('; ')}`}`,
    `pgsteal_anon/s ${fixed(h.pgstealAnonPerSec)}  pswpout ${h.pswpout ?? 'n/a'}  allocstall/s ${fixed(h.allocstallPerSec)}  kswapd CPU ${pct(h.kswapdCpuShare)}`,
  ];
  if (h.zram) {
    lines.push(`${h.zram.device}: ratio ${fixed(h.zram.compressionRatio, 2)}  same_pages ${h.zram.samePagesMax}  swpout_zero ${h.swpoutZero ?? 'n/a'}`);
  }
  if (result.samePages) lines.push(`same pages: ${result.samePages.explanation}`);
  for (const w of h.warnings) lines.push(`warning: ${w}`);
  for (const e of s.errors) lines.push(`eater: ${e}`);
  if (s.oomScoreAdj.error) lines.push(`eater: ${s.oomScoreAdj.error}`);
  lines.push(`files: ${result.files.record} ${result.files.summary}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('eat')
    .description('run the memory eater under the on-device sampler and report reclaim figures')
    .requiredOption('-s, --serial <serial>', 'device serial (see `zlab devices`)')
    .option('--adb-server <host:port>', 'adb server the device is on')
    .option('--size <size>', 'memory to eat: 1536M, 1.5G or 150% of MemTotal', '150%')
    .option('--ratio <n>', 'compression ratio of data pages, 3 means 3:1', '3')
    .option('--same-filled <pct>', 'share of same-filled pages', '0%')
    .option('--zero <pct>', 'share of zero pages', '0%')
    .option('--file <size>', 'also re-read a file of this size through the page cache')
    .option('--period-ms <ms>', 'sampling period', '100')
    .option('--workers <n>', 'eater processes', '1')
    .option('--rate <MiB/s>', 'fill rate, 0 for as fast as possible', '0')
    .option('--hold-ms <ms>', 'hold time between fill and re-touch', '2000')
    .option('--retouch <n>', 're-touch (verify) passes', '1')
    .option('--seed <n>', 'generator seed', '1')
    .option('--oom-score-adj <n>', "the eater's oom_score_adj", '-1000')
    .option('--allow-overcommit', 'run a size that does not fit in RAM + swap (zram keeps its pages in RAM, compressed)')
    .option('--out-dir <dir>', 'where to keep the record and summary (default: under the state directory)')
    .option('--json', 'print one JSON document')
    .action(async (options: EatCliOptions) => {
      // Everything is validated before the device is touched.
      const request = parseEatOptions(options);
      const serial = options.serial ?? '';
      if (!/^[A-Za-z0-9._:-]+$/.test(serial)) throw new UsageError(`--serial: "${serial}" is not a device serial`);
      const server: AdbServerAddress | undefined = options.adbServer ? parseAdbServer(options.adbServer) : undefined;
      const device = await Device.open(serial, server ? { server } : {});
      const localDir = options.outDir ?? stateDir('runs', `eat-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      const result = await runEat(device, request, {
        localDir,
        progress: (m) => process.stderr.write(`${m}\n`),
      });
      if (options.json) {
        printJson({
          serial,
          plan: result.plan,
          summary: result.summary,
          corruptPages: result.summary.corruptPages,
          headline: result.headline,
          samePages: result.samePages,
          files: result.files,
        });
      } else {
        process.stdout.write(report(result));
      }
      if (result.summary.corruptPages > 0 || result.summary.errors.length > 0) process.exitCode = 1;
    });
}
