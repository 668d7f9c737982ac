import type { ModelInputInput } from './model-input.js';

/**
 * The phone-like parameter set with which the model reproduces the seed's
 * headline (about 300,000 → over 800,000 pgsteal_anon/s with kcompressd v1).
 * Every number is an assumption stated in docs/model.md; none is a measurement.
 */
export function phonePreset(threads = 4): ModelInputInput {
  return {
    device: {
      name: 'phone-like',
      kernelRelease: 'android-6.12',
      // Octa-core handheld, CPU and DRAM frequencies fixed as in the seed.
      cpus: 8,
      ramBytes: 8 * 1024 ** 3,
      zram: { disksizeBytes: 6 * 1024 ** 3, algorithm: 'lz4' },
      zeromap: true,
      // The eater's one worker keeps a CPU busy; the other seven are idle.
      backgroundCpus: 1,
    },
    costs: {
      // No public t1 exists; 1.2 µs is what the stock rate leaves once t2 is fixed.
      t1Us: 1.2,
      t3Us: 0,
      // lz4 on the eater's highly compressible data on a big core (~2 GB/s).
      t2Points: [{ algorithm: 'lz4', dataClass: 'compressible', ratio: 3, usPerPage: 2.1 }],
      enqueueUs: 0.02,
      wakeUs: 1,
      rescanFraction: 0.02,
      faultUs: 1,
    },
    // kcompressd v1 defaults: nr_kcompressd = 4, queue_size_per_kcompressd = 4096.
    design: { threads, queueDepth: Math.max(1, threads) * 4096, fallback: 'sync', sameFilledInline: false },
    anonShare: 1,
  };
}
