/**
 * Seeded generators, so that every bootstrap, plan order and simulation can be
 * reproduced exactly from its seed. Not for cryptography.
 *
 * Two cores are kept because stored results and seeded tests depend on each
 * one's exact sequence: mulberry32 (analysis, plans, reports, bisection) and a
 * Weyl sequence through a 32-bit avalanche mix (the reference model).
 */
export type Random = () => number;

/** mulberry32: uniform in [0, 1). The seed is truncated to an integer. */
export function seededRandom(seed: number): Random {
  let a = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Weyl sequence run through a 32-bit avalanche mix: uniform in [0, 1). */
export function weylMixRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** The two uniforms Box–Muller needs; u is never 0 so that log(u) is finite. */
function boxMullerUniforms(random: Random): { u: number; v: number } {
  let u = 0;
  while (u === 0) u = random();
  return { u, v: random() };
}

/** Standard normal deviate (Box–Muller, one value per pair), for synthetic data and tests. */
export function normal(random: Random, mean = 0, sd = 1): number {
  const { u, v } = boxMullerUniforms(random);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The reference model's generator: the Weyl core with ranges and paired normals. */
export class SeededRandom {
  private readonly random: Random;
  private spare: number | undefined;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.random = weylMixRandom(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.random();
  }

  /** Uniform in [low, high). */
  between(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Standard normal (Box–Muller, the second value kept for the next call). */
  gaussian(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const { u, v } = boxMullerUniforms(this.random);
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}
