import { execa } from 'execa';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../util/state-dir.js';
import { QEMU_BINARY } from './qemu-command.js';

export type Accel = 'tcg' | 'kvm';

const PROBE_TIMEOUT_MS = 8_000;

interface ProbeRecord {
  kernel: string;
  kvm: boolean;
  probedAt: string;
  detail: string;
}

function probeFile(): string {
  return join(stateDir(), 'kvm-probe.json');
}

/**
 * Whether KVM actually boots a guest here. /dev/kvm may exist while a nested
 * guest hangs in early boot, so the kernel is booted with no root file system
 * (it must reach its "VFS: Unable to mount root" panic and, with panic=-1 and
 * -no-reboot, exit) under a short timeout. The answer is cached per kernel.
 */
export async function kvmWorks(kernel: string): Promise<boolean> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const file = probeFile();
  if (existsSync(file)) {
    try {
      const cached = JSON.parse(readFileSync(file, 'utf8')) as ProbeRecord;
      if (cached.kernel === kernel && typeof cached.kvm === 'boolean') return cached.kvm;
    } catch {
      // unreadable cache: probe again
    }
  }
  const result = await execa(
    QEMU_BINARY,
    // The name carries the prober's pid, so a probe can be told from other ones.
    ['-name', `zlab-kvm-probe-${process.pid}`, '-nodefaults', '-no-user-config', '-display', 'none', '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-smp', '1',
      '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 root=/dev/zlab-probe-none', '-serial', 'stdio', '-no-reboot'],
    { reject: false, timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', stdin: 'ignore' },
  );
  const kvm = !result.timedOut && /Kernel panic|VFS: Unable to mount root/.test(result.stdout);
  const detail = result.timedOut ? `no panic within ${PROBE_TIMEOUT_MS} ms` : `exit ${result.exitCode}`;
  const record: ProbeRecord = { kernel, kvm, probedAt: new Date().toISOString(), detail };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return kvm;
}

export async function chooseAccel(requested: 'auto' | Accel, kernel: string): Promise<Accel> {
  if (requested !== 'auto') return requested;
  return (await kvmWorks(kernel)) ? 'kvm' : 'tcg';
}
