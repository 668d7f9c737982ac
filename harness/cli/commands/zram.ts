import Table from 'cli-table3';
import type { Command } from 'commander';
import { discoverDevice } from '../../configure/apply-configuration.js';
import { parseConfiguration, type Configuration } from '../../configure/config-schema.js';
import { UsageError } from '../../util/errors.js';
import { printJson } from '../output.js';
import { applyAndReport, deviceOptions, openDevice, type DeviceOptions } from './config.js';

interface ZramSetOptions extends DeviceOptions {
  device?: string;
  algorithm?: string;
  level?: string;
  disksize?: string;
  memLimit?: string;
  streams?: string;
  backingDev?: string;
  priority?: string;
  swap?: boolean;
  compMode?: string;
}

function wholeNumber(flag: string, text: string): number {
  if (!/^-?\d{1,9}$/.test(text)) throw new UsageError(`${flag}: ${JSON.stringify(text.slice(0, 40))} is not a whole number`);
  return Number(text);
}

/** The configuration `zlab zram set` flags describe, validated by the same schema as a file. */
export function zramSetConfiguration(options: ZramSetOptions): Configuration {
  const zram: Record<string, unknown> = {};
  if (options.device !== undefined) zram.device = wholeNumber('--device', options.device);
  if (options.algorithm !== undefined) zram.algorithm = options.algorithm;
  if (options.level !== undefined) zram.algorithm_params = { level: wholeNumber('--level', options.level) };
  if (options.disksize !== undefined) zram.disksize = options.disksize;
  if (options.memLimit !== undefined) zram.mem_limit = options.memLimit;
  if (options.streams !== undefined) zram.max_comp_streams = wholeNumber('--streams', options.streams);
  if (options.backingDev !== undefined) zram.backing_dev = options.backingDev;
  if (options.priority !== undefined) zram.priority = wholeNumber('--priority', options.priority);
  if (options.swap !== undefined) zram.swap = options.swap;
  if (options.compMode !== undefined) zram.comp_mode = options.compMode;
  if (Object.keys(zram).length === 0 || (Object.keys(zram).length === 1 && 'device' in zram)) {
    throw new UsageError('zram set: nothing to set; give at least one of --algorithm, --disksize, --mem-limit, --streams, --level, --backing-dev, --priority, --comp-mode, --swap/--no-swap');
  }
  return parseConfiguration({ zram }, 'zram set');
}

export function register(program: Command): void {
  const zram = program.command('zram').description('show or set a device\'s zram');

  deviceOptions(zram.command('show').description('zram devices, algorithms offered, sizes and swap state (one round trip)')).action(async (options: DeviceOptions) => {
    const device = await openDevice(options);
    const state = await discoverDevice(device);
    const view = {
      serial: device.serial,
      kernel: state.kernel,
      zram: state.zram.map((z) => ({
        device: `zram${z.index}`,
        algorithm: z.algorithm,
        algorithms: z.algorithms,
        disksize: z.disksize,
        memLimit: z.memLimit,
        maxCompStreams: z.maxCompStreams,
        backingDev: z.backingDev,
        algorithmParams: z.hasAlgorithmParams,
        compMode: z.compMode,
        swap: z.swap ? { path: z.swap.path, priority: z.swap.priority, usedKiB: z.swap.usedKiB } : null,
        mmStat: state.files[`${z.dir}/mm_stat`]?.[0]?.trim().split(/\s+/).map(Number) ?? null,
      })),
      swaps: state.swaps,
      kcompressd: state.kcompressd,
    };
    if (options.json) return printJson(view);
    if (view.zram.length === 0) {
      process.stdout.write(`${device.serial}: no zram devices\n`);
      return;
    }
    const table = new Table({ head: ['device', 'algorithm', 'offers', 'disksize', 'mem_limit', 'swap', 'streams', 'backing_dev'] });
    for (const z of view.zram) {
      table.push([
        z.device,
        z.algorithm ?? '?',
        z.algorithms.join(' '),
        String(z.disksize),
        String(z.memLimit ?? ''),
        z.swap ? `${z.swap.path} prio ${z.swap.priority}` : 'no',
        String(z.maxCompStreams ?? ''),
        z.backingDev ?? '(no writeback)',
      ]);
    }
    process.stdout.write(`${device.serial} — kernel ${state.kernel ?? '?'}\n${table.toString()}\n`);
  });

  deviceOptions(
    zram
      .command('set')
      .description('reconfigure one zram device in one step (swapoff, reset, set, mkswap, swapon); undo with `zlab config restore`')
      .option('--device <n>', 'zram device index (default 0)')
      .option('--algorithm <name>', 'compression algorithm, e.g. lz4 or zstd')
      .option('--level <n>', 'compression level (algorithm_params, Linux 6.12+)')
      .option('--disksize <size>', 'e.g. 2G, 512M, a byte count or 75% of RAM')
      .option('--mem-limit <size>', 'limit on memory zram may use (0 = none)')
      .option('--streams <n>', 'max_comp_streams')
      .option('--backing-dev <path>', 'writeback device, or none')
      .option('--priority <n>', 'swap priority (0..32767)')
      .option('--comp-mode <mode>', 'vendor comp_mode (e.g. kcompressd)')
      .option('--swap', 'use the device as swap')
      .option('--no-swap', 'do not use the device as swap'),
  ).action(async (options: ZramSetOptions) => {
    await applyAndReport(options, zramSetConfiguration(options));
  });
}
