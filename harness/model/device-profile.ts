import { z } from 'zod';

/** Compressors zram offers on the kernels zlab meets. */
export const ALGORITHMS = ['lz4', 'lz4hc', 'lzo', 'lzo-rle', 'zstd', 'deflate', '842'] as const;
export const AlgorithmSchema = z.enum(ALGORITHMS);
export type Algorithm = z.infer<typeof AlgorithmSchema>;

/** The device as the model needs it: CPUs, memory and the zram swap device. */
export const DeviceProfileSchema = z
  .object({
    /** Identifies the device in the calibration store (serial or model name). */
    name: z.string().min(1).max(200).default('unnamed'),
    /** `uname -r`; calibrations are kept per device and kernel release. */
    kernelRelease: z.string().min(1).max(200).default('unknown'),
    cpus: z.number().int().min(1).max(4096),
    /** Unknown RAM: the model predicts rates but no run totals (pswpout, same_pages, swap-ins). */
    ramBytes: z.number().int().positive().optional(),
    /**
     * Memory the eater can have before reclaim starts (MemAvailable at start).
     * Unknown: 85 % of RAM is assumed (rough).
     */
    availableBytes: z.number().int().positive().optional(),
    zram: z
      .object({
        disksizeBytes: z.number().int().positive().optional(),
        algorithm: AlgorithmSchema.default('lz4'),
      })
      .strict()
      .default({ algorithm: 'lz4' }),
    /** 6.12+ kernels send all-zero folios to the swap zeromap before zram sees them. */
    zeromap: z.boolean().default(true),
    /** CPUs kept busy by things other than the eater and reclaim (may be fractional). */
    backgroundCpus: z.number().min(0).default(0),
  })
  .strict()
  .refine((d) => d.availableBytes === undefined || d.ramBytes === undefined || d.availableBytes <= d.ramBytes, {
    message: 'availableBytes cannot exceed ramBytes',
    path: ['availableBytes'],
  });

export type DeviceProfile = z.output<typeof DeviceProfileSchema>;
export type DeviceProfileInput = z.input<typeof DeviceProfileSchema>;
