/**
 * A small, fast, seedable generator (mulberry32) so that every bootstrap in a
 * report can be reproduced exactly from its seed. Not for cryptography.
 */
export type Random = () => number;

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

/** Standard normal deviate (Box–Muller), for synthetic data and tests. */
export function normal(random: Random, mean = 0, sd = 1): number {
  let u = 0;
  while (u === 0) u = random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
