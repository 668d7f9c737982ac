import type { Command } from 'commander';
import { runDoctor } from '../../doctor/doctor.js';
import { type DeviceCliOptions, openSelectedDevice, withDeviceOptions } from '../device-options.js';
import { printJson, table } from '../output.js';

export function register(program: Command): void {
  withDeviceOptions(
    program.command('doctor').description('check a device for reclaim experiments: adb, root, kernel, zram, swap, PSI, thermal, cpufreq, kcompressd'),
  )
    .option('--json', 'print one JSON document')
    .action(async (options: DeviceCliOptions & { json?: boolean }) => {
      const device = await openSelectedDevice(options);
      const report = await runDoctor(device);
      if (options.json) printJson(report);
      else {
        const grid = table(['check', 'verdict', 'detail'], { colWidths: [12, 9, 90] });
        for (const c of report.checks) grid.push([c.name, c.verdict, c.detail]);
        process.stdout.write(`${report.serial} — ${report.healthy ? 'ready' : 'NOT ready'}\n${grid.toString()}\n`);
      }
      if (!report.healthy) process.exitCode = 1;
    });
}
