import { normal, seededRandom } from '../util/seeded-random.js';
import type { TimeSeries } from './time-series.js';

export interface SyntheticRunSpec {
  seed?: number;
  /** Sampling period, s. */
  period?: number;
  duration?: number;
  /** Pressure ramps up over [rampStart, plateauStart], holds until releaseStart, ends at releaseEnd. */
  rampStart?: number;
  plateauStart?: number;
  releaseStart?: number;
  releaseEnd?: number;
  /** Plateau rates per second; each gets the same shape and ±noise (fraction). */
  rates?: Record<string, number>;
  noise?: number;
  /** Extra gauges sampled as constants plus noise (temperatures, free memory). */
  gauges?: Record<string, number>;
}

/**
 * A run with known truth for tests and report previews: cumulative counters
 * whose rate follows ramp-up, plateau and release, sampled like the device
 * sampler would.
 */
export function syntheticRun(spec: SyntheticRunSpec = {}): TimeSeries {
  const s = {
    seed: 1,
    period: 0.5,
    duration: 60,
    rampStart: 10,
    plateauStart: 15,
    releaseStart: 45,
    releaseEnd: 50,
    rates: { pgsteal_anon: 5000 },
    noise: 0.05,
    gauges: {},
    ...spec,
  };
  const random = seededRandom(s.seed);
  const shape = (t: number) =>
    t < s.rampStart ? 0
    : t < s.plateauStart ? (t - s.rampStart) / (s.plateauStart - s.rampStart)
    : t < s.releaseStart ? 1
    : t < s.releaseEnd ? 1 - (t - s.releaseStart) / (s.releaseEnd - s.releaseStart)
    : 0;
  const t: number[] = [];
  const values: Record<string, number[]> = {};
  const totals: Record<string, number> = {};
  for (const k of Object.keys(s.rates)) { values[k] = []; totals[k] = 0; }
  for (const k of Object.keys(s.gauges)) values[k] = [];
  const n = Math.floor(s.duration / s.period) + 1;
  for (let i = 0; i < n; i++) {
    const now = 100 + i * s.period; // the device clock does not start at zero
    t.push(now);
    for (const [k, rate] of Object.entries(s.rates)) {
      if (i > 0) {
        const mid = (i - 0.5) * s.period;
        const r = rate * shape(mid) * (1 + s.noise * normal(random));
        // Event counters are whole numbers; CPU seconds and the like are not.
        const step = Math.max(0, r * s.period);
        totals[k]! += rate * s.period >= 10 ? Math.round(step) : step;
      }
      values[k]!.push(totals[k]!);
    }
    for (const [k, g] of Object.entries(s.gauges)) values[k]!.push(g * (1 + s.noise * normal(random)));
  }
  return { t, values };
}
