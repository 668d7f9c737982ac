import { describe, expect, it } from '@jest/globals';
import { kernelCommandLine, qemuArguments, type QemuSpec } from './qemu-command.js';

const spec: QemuSpec = {
  name: 'vd-40001',
  kernel: '/boot/vmlinuz',
  initrd: '/cache/initrd.cpio.gz',
  memoryMiB: 1536,
  cpus: 2,
  accel: 'tcg',
  adbPort: 40001,
  consoleLog: '/state/vms/vd,1/console.log',
  rebootChannel: '/state/vms/vd,1/reboot-channel',
  zramSize: '75%',
  zramAlgorithm: 'zstd',
};

function valueOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));
}

describe('QEMU command line', () => {
  const args = qemuArguments(spec);

  it('forwards a loopback-only port to the guest adbd', () => {
    expect(valueOf(args, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:40001-:5555']);
  });

  it('exits on guest reboot instead of resetting', () => {
    expect(args).toContain('-no-reboot');
  });

  it('sizes the VM and uses TCG with threads by default', () => {
    expect(valueOf(args, '-m')).toEqual(['1536']);
    expect(valueOf(args, '-smp')).toEqual(['2']);
    expect(valueOf(args, '-accel')).toEqual(['tcg,thread=multi']);
    expect(valueOf(qemuArguments({ ...spec, accel: 'kvm' }), '-accel')).toEqual(['kvm']);
  });

  it('puts the console and the reboot channel on two serial ports, doubling commas in paths', () => {
    expect(valueOf(args, '-chardev')).toEqual([
      'file,id=console,path=/state/vms/vd,,1/console.log,append=on',
      'file,id=reboot,path=/state/vms/vd,,1/reboot-channel',
    ]);
    expect(valueOf(args, '-serial')).toEqual(['chardev:console', 'chardev:reboot']);
  });

  it('passes the zram settings to the guest on the kernel command line', () => {
    expect(valueOf(args, '-append')).toEqual([kernelCommandLine(spec)]);
    expect(kernelCommandLine(spec)).toMatch(/(^| )zlab\.zram_size=75% zlab\.zram_algorithm=zstd$/);
    expect(kernelCommandLine(spec)).toContain('console=ttyS0');
  });
});
