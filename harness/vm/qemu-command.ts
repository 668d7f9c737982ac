/** Everything QEMU needs to boot one virtual device. */
export interface QemuSpec {
  name: string;
  kernel: string;
  /** null: boot without a ramdisk (a boot image may have none). */
  initrd: string | null;
  /** The boot image's command line; absent: the VM's default (kernelCommandLine). */
  cmdline?: string;
  memoryMiB: number;
  cpus: number;
  accel: 'tcg' | 'kvm';
  adbPort: number;
  consoleLog: string;
  /** File the guest's reboot hook writes its target into (ttyS1). */
  rebootChannel: string;
  /** `75%` or a byte count, read by the guest's init. */
  zramSize: string;
  zramAlgorithm: string;
}

export const QEMU_BINARY = 'qemu-system-x86_64';

// QEMU splits option values at commas; a literal comma is written twice.
function optionValue(text: string): string {
  return text.replace(/,/g, ',,');
}

export function kernelCommandLine(spec: Pick<QemuSpec, 'zramSize' | 'zramAlgorithm'>): string {
  // panic=-1: a panicking kernel resets at once, and with -no-reboot QEMU exits.
  // no_timer_check: on an emulated CPU that the host starves for a few
  // milliseconds the early check of the timer interrupt can miss its ticks,
  // and the kernel then routes the timer another way or panics
  // (harness/vm/README.md); a virtual machine's timer is known to work.
  return ['console=ttyS0', 'loglevel=4', 'panic=-1', 'no_timer_check', `zlab.zram_size=${spec.zramSize}`, `zlab.zram_algorithm=${spec.zramAlgorithm}`].join(' ');
}

/** The argument vector (without the binary) for one boot. */
export function qemuArguments(spec: QemuSpec): string[] {
  const accel = spec.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
  return [
    '-name', `zlab-${spec.name}`,
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    ...accel,
    '-m', String(spec.memoryMiB),
    '-smp', String(spec.cpus),
    '-kernel', spec.kernel,
    ...(spec.initrd === null ? [] : ['-initrd', spec.initrd]),
    '-append', spec.cmdline ?? kernelCommandLine(spec),
    // ttyS0: the console, appended across reboots; ttyS1: the reboot channel.
    '-chardev', `file,id=console,path=${optionValue(spec.consoleLog)},append=on`,
    '-serial', 'chardev:console',
    '-chardev', `file,id=reboot,path=${optionValue(spec.rebootChannel)}`,
    '-serial', 'chardev:reboot',
    '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${spec.adbPort}-:5555`,
    '-device', 'virtio-net-pci,netdev=net0',
    '-no-reboot',
  ];
}
