import { describe, expect, it } from '@jest/globals';
import { findSteadyWindow } from './steady-window.js';
import { syntheticRun } from './synthetic-run.js';

describe('findSteadyWindow', () => {
  it('finds the plateau between ramp-up and release', () => {
    const run = syntheticRun({ seed: 5, plateauStart: 15, releaseStart: 45 });
    const w = findSteadyWindow(run)!;
    expect(w).not.toBeNull();
    // Device time starts at 100 s: the plateau is 115..145.
    expect(w.start).toBeGreaterThanOrEqual(113);
    expect(w.start).toBeLessThan(120);
    expect(w.end).toBeGreaterThan(140);
    expect(w.end).toBeLessThanOrEqual(147);
    expect(w.level).toBeGreaterThan(4700);
    expect(w.level).toBeLessThan(5300);
  });

  it('ignores a short spike and keeps the long plateau', () => {
    const run = syntheticRun({ seed: 6, plateauStart: 25, releaseStart: 50, releaseEnd: 52 });
    const vs = run.values.pgsteal_anon!;
    // A 1 s burst at 105 s, before the ramp.
    for (let i = 10; i < vs.length; i++) vs[i]! += i < 12 ? (i - 9) * 8000 : 16000;
    const w = findSteadyWindow(run)!;
    expect(w.start).toBeGreaterThan(120);
  });

  it('returns null when the counter never moves', () => {
    const run = syntheticRun({ rates: { pgsteal_anon: 0 } });
    expect(findSteadyWindow(run)).toBeNull();
  });

  it('rejects bad options and an unknown series', () => {
    const run = syntheticRun();
    expect(() => findSteadyWindow(run, 'pgsteal_anon', { smooth: 4 })).toThrow(/smooth=4/);
    expect(() => findSteadyWindow(run, 'nope')).toThrow(/no series named "nope"/);
  });
});
