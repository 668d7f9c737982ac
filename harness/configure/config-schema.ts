import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UsageError, errorMessage } from '../util/errors.js';
import { parseFrequency, type Frequency } from './frequency.js';
import { parseSize, type Size } from '../util/size.js';

/*
 * The device configuration as written in plans, files and command lines.
 * Everything here is syntax: names are restricted to the characters kernel
 * names use, numbers to the ranges the kernel accepts. Whether this device
 * offers a knob or a value is checked later, against what discovery found
 * (resolve-configuration.ts), before anything changes.
 */

/** Compression algorithm names as the crypto API spells them (lz4, lzo-rle, zstd, 842). */
const algorithmName = z
  .string()
  .max(32)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'is not an algorithm name (lowercase letters, digits, - and _; e.g. lz4, zstd)');

/** Governor, zpool and mode names: sysfs words. */
const kernelWord = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.,+-]*$/, 'is not a kernel name (letters, digits, . , + - _)');

/** Absolute device paths, e.g. /dev/block/by-name/userdata or /dev/loop0; no "..", no spaces. */
const devicePath = z
  .string()
  .max(255)
  .regex(/^\/dev\/[A-Za-z0-9_.+-]+(?:\/[A-Za-z0-9_.+-]+)*$/, 'is not a device path (/dev/… with letters, digits, . _ + -)')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** Files a zstd dictionary may come from. */
const dictPath = z
  .string()
  .max(255)
  .regex(/^\/[A-Za-z0-9_.+-]+(?:\/[A-Za-z0-9_.+-]+)*$/, 'is not an absolute path of letters, digits, . _ + -')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

function int(min: number, max: number) {
  return z.number().int().min(min).max(max);
}

const sizeField = z.union([z.number(), z.string().max(32)]).transform((value, ctx): Size => {
  try {
    return parseSize(value, '');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: errorMessage(err).replace(/^: /, '') });
    return z.NEVER;
  }
});

const frequencyField = z.union([z.number(), z.string().max(32)]).transform((value, ctx): Frequency => {
  try {
    return parseFrequency(value, '');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: errorMessage(err).replace(/^: /, '') });
    return z.NEVER;
  }
});

export const zramSchema = z.strictObject({
  /** zramN; the device must exist (no hot_add). */
  device: int(0, 31).default(0),
  algorithm: algorithmName.optional(),
  /** Written to algorithm_params where the kernel has it (6.12+). */
  algorithm_params: z.strictObject({ level: int(-131072, 131072).optional(), dict: dictPath.optional() }).optional(),
  max_comp_streams: int(1, 256).optional(),
  disksize: sizeField.optional(),
  /** 0 = no limit. */
  mem_limit: sizeField.optional(),
  /** A block device for writeback, or "none". */
  backing_dev: z.union([z.literal('none'), devicePath]).optional(),
  /** Vendor kernels: /sys/block/zramN/comp_mode (e.g. kcompressd). */
  comp_mode: kernelWord.optional(),
  /** Use the device as swap; absent = as it is now. */
  swap: z.boolean().optional(),
  /** swapon -p; absent = as it is now (or the kernel's automatic priority). */
  priority: int(0, 32767).optional(),
});

export const zswapSchema = z.strictObject({
  enabled: z.boolean().optional(),
  compressor: algorithmName.optional(),
  zpool: kernelWord.optional(),
  max_pool_percent: int(1, 100).optional(),
  accept_threshold_percent: int(0, 100).optional(),
  shrinker: z.boolean().optional(),
});

/** vm sysctls by the names of their /proc/sys/vm files ("-" and "_" both accepted). */
export const vmSchema = z.preprocess(
  (value) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/-/g, '_'), v]))
      : value,
  z.strictObject({
    swappiness: int(0, 200).optional(),
    page_cluster: int(0, 10).optional(),
    watermark_scale_factor: int(1, 3000).optional(),
    min_free_kbytes: int(0, 2 ** 31 - 1).optional(),
    vfs_cache_pressure: int(0, 100000).optional(),
  }),
);

/** Mapped onto whatever this kernel exposes (vm.kcompressd sysctls or zram module parameters). */
export const kcompressdSchema = z.strictObject({
  /** Queue depth per thread; 0 turns kcompressd off where the kernel allows it. */
  queue_depth: int(0, 1 << 20).optional(),
  threads: int(0, 256).optional(),
});

const frequencyTarget = z
  .strictObject({
    governor: kernelWord.optional(),
    min: frequencyField.optional(),
    max: frequencyField.optional(),
    /** Pin: min = max = this frequency. */
    pin: frequencyField.optional(),
  })
  .refine((t) => t.pin === undefined || (t.min === undefined && t.max === undefined), 'pin cannot be combined with min or max');

function keyedRecord<T extends z.ZodType>(keyPattern: RegExp, keyHint: string, value: T) {
  return z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      if (key.length > 64 || !keyPattern.test(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `is not ${keyHint}` });
      }
    }
  });
}

export const cpufreqSchema = keyedRecord(/^(?:all|policy\d{1,4})$/, 'a cpufreq policy (all, policy0, policy4, …)', frequencyTarget);
export const devfreqSchema = keyedRecord(/^(?:all|[A-Za-z0-9][A-Za-z0-9_.,:@+-]*)$/, 'a devfreq device name', frequencyTarget);

export const androidSchema = z.strictObject({
  /** stop = stop the lmkd service for the run (restored afterwards). */
  lmkd: z.enum(['stop', 'leave']).optional(),
  selinux: z.enum(['enforcing', 'permissive', 'leave']).optional(),
});

export const configurationSchema = z.strictObject({
  zram: zramSchema.optional(),
  zswap: zswapSchema.optional(),
  vm: vmSchema.optional(),
  kcompressd: kcompressdSchema.optional(),
  cpufreq: cpufreqSchema.optional(),
  devfreq: devfreqSchema.optional(),
  android: androidSchema.optional(),
});

export type Configuration = z.output<typeof configurationSchema>;
export type ZramConfiguration = z.output<typeof zramSchema>;
export type FrequencyTarget = z.output<typeof frequencyTarget>;

/** Validate a configuration object; every problem is reported with its path. */
export function parseConfiguration(value: unknown, source = 'configuration'): Configuration {
  const result = configurationSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.map(String).join('.');
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  throw new UsageError(`${source}: ${problems.join('; ')}`, { problems });
}

/** Read a YAML (or JSON) configuration text. */
export function parseConfigurationText(text: string, source = 'configuration'): Configuration {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new UsageError(`${source}: not valid YAML: ${errorMessage(err).split('\n')[0]}`);
  }
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new UsageError(`${source}: expected a mapping with zram, zswap, vm, kcompressd, cpufreq, devfreq or android`);
  }
  return parseConfiguration(value, source);
}
