import { z } from 'zod';

/**
 * How the kernel under test splits reclaim work. threads = 0 is the stock
 * kernel: kswapd scans, unmaps and compresses by itself.
 */
export const ReclaimDesignSchema = z
  .object({
    /** Compressor threads (kcompressd); 0 = stock kernel. */
    threads: z.number().int().min(0).max(256).default(0),
    /** Folios the queue holds over all threads (per-node design: 256; v1: 4096 per thread). */
    queueDepth: z.number().int().min(1).max(1_000_000).default(256),
    /** When the queue is full: kswapd compresses the folio itself ("sync") or waits for room ("block"). */
    fallback: z.enum(['sync', 'block']).default('sync'),
    /** Same-filled detection happens in kswapd before queueing (otherwise in the compressor, inside zram). */
    sameFilledInline: z.boolean().default(false),
  })
  .strict();

export type ReclaimDesign = z.output<typeof ReclaimDesignSchema>;
export type ReclaimDesignInput = z.input<typeof ReclaimDesignSchema>;
