import { computeRunMetrics } from '../analysis/run-metrics.js';
import { normal, seededRandom } from '../util/seeded-random.js';
import { syntheticRun } from '../analysis/synthetic-run.js';
import type { ResultsStore } from '../store/results-store.js';

/**
 * Fills a store with nights of a plan whose truth is known: zram lz4 against
 * zstd (zstd steals fewer pages per second but compresses better), and an
 * A/A pair of lz4 cells. Used by the report tests and to preview templates.
 */
export interface SyntheticNightsSpec {
  seed?: number;
  plan?: string;
  /** Nights before tonight, one day apart. */
  pastNights?: number;
  repetitions?: number;
  /** Tonight, zstd loses this fraction of its reclaim rate. */
  tonightDrop?: number;
  /** Tonight, one job reports this many corrupt pages. */
  corruptPages?: number;
  /** Tonight, same_pages misses its exact prediction by this much. */
  samePagesOffBy?: number;
  /** Tonight, one job fails with this kind. */
  failJob?: 'kernel' | 'device' | 'infrastructure';
}

const day = 86_400_000;
const start = Date.UTC(2026, 10, 1, 1, 0, 0);

export const syntheticCells = {
  'zram-lz4': { rate: 6000, ratio: 2.6, cpu: 0.55, temp: 44 },
  'zram-zstd': { rate: 4200, ratio: 3.4, cpu: 0.75, temp: 46 },
  'zram-lz4-aa': { rate: 6000, ratio: 2.6, cpu: 0.55, temp: 44 },
} as const;

export function fillSyntheticNights(store: ResultsStore, spec: SyntheticNightsSpec = {}): { tonight: number; past: number[] } {
  const s = { seed: 1, plan: 'zram-ab', pastNights: 8, repetitions: 5, tonightDrop: 0, corruptPages: 0, samePagesOffBy: 0, ...spec };
  const random = seededRandom(s.seed);
  const yaml = `name: ${s.plan}\ncells: [${Object.keys(syntheticCells).join(', ')}]\nrepetitions: ${s.repetitions}\n`;
  const past: number[] = [];
  let tonight = 0;
  for (let night = 0; night <= s.pastNights; night++) {
    const isTonight = night === s.pastNights;
    const run = store.beginRun({ name: s.plan, yaml }, { now: start + night * day });
    let order = 0;
    for (let rep = 0; rep < s.repetitions; rep++) {
      for (const [cellKey, cell] of Object.entries(syntheticCells)) {
        const drop = isTonight && cellKey === 'zram-zstd' ? 1 - s.tonightDrop : 1;
        const rate = cell.rate * drop * (1 + 0.03 * normal(random));
        const base = { cellKey, repetition: rep, orderIndex: order++, deviceSerial: '127.0.0.1:5555', kernelId: '6.12.57+deb13-amd64', configId: cellKey };
        if (isTonight && s.failJob && rep === 1 && cellKey === 'zram-zstd') {
          store.recordJob(run.id, { ...base, status: 'failed', failureKind: s.failJob, failureMessage: 'synthetic failure', stages: [{ stage: 'deploy', outcome: 'failed', startedAt: start, endedAt: start + 1 }] });
          continue;
        }
        const samples = syntheticRun({
          seed: s.seed * 1000 + night * 100 + order,
          rates: {
            pgsteal_anon: rate,
            pgsteal_file: rate * 0.08,
            allocstall_normal: rate * 0.004,
            pswpout: rate * 0.97,
            kswapd_cpu_s: cell.cpu,
            psi_some_total_us: 200_000 * (6000 / rate),
            psi_full_total_us: 40_000 * (6000 / rate),
            zram_orig_data_size: rate * 4096,
            zram_compr_data_size: (rate * 4096) / cell.ratio,
          },
          gauges: { temp_cpu: cell.temp, temp_battery: 31, mem_free_kb: 60_000 },
          noise: 0.03,
        });
        const { metrics } = computeRunMetrics(samples);
        const corrupt = isTonight && rep === 0 && cellKey === 'zram-lz4' ? s.corruptPages : 0;
        const samePages = 2048 + (isTonight && cellKey === 'zram-lz4' ? s.samePagesOffBy : 0);
        store.recordJob(run.id, {
          ...base,
          status: 'passed',
          startedAt: start + night * day + order * 60_000,
          endedAt: start + night * day + order * 60_000 + 55_000,
          stages: ['lease', 'deploy', 'configure', 'cool-down', 'run', 'collect', 'restore', 'release'].map((stage, i) => ({ stage, outcome: 'passed', startedAt: start + i, endedAt: start + i + 1 })),
          // Past nights keep metrics only: the history needs no samples.
          ...(isTonight ? { samples } : {}),
          metrics: { ...metrics, same_pages: samePages },
          eaterSummary: { corruptPages: corrupt, pages: 262_144, pattern: 'mixed' },
          environment: {
            device: { 'ro.product.model': 'zlab virtual device', 'ro.build.version.release': '14', 'ro.product.cpu.abi': 'x86_64' },
            kernel: { release: '6.12.57+deb13-amd64', design: 'stock' },
            config: { zram: { algorithm: cellKey.includes('zstd') ? 'zstd' : 'lz4', size: '512M' }, swappiness: 160 },
          },
        });
      }
    }
    if (isTonight) {
      for (const [cellKey, cell] of Object.entries(syntheticCells)) {
        store.recordPrediction(run.id, cellKey, { metric: 'pgsteal_anon_per_s', predicted: cell.rate, low: cell.rate * 0.8, high: cell.rate * 1.2, kind: 'calibrated' });
        store.recordPrediction(run.id, cellKey, { metric: 'compression_ratio', predicted: cell.ratio, low: cell.ratio * 0.85, high: cell.ratio * 1.15, kind: 'rough' });
        store.recordPrediction(run.id, cellKey, { metric: 'same_pages', predicted: 2048, low: 2048, high: 2048, kind: 'exact' });
      }
      tonight = run.id;
    } else {
      past.push(run.id);
    }
    store.endRun(run.id, 'completed', start + night * day + 3_600_000);
  }
  return { tonight, past };
}
