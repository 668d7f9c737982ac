import { readFileSync } from 'node:fs';
import Table from 'cli-table3';
import type { Command } from 'commander';
import type { Device } from '../../device/device.js';
import { type DeviceCliOptions, openSelectedDevice, withDeviceOptions } from '../device-options.js';
import { applyConfiguration, discoverDevice, restoreConfiguration, type ApplyReport } from '../../configure/apply-configuration.js';
import { parseConfigurationText, type Configuration } from '../../configure/config-schema.js';
import { exitCodeForSignal } from '../../util/signal-guard.js';
import { UsageError, ZlabError, errorMessage } from '../../util/errors.js';
import { printJson, reportError } from '../output.js';

export interface DeviceOptions extends DeviceCliOptions {
  json?: boolean;
}

/** -s/--adb-server (shared by every device command) and --json. */
export function deviceOptions(command: Command): Command {
  return withDeviceOptions(command).option('--json', 'print one JSON document');
}

export async function openDevice(options: DeviceOptions): Promise<Device> {
  return openSelectedDevice(options);
}

/** Apply and print; an interrupted apply exits 130/143 after restoring. */
export async function applyAndReport(options: DeviceOptions, config: Configuration): Promise<void> {
  const device = await openDevice(options);
  let report: ApplyReport;
  try {
    report = await applyConfiguration(device, config, { progress: (line) => process.stderr.write(`zlab: ${line}\n`) });
  } catch (err) {
    const signal = err instanceof ZlabError ? (err.details.signal as NodeJS.Signals | null | undefined) : undefined;
    if (!signal) throw err;
    reportError(err);
    process.exitCode = exitCodeForSignal(signal);
    return;
  }
  if (options.json) return printJson(report);
  if (report.changes.length === 0) {
    process.stdout.write(`${report.serial}: already configured as asked; nothing changed\n`);
    return;
  }
  const table = new Table({ head: ['knob', 'before', 'after'] });
  for (const c of report.changes) table.push([c.knob, c.before, c.after]);
  process.stdout.write(`${table.toString()}\n`);
  for (const w of report.warnings) process.stderr.write(`zlab: warning: ${w}\n`);
  process.stdout.write(`snapshot kept at ${report.snapshot}; put the device back with: zlab config restore -s ${report.serial}\n`);
}

function readConfigFile(file: string): Configuration {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read it (${errorMessage(err)})`);
  }
  return parseConfigurationText(text, file);
}

export function register(program: Command): void {
  const config = program.command('config').description('apply a device configuration (zram, zswap, vm sysctls, kcompressd, cpufreq, devfreq, Android) and restore it');

  deviceOptions(config.command('apply').description('snapshot the knobs FILE touches, apply FILE in one step, read back and verify').argument('<file>', 'YAML configuration (see docs/configuration.md)')).action(
    async (file: string, options: DeviceOptions) => {
      const parsed = readConfigFile(file);
      await applyAndReport(options, parsed);
    },
  );

  deviceOptions(config.command('restore').description('put back every knob zlab changed on the device (safe to repeat)')).action(async (options: DeviceOptions) => {
    const device = await openDevice(options);
    const report = await restoreConfiguration(device);
    if (options.json) return printJson(report);
    if (!report.restored) {
      process.stdout.write(`${report.serial}: no configuration pending; nothing to restore\n`);
      return;
    }
    const table = new Table({ head: ['knob', 'restored to'] });
    for (const k of report.knobs) table.push([k.knob, k.value]);
    process.stdout.write(`${table.toString()}\n`);
  });

  deviceOptions(config.command('show').description('what the device offers and how it is set now (one round trip)')).action(async (options: DeviceOptions) => {
    const device = await openDevice(options);
    const state = await discoverDevice(device);
    const { files: _files, unreadable: _unreadable, ...view } = state;
    if (options.json) return printJson({ serial: device.serial, ...view });
    const table = new Table({ head: ['knob', 'now', 'offers'] });
    for (const z of state.zram) {
      table.push([`zram${z.index}`, `${z.algorithm ?? '?'}, disksize ${z.disksize}${z.swap ? `, swap prio ${z.swap.priority}` : ''}`, z.algorithms.join(' ')]);
    }
    for (const [name, value] of Object.entries(state.sysctls)) table.push([`vm.${name}`, value, '']);
    if (state.zswap) for (const [name, value] of Object.entries(state.zswap)) table.push([`zswap.${name}`, value, '']);
    for (const k of state.kcompressd.knobs) table.push([k.path, k.value ?? '(unreadable)', k.writable ? 'writable' : 'read-only']);
    for (const p of state.cpufreq) table.push([`cpufreq.${p.name}`, `${p.governor} ${p.min}..${p.max} kHz`, p.governors.join(' ')]);
    for (const d of state.devfreq) table.push([`devfreq.${d.name}`, `${d.governor} ${d.min}..${d.max} Hz`, d.governors.join(' ')]);
    table.push(['selinux', state.selinux ?? '(none)', ''], ['lmkd', state.lmkd ?? '(none)', '']);
    if (state.cpufreq.length === 0) table.push(['cpufreq', '(not supported here)', '']);
    process.stdout.write(`${device.serial} — kernel ${state.kernel ?? '?'}; kcompressd threads: ${state.kcompressd.threads.join(' ') || 'none'}\n${table.toString()}\n`);
  });

  config
    .command('check')
    .description('validate a configuration file without a device')
    .argument('<file>')
    .option('--json', 'print one JSON document')
    .action((file: string, options: { json?: boolean }) => {
      const parsed = readConfigFile(file);
      if (options.json) return printJson({ file, valid: true, configuration: parsed });
      process.stdout.write(`${file}: valid\n`);
    });
}
