import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { parseSize } from '../util/size.js';

/** zram compressors a 6.12 kernel may offer; the guest refuses the ones its kernel lacks. */
export const ZRAM_ALGORITHMS = ['lz4', 'lz4hc', 'zstd', 'lzo', 'lzo-rle', 'deflate', '842'] as const;
export type ZramAlgorithm = (typeof ZRAM_ALGORITHMS)[number];

/** `1G`, `1536M`, `1.5G` or a bare number of MiB (as QEMU's -m) → MiB. */
export function parseMemoryMiB(text: string | number, flag = '--memory'): number {
  const size = parseSize(text, flag, { bareUnit: 'MiB', percent: false }) as { bytes: number };
  const mib = size.bytes / 1024 ** 2;
  if (!Number.isInteger(mib)) throw new UsageError(`${flag}: "${text}" is not a whole number of MiB`);
  if (mib < 128 || mib > 16384) throw new UsageError(`${flag}: ${mib} MiB is out of range (128M to 16G)`);
  return mib;
}

/**
 * zram disk size as the guest's init reads it: a whole percentage of RAM
 * (`75%`) or a byte count. `2G`/`512M` (or a bare number of MiB) are turned
 * into bytes here.
 */
export function parseZramSize(text: string, memoryMiB: number): string {
  const flag = '--zram-size';
  const size = parseSize(text, flag, { bareUnit: 'MiB' });
  if ('percent' in size) {
    // the guest's init works in whole percent
    if (!Number.isInteger(size.percent) || size.percent < 1) throw new UsageError(`${flag}: ${text.trim()} is out of range (1% to 400% of RAM, whole percent)`);
    return `${size.percent}%`;
  }
  if (size.bytes < 1024 ** 2) throw new UsageError(`${flag}: ${text.trim()} is too small (at least 1M)`);
  if (size.bytes > memoryMiB * 4 * 1024 ** 2) throw new UsageError(`${flag}: ${text.trim()} is more than four times the VM's ${memoryMiB} MiB of RAM`);
  return String(size.bytes);
}

/** adb's emulator scan covers 5555–5585: a virtual device must stay outside it. */
export function checkAdbPort(port: number, flag = '--adb-port'): number {
  if (!Number.isInteger(port) || port < 1024 || port > 65535) throw new UsageError(`${flag}: ${port} is not a TCP port between 1024 and 65535`);
  if (port >= 5555 && port <= 5585) {
    throw new UsageError(`${flag}: ${port} is in adb's emulator range 5555-5585, which the adb server probes by itself; pick another port`);
  }
  return port;
}

export const startOptionsSchema = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, 'a name is 1-40 letters, digits, ".", "_" or "-"')
    .optional(),
  memory: z.union([z.string(), z.number()]).optional(),
  cpus: z.number().int().min(1).max(16).optional(),
  kernel: z.string().min(1).optional(),
  zramSize: z.string().optional(),
  zramAlgorithm: z.enum(ZRAM_ALGORITHMS).optional(),
  adbPort: z.number().optional(),
  adbServerPort: z.number().int().min(1).max(65535).optional(),
  accel: z.enum(['auto', 'tcg', 'kvm']).optional(),
  bootTimeoutSeconds: z.number().positive().max(3600).optional(),
  adbdPath: z.string().optional(),
  /** Stop the VM when this process exits (tests pass their own pid so that nothing outlives them). */
  ownerPid: z.number().int().positive().optional(),
});

export type StartOptions = z.input<typeof startOptionsSchema>;

export function parseStartOptions(input: unknown): z.output<typeof startOptionsSchema> {
  const result = startOptionsSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'options';
    throw new UsageError(`virtual device ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
