import { z } from 'zod';

/**
 * What the memory eater does in one run, as the model sees it. The names mirror
 * the eater's own options so that a plan can hand the same values to both.
 */
export const WorkloadSchema = z
  .object({
    /** Anonymous memory the eater allocates and fills, in bytes. */
    sizeBytes: z.number().int().positive(),
    /** Share of pages left all-zero (6.12+: swap zeromap, never reach zram). */
    zeroFraction: z.number().min(0).max(1).default(0),
    /** Share of pages filled with one repeated 64-bit value (zram same_pages). */
    sameFilledFraction: z.number().min(0).max(1).default(0),
    /** Target compression ratio (orig/compr, 3 means 3:1) of the remaining pages. */
    ratio: z.number().min(1).max(64).default(3),
    /** Allocation rate in MiB/s over all workers; 0 means as fast as the workers can. */
    rateMiBps: z.number().min(0).default(0),
    /** Eater worker processes; each keeps one CPU busy while it runs. */
    workers: z.number().int().min(1).max(1024).default(1),
    /** Size of the file the eater reads repeatedly into the page cache, in MiB. */
    fileBackedMiB: z.number().min(0).default(0),
    /** Passes over the buffer after the fill that fault swapped pages back in. */
    retouchPasses: z.number().int().min(0).default(0),
    /**
     * Exact page counts per class, when the eater reports them (its generator
     * decides per page); without them the fractions are rounded.
     */
    pageCounts: z
      .object({
        zero: z.number().int().min(0),
        sameFilled: z.number().int().min(0),
        compressible: z.number().int().min(0),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((w) => w.zeroFraction + w.sameFilledFraction <= 1 + 1e-12, {
    message: 'zeroFraction + sameFilledFraction must not exceed 1',
    path: ['sameFilledFraction'],
  });

export type Workload = z.output<typeof WorkloadSchema>;
export type WorkloadInput = z.input<typeof WorkloadSchema>;

export const PAGE_BYTES = 4096;

/** Pages per class: the eater's own counts when known, else rounded fractions. */
export function classPageCounts(w: Workload): { zero: number; sameFilled: number; compressible: number; total: number } {
  if (w.pageCounts) {
    const { zero, sameFilled, compressible } = w.pageCounts;
    return { zero, sameFilled, compressible, total: zero + sameFilled + compressible };
  }
  const total = Math.floor(w.sizeBytes / PAGE_BYTES);
  const zero = Math.round(total * w.zeroFraction);
  const sameFilled = Math.min(total - zero, Math.round(total * w.sameFilledFraction));
  return { zero, sameFilled, compressible: total - zero - sameFilled, total };
}
