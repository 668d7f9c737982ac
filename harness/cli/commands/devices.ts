import { type Command, Option } from 'commander';
import { Device } from '../../device/device.js';
import { defaultAdbServer, parseAdbServer, type AdbServerAddress } from '../../device/adb-host.js';
import { listAttachedDevices } from '../../device/discovery.js';
import { printJson, table } from '../output.js';

interface DeviceRow {
  serial: string;
  state: string;
  server: string;
  model?: string;
  abi?: string;
  kernel?: string;
}

export function register(program: Command): void {
  program
    .command('devices')
    .description('list devices on one or more adb servers, with model, ABI and kernel')
    .addOption(
      new Option('--adb-server <host:port>', 'adb server to ask; repeat for several').argParser((value: string, previous: AdbServerAddress[] = []) => [
        ...previous,
        parseAdbServer(value),
      ]),
    )
    .option('--json', 'print one JSON document')
    .action(async (options: { adbServer?: AdbServerAddress[]; json?: boolean }) => {
      const servers = options.adbServer ?? [defaultAdbServer()];
      const attached = await listAttachedDevices(servers);
      const rows: DeviceRow[] = await Promise.all(
        attached.map(async (d) => {
          const row: DeviceRow = { serial: d.serial, state: d.state, server: `${d.server.host}:${d.server.port}` };
          if (d.state !== 'device') return row;
          const device = await Device.open(d.serial, { server: d.server });
          const props = await device.getProperties().catch(() => ({}) as Record<string, string>);
          row.model = props['ro.product.model'];
          row.abi = props['ro.product.cpu.abi'];
          row.kernel = (await device.shell('uname -r', { timeoutMs: 10_000 }).catch(() => undefined))?.stdout.trim();
          return row;
        }),
      );
      if (options.json) return printJson({ devices: rows });
      if (!rows.length) {
        process.stdout.write(`no devices on ${servers.map((s) => `${s.host}:${s.port}`).join(', ')}\n`);
        return;
      }
      const grid = table(['serial', 'state', 'model', 'abi', 'kernel', 'adb server']);
      for (const r of rows) grid.push([r.serial, r.state, r.model ?? '', r.abi ?? '', r.kernel ?? '', r.server]);
      process.stdout.write(`${grid.toString()}\n`);
    });
}
