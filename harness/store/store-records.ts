import { z } from 'zod';
import { predictionSchema } from '../analysis/model-divergence.js';
import { ZlabError } from '../util/errors.js';

/** What the runner hands the store, checked before anything is written. */

const name = z.string().min(1).max(200);
const epochMs = z.number().int().nonnegative();
const jsonObject = z.record(z.string(), z.unknown());

export const failureKinds = ['infrastructure', 'device', 'kernel', 'plan', 'bug', 'interrupted'] as const;
export type FailureKind = (typeof failureKinds)[number];

export const jobStatuses = ['running', 'passed', 'failed', 'interrupted'] as const;
export type JobStatus = (typeof jobStatuses)[number];

export const runStatuses = ['running', 'completed', 'interrupted', 'failed'] as const;
export type RunStatus = (typeof runStatuses)[number];

export const planInputSchema = z.strictObject({ name, yaml: z.string() });
export type PlanInput = z.infer<typeof planInputSchema>;

/** Series names become SQL values, never SQL text; the pattern keeps them readable. */
export const seriesName = z.string().regex(/^[A-Za-z0-9_.:-]{1,120}$/, 'use letters, digits and _ . : -');

export const timeSeriesSchema = z
  .strictObject({
    t: z.array(z.number().finite()),
    values: z.record(seriesName, z.array(z.number())),
  })
  .superRefine((s, ctx) => {
    for (const [k, vs] of Object.entries(s.values)) {
      if (vs.length !== s.t.length) ctx.addIssue({ code: 'custom', path: ['values', k], message: `has ${vs.length} points, t has ${s.t.length}` });
    }
  });

export const stageEventSchema = z.strictObject({
  stage: name,
  outcome: z.string().regex(/^[a-z][a-z-]*$/, 'a lower-case word'),
  startedAt: epochMs,
  endedAt: epochMs,
  message: z.string().optional(),
  attempt: z.number().int().min(1).optional(),
});
export type StageEventInput = z.infer<typeof stageEventSchema>;

export const environmentSchema = z.strictObject({
  device: jsonObject,
  kernel: jsonObject,
  config: jsonObject,
});
export type EnvironmentInput = z.infer<typeof environmentSchema>;

export const metricsSchema = z.record(name, z.number().finite());

export const jobInputSchema = z
  .strictObject({
    cellKey: name,
    repetition: z.number().int().nonnegative(),
    orderIndex: z.number().int().nonnegative(),
    deviceSerial: z.string().min(1).optional(),
    kernelId: z.string().min(1).optional(),
    configId: z.string().min(1).optional(),
    status: z.enum(jobStatuses),
    failureKind: z.enum(failureKinds).optional(),
    failureMessage: z.string().optional(),
    attempts: z.number().int().min(1).optional(),
    startedAt: epochMs.optional(),
    endedAt: epochMs.optional(),
    stages: z.array(stageEventSchema).optional(),
    samples: timeSeriesSchema.optional(),
    eaterSummary: jsonObject.optional(),
    metrics: metricsSchema.optional(),
    environment: environmentSchema.optional(),
  })
  .refine((j) => (j.status === 'failed') === (j.failureKind !== undefined), {
    message: 'failureKind is given exactly when status is "failed"',
    path: ['failureKind'],
  });
export type JobInput = z.infer<typeof jobInputSchema>;

export const divergenceInputSchema = z.strictObject({
  cellKey: name,
  jobId: z.number().int().positive().optional(),
  metric: name,
  kind: z.enum(['exact', 'calibrated', 'rough']),
  predicted: z.number().finite(),
  low: z.number().finite(),
  high: z.number().finite(),
  measured: z.number().finite().nullable(),
  severity: z.enum(['ok', 'divergent', 'failure', 'unmeasured']),
  message: z.string(),
});
export type DivergenceInput = z.infer<typeof divergenceInputSchema>;

export { predictionSchema };

/** Parses or throws an error that names the bad field. */
export function parseRecord<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  throw new ZlabError('bug', `${what}${path}: ${issue.message}`, { issues: r.error.issues });
}
