import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ZlabError } from '../util/errors.js';
import { stateDir } from '../util/state-dir.js';

export const VM_STATES = ['stopped', 'booting', 'device', 'bootloader'] as const;
export type VmLifecycleState = (typeof VM_STATES)[number];

export const vmStateSchema = z.object({
  name: z.string(),
  serial: z.string(),
  adbPort: z.number().int(),
  adbServerPort: z.number().int(),
  /** QEMU's pid while it runs, else null. */
  pid: z.number().int().nullable(),
  supervisorPid: z.number().int().nullable(),
  kernel: z.string(),
  kernelRelease: z.string(),
  initrd: z.string(),
  memoryMiB: z.number().int(),
  cpus: z.number().int(),
  accel: z.enum(['tcg', 'kvm']),
  zramSize: z.string(),
  zramAlgorithm: z.string(),
  state: z.enum(VM_STATES),
  /** Seconds from QEMU's start to adb reporting the device booted, for the first boot. */
  bootSeconds: z.number().nullable(),
  consoleLog: z.string(),
  vmDir: z.string(),
  createdAt: z.string(),
  /** When the current QEMU process started (ISO time), null while powered off. */
  bootStartedAt: z.string().nullable(),
  boots: z.number().int(),
  lastRebootTarget: z.string().nullable(),
  /** Why the VM is off when it powered off by itself (poweroff, panic, QEMU error). */
  lastExit: z.string().nullable(),
  /** Why the first boot after `zlab vm start` ended by itself, when a second power-on then booted. */
  firstBootFailure: z.string().nullable().default(null),
  /** Set by the bootloader while it serves fastboot. */
  fastbootPort: z.number().int().nullable(),
  /** When set, the supervisor stops the VM and removes its state once this process is gone. */
  ownerPid: z.number().int().nullable().default(null),
});

export type VmState = z.infer<typeof vmStateSchema>;

export const STATE_FILE = 'vm.json';

export function vmsRoot(): string {
  return stateDir('vms');
}

export function vmDirFor(name: string): string {
  return join(vmsRoot(), name);
}

export function readVmState(vmDir: string): VmState {
  const path = join(vmDir, STATE_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ZlabError('infrastructure', `cannot read virtual device state ${path}: ${(err as Error).message}`);
  }
  const parsed = vmStateSchema.safeParse(raw);
  if (!parsed.success) throw new ZlabError('infrastructure', `virtual device state ${path} is malformed: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// The CLI and the supervisor both update the file: a directory lock keeps
// their read-modify-write cycles apart, and a rename makes each write atomic.
function withLock<T>(vmDir: string, fn: () => T): T {
  const lock = join(vmDir, 'vm.json.lock');
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died leaves its lock behind; after the deadline it is taken over.
      if (Date.now() > deadline) break;
      sleepSync(10);
    }
  }
  try {
    return fn();
  } finally {
    try {
      rmdirSync(lock);
    } catch {
      // already gone
    }
  }
}

export function writeVmState(state: VmState): void {
  withLock(state.vmDir, () => writeUnlocked(state));
}

function writeUnlocked(state: VmState): void {
  const path = join(state.vmDir, STATE_FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(vmStateSchema.parse(state), null, 2)}\n`);
  renameSync(temporary, path);
}

export function updateVmState(vmDir: string, patch: Partial<VmState>): VmState {
  return withLock(vmDir, () => {
    const next = { ...readVmState(vmDir), ...patch };
    writeUnlocked(next);
    return next;
  });
}

/** Every recorded virtual device (folders without a readable state file are skipped). */
export function readAllVmStates(): VmState[] {
  const root = vmsRoot();
  return readdirSync(root)
    .filter((name) => existsSync(join(root, name, STATE_FILE)))
    .flatMap((name) => {
      try {
        return [readVmState(join(root, name))];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
