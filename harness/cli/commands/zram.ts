import Table from 'cli-table3';
import type { Command } from 'commander';
import { discoverDevice } from '../../configure/apply-configuration.js';
import { zramSetConfiguration, type ZramFlags } from '../../configure/zram-flags.js';
import { printJson } from '../output.js';
import { applyAndReport, deviceOptions, openDevice, type DeviceOptions } from './config.js';

interface ZramSetOptions extends DeviceOptions, ZramFlags {}

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
