import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { CostsSchema } from './costs.js';
import { DeviceProfileSchema } from './device-profile.js';
import { ReclaimDesignSchema } from './reclaim-design.js';
import { WorkloadSchema } from './workload.js';

/** Everything one prediction depends on. Without a workload the model predicts reclaim capacity under sustained pressure. */
export const ModelInputSchema = z
  .object({
    device: DeviceProfileSchema,
    workload: WorkloadSchema.optional(),
    costs: CostsSchema,
    design: ReclaimDesignSchema.default({ threads: 0, queueDepth: 256, fallback: 'sync', sameFilledInline: false }),
    /** Share of reclaimed folios that are anonymous; default from the workload's anon and file sizes. */
    anonShare: z.number().min(0).max(1).optional(),
  })
  .strict();

export type ModelInput = z.output<typeof ModelInputSchema>;
export type ModelInputInput = z.input<typeof ModelInputSchema>;

/** Validate a model input, naming the first bad field in the error. */
export function parseModelInput(value: unknown, origin = 'model input'): ModelInput {
  const result = ModelInputSchema.safeParse(value);
  if (!result.success) throw new UsageError(`${origin}: ${describeZodIssues(result.error)}`);
  return result.data;
}

export function describeZodIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`)
    .join('; ');
}
