import type { Command } from 'commander';
import { UsageError } from '../../util/errors.js';
import {
  type VirtualDeviceInfo,
  continueVirtualDevice,
  powerCycleVirtualDevice,
  listVirtualDevices,
  startVirtualDevice,
  stopAllVirtualDevices,
  stopVirtualDevice,
  virtualDeviceStatus,
} from '../../vm/api.js';
import { printJson, table } from '../output.js';

function integer(flag: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: "${value}" is not a whole number`);
    return Number(value);
  };
}

function summary(vm: VirtualDeviceInfo): string {
  const lines = [
    `serial      ${vm.serial}`,
    `state       ${vm.state}${vm.fastbootPort ? ` (fastboot on 127.0.0.1:${vm.fastbootPort})` : ''}`,
    `kernel      ${vm.kernel} (${vm.kernelRelease})`,
    `initrd      ${vm.initrd}`,
    `size        ${vm.memoryMiB} MiB, ${vm.cpus} CPUs, ${vm.accel.toUpperCase()}, zram ${vm.zramSize} ${vm.zramAlgorithm}`,
    `pid         ${vm.pid ?? '-'} (supervisor ${vm.supervisorPid ?? '-'})`,
    `boots       ${vm.boots}${vm.lastRebootTarget !== null ? `, last reboot target "${vm.lastRebootTarget}"` : ''}`,
    `console     ${vm.consoleLog}`,
  ];
  if (vm.bootSeconds !== null) lines.push(`boot-to-adb ${vm.bootSeconds} s`);
  if (vm.lastExit) lines.push(`last exit   ${vm.lastExit}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  const vm = program.command('vm').description('the virtual device: a QEMU VM with a real kernel and zram, reached over adb');

  vm.command('start')
    .description('boot a virtual device and connect adb to it')
    .option('--memory <size>', 'RAM, e.g. 1G or 1536M', '1G')
    .option('--cpus <n>', 'virtual CPUs', integer('--cpus'), 2)
    .option('--kernel <bzImage>', "kernel to boot (default: Debian's 6.12 package kernel)")
    .option('--zram-size <size>', 'zram0 disk size: a share of RAM (75%) or a size (2G)', '75%')
    .option('--zram-algorithm <name>', 'zram0 compressor', 'lz4')
    .option('--adb-port <port>', 'loopback port forwarded to the guest adbd (outside 5555-5585)', integer('--adb-port'))
    .option('--adb-server-port <port>', 'adb server to connect the device to', integer('--adb-server-port'))
    .option('--accel <accel>', 'auto (KVM only if a probe boot works), tcg or kvm', 'auto')
    .option('--name <name>', 'name of the VM (default vd-<adb port>)')
    .option('--boot-timeout <seconds>', 'give up when adb is not up after this long', integer('--boot-timeout'), 120)
    .option('--json', 'print one JSON document')
    .action(async (o: Record<string, string | number | boolean | undefined>) => {
      // Ctrl-C during the boot stops the half-booted VM instead of leaving it running.
      const interrupt = new AbortController();
      const onInterrupt = (): void => interrupt.abort();
      process.once('SIGINT', onInterrupt);
      const info = await startVirtualDevice(
        {
          name: o.name as string | undefined,
          memory: o.memory as string,
          cpus: o.cpus as number,
          kernel: o.kernel as string | undefined,
          zramSize: o.zramSize as string,
          zramAlgorithm: o.zramAlgorithm as never,
          adbPort: o.adbPort as number | undefined,
          adbServerPort: o.adbServerPort as number | undefined,
          accel: o.accel as never,
          bootTimeoutSeconds: o.bootTimeout as number,
        },
        (line) => process.stderr.write(`${line}\n`),
        interrupt.signal,
      ).finally(() => process.off('SIGINT', onInterrupt));
      if (o.json) return printJson(info);
      process.stdout.write(`${info.serial}\nbooted to adb in ${info.bootSeconds} s\n`);
    });

  vm.command('stop')
    .description('stop a virtual device (or all of them) and remove its state')
    .argument('[serial]', 'serial (127.0.0.1:PORT) or name')
    .option('--all', 'stop every virtual device')
    .action(async (serial: string | undefined, o: { all?: boolean }) => {
      if (o.all && serial) throw new UsageError('give a serial or --all, not both');
      if (o.all) {
        const stopped = await stopAllVirtualDevices();
        process.stdout.write(stopped.length ? `stopped ${stopped.join(', ')}\n` : 'no virtual devices\n');
        return;
      }
      if (!serial) throw new UsageError('vm stop: give a serial (see zlab vm list) or --all');
      await stopVirtualDevice(serial);
      process.stdout.write(`stopped ${serial}\n`);
    });

  vm.command('status')
    .description("a virtual device's state (all of them without a serial)")
    .argument('[serial]', 'serial (127.0.0.1:PORT) or name')
    .option('--json', 'print one JSON document')
    .action((serial: string | undefined, o: { json?: boolean }) => {
      const vms = serial ? [virtualDeviceStatus(serial)] : listVirtualDevices();
      if (o.json) return printJson(serial ? vms[0] : { devices: vms });
      if (!vms.length) process.stdout.write('no virtual devices\n');
      process.stdout.write(vms.map(summary).join('\n'));
    });

  vm.command('list')
    .description('list virtual devices')
    .option('--json', 'print one JSON document')
    .action((o: { json?: boolean }) => {
      const vms = listVirtualDevices();
      if (o.json) return printJson({ devices: vms });
      if (!vms.length) {
        process.stdout.write('no virtual devices\n');
        return;
      }
      const grid = table(['serial', 'name', 'state', 'memory', 'cpus', 'accel', 'boot-to-adb', 'kernel']);
      for (const v of vms) grid.push([v.serial, v.name, v.state, `${v.memoryMiB} MiB`, v.cpus, v.accel, v.bootSeconds === null ? '' : `${v.bootSeconds} s`, v.kernelRelease]);
      process.stdout.write(`${grid.toString()}\n`);
    });

  vm.command('continue')
    .description('power a virtual device on again that is off (in its bootloader, or powered off)')
    .argument('<serial>', 'serial (127.0.0.1:PORT) or name')
    .action(async (serial: string) => {
      await continueVirtualDevice(serial);
      process.stdout.write(`${serial}: powering on\n`);
    });

  vm.command('power-cycle')
    .description('cut the power and power on again, as a lab relay does: boots the active slot, or stays in the bootloader')
    .argument('<serial>', 'serial (127.0.0.1:PORT) or name')
    .option('--bootloader', 'hold the bootloader key: stay in the bootloader (fastboot) after power-on')
    .action(async (serial: string, o: { bootloader?: boolean }) => {
      await powerCycleVirtualDevice(serial, o.bootloader ? 'bootloader' : 'boot');
      process.stdout.write(`${serial}: power-cycled${o.bootloader ? ' into the bootloader' : ''}\n`);
    });
}
