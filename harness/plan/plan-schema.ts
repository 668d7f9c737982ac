import { z } from 'zod';
import { configurationSchema } from '../configure/config-schema.js';

/**
 * A nightly plan: which devices, which kernels, configurations and workloads,
 * how often and in what order, and what to compare. Every object is strict so
 * that a misspelt key is an error naming its path, not a silently ignored wish.
 */
const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'names are lower-case letters, digits, _ and - (at most 63)');
const serial = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'a serial is letters, digits and . _ : -');
const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const memory = z.string().regex(/^\d+(\.\d+)?[MG]$/i, 'a memory size such as 1G or 1536M');
const adbServer = z.string().regex(/^(?:[A-Za-z0-9.-]+:)?\d{1,5}$/, 'HOST:PORT or PORT');

export const deviceSelectorSchema = z.union([
  z.strictObject({ serial, adbServer: adbServer.optional() }),
  z.strictObject({ labels: z.array(label).min(1), adbServer: adbServer.optional() }),
  z.strictObject({
    virtual: z.strictObject({
      memory: memory.default('1G'),
      cpus: z.number().int().min(1).max(8).default(2),
      count: z.number().int().min(1).max(4).default(1),
    }),
  }),
]);

export const kernelSpecSchema = z.union([
  /** Whatever the device runs now: no deploy stage. */
  z.strictObject({ current: z.literal(true) }),
  /** A recipe under kernels/recipes, built by zlab. */
  z.strictObject({ recipe: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a recipe name as in kernels/recipes (e.g. stock-6.12)') }),
  /** A prebuilt Android boot image. */
  z.strictObject({ image: z.string().min(1) }),
]);

const scalar = z.union([z.string().max(64), z.number()]);

/** The memory eater's options, spelt as `zlab eat` spells them (camelCase). */
export const workloadSchema = z.strictObject({
  size: scalar.optional(),
  ratio: scalar.optional(),
  sameFilled: scalar.optional(),
  zero: scalar.optional(),
  file: scalar.optional(),
  periodMs: scalar.optional(),
  workers: scalar.optional(),
  rate: scalar.optional(),
  holdMs: scalar.optional(),
  retouch: scalar.optional(),
  seed: scalar.optional(),
  allowOvercommit: z.boolean().optional(),
});

const cellSelectorSchema = z.strictObject({ kernel: name.optional(), configuration: name.optional(), workload: name.optional() });

export const planSchema = z.strictObject({
  name,
  description: z.string().max(2000).optional(),
  devices: z.array(deviceSelectorSchema).min(1),
  kernels: z.record(name, kernelSpecSchema).default({ current: { current: true } }),
  configurations: z.record(name, configurationSchema).refine((r) => Object.keys(r).length > 0, 'at least one configuration'),
  workloads: z.record(name, workloadSchema).refine((r) => Object.keys(r).length > 0, 'at least one workload'),
  /** Which combinations to run; default: every kernel × configuration × workload. */
  matrix: z.array(z.strictObject({ kernel: name, configuration: name, workload: name })).min(1).optional(),
  /** A/B pairs to report: cells matching `a` against cells matching `b`, all else equal. */
  compare: z
    .array(z.strictObject({ name, a: cellSelectorSchema, b: cellSelectorSchema }))
    .default([]),
  repetitions: z.number().int().min(1).max(100).default(5),
  order: z.enum(['interleaved', 'randomized-blocks']).default('interleaved'),
  seed: z.number().int().min(0).default(1),
  thermal: z
    .strictObject({
      /** Wait at least this long before each run. */
      cooldownSeconds: z.number().min(0).max(3600).default(0),
      /** And until every thermal zone is below this (devices without zones skip it). */
      belowCelsius: z.number().min(0).max(120).optional(),
      maxWaitSeconds: z.number().min(0).max(7200).default(600),
      /** Abort a run when any zone exceeds this. */
      abortAboveCelsius: z.number().min(0).max(150).optional(),
    })
    .default({ cooldownSeconds: 0, maxWaitSeconds: 600 }),
  timeouts: z
    .strictObject({
      deploy: z.number().min(1).default(900),
      configure: z.number().min(1).default(120),
      run: z.number().min(1).default(1800),
      collect: z.number().min(1).default(300),
      restore: z.number().min(1).default(180),
    })
    .default({ deploy: 900, configure: 120, run: 1800, collect: 300, restore: 180 }),
});

export type Plan = z.output<typeof planSchema>;
export type DeviceSelector = z.output<typeof deviceSelectorSchema>;
export type KernelSpec = z.output<typeof kernelSpecSchema>;
export type WorkloadSpec = z.output<typeof workloadSchema>;
export type CellSelector = z.output<typeof cellSelectorSchema>;
