import { describe, expect, it } from '@jest/globals';
import { normal, seededRandom } from '../util/seeded-random.js';
import { UsageError } from '../util/errors.js';
import { assessCommit, checkEnds, checkPolicy, defaultPolicy, nextBatch, runEvidence, type Baseline } from './decision.js';

const policy = { ...defaultPolicy, minReps: 3, maxReps: 8 };

function clearBaseline(good: number[], bad: number[], direction: 'higher-is-better' | 'lower-is-better' = 'higher-is-better'): Baseline {
  const check = checkEnds(good, bad, direction, policy);
  if (check.state !== 'clear') throw new Error(`ends not clear: ${check.reason}`);
  return check.baseline;
}

describe('checkEnds', () => {
  it('sets the threshold halfway between the ends and measures the spread', () => {
    const b = clearBaseline([1000, 1010, 990, 1005], [600, 610, 590, 605]);
    expect(b.goodMedian).toBeCloseTo(1002.5);
    expect(b.badMedian).toBeCloseTo(602.5);
    expect(b.threshold).toBeCloseTo(802.5);
    expect(b.separation).toBeGreaterThan(3);
    expect(b.mannWhitneyP).toBeLessThan(0.05);
  });

  it('asks for more runs before min-reps, then fails when the bad end is not worse', () => {
    expect(checkEnds([1, 2], [3, 4], 'lower-is-better', policy).state).toBe('more');
    const wrongWay = checkEnds([600, 610, 590], [1000, 1010, 990], 'higher-is-better', { ...policy, maxReps: 3 });
    expect(wrongWay.state).toBe('failed');
    if (wrongWay.state === 'failed') expect(wrongWay.reason).toMatch(/does not measure worse/);
    // the same numbers are fine when lower is better
    expect(checkEnds([600, 610, 590], [1000, 1010, 990], 'lower-is-better', policy).state).toBe('clear');
  });

  it('does not accept ends that overlap in the noise', () => {
    const r = seededRandom(3);
    const good = Array.from({ length: 8 }, () => normal(r, 100, 10));
    const bad = Array.from({ length: 8 }, () => normal(r, 95, 10));
    const check = checkEnds(good, bad, 'higher-is-better', policy);
    expect(check.state).toBe('failed');
    if (check.state === 'failed') expect(check.reason).toMatch(/spreads apart|does not measure worse|classify/);
  });

  it('asks for more end runs when an outlier at an end hides which side it is on', () => {
    const check = checkEnds([1000, 1005, 300], [600, 605, 598], 'higher-is-better', policy);
    expect(check.state).toBe('more');
    // one more clean run of each makes them clear
    expect(checkEnds([1000, 1005, 300, 995], [600, 605, 598, 602], 'higher-is-better', policy).state).toBe('clear');
  });
});

describe('assessCommit', () => {
  const baseline = clearBaseline([1000, 1010, 990, 1005], [600, 610, 590, 605]);

  it('never decides on fewer than min-reps runs, however clear', () => {
    expect(assessCommit([1000], baseline, policy).verdict).toBe('more');
    expect(assessCommit([1000, 1001], baseline, policy).verdict).toBe('more');
    expect(assessCommit([1000, 1001, 999], baseline, policy).verdict).toBe('good');
    expect(assessCommit([600, 601, 599], baseline, policy).verdict).toBe('bad');
  });

  it('is not flipped by one wild run, in either direction', () => {
    const goodWithOutlier = [1000, 50, 1002];
    const a = assessCommit(goodWithOutlier, baseline, policy);
    expect(a.verdict).toBe('more');
    expect(assessCommit([...goodWithOutlier, 998], baseline, policy).verdict).toBe('good');
    const badWithOutlier = [600, 5000, 604];
    expect(assessCommit(badWithOutlier, baseline, policy).verdict).toBe('more');
    expect(assessCommit([...badWithOutlier, 598], baseline, policy).verdict).toBe('bad');
  });

  it('caps the weight of one run at half of what a decision needs', () => {
    const needed = Math.log(0.99 / 0.01);
    expect(runEvidence(1e9, baseline, needed / 2)).toBeCloseTo(needed / 2);
    expect(runEvidence(-1e9, baseline, needed / 2)).toBeCloseTo(-needed / 2);
    expect(runEvidence(baseline.threshold, baseline, needed / 2)).toBeCloseTo(0);
  });

  it('leaves a commit that sits between the ends undecided once the budget is spent', () => {
    const middling = [800, 810, 795, 805, 790, 802, 799, 808];
    expect(assessCommit(middling.slice(0, 5), baseline, policy).verdict).toBe('more');
    const a = assessCommit(middling, baseline, policy);
    expect(a.verdict).toBe('undecided');
    expect(a.reason).toMatch(/budget of 8 runs/);
  });

  it('reports median, interval, confidence and the rank tests against each end', () => {
    const a = assessCommit([600, 601, 599, 603], baseline, policy);
    expect(a.verdict).toBe('bad');
    expect(a.median).toBeCloseTo(600.5);
    expect(a.medianInterval.low).toBeLessThanOrEqual(a.median);
    expect(a.medianInterval.high).toBeGreaterThanOrEqual(a.median);
    expect(a.confidence).toBeGreaterThanOrEqual(0.99);
    expect(a.pAgainstBad).toBeGreaterThan(a.pAgainstGood);
  });

  it('follows the direction: with lower-is-better a high value is bad', () => {
    const lower = clearBaseline([10, 11, 9, 10.5], [30, 31, 29, 30.5], 'lower-is-better');
    expect(assessCommit([30, 29.5, 31], lower, policy).verdict).toBe('bad');
    expect(assessCommit([10, 9.5, 11], lower, policy).verdict).toBe('good');
  });

  it('decides noisy commits correctly most of the time and never wrongly with confidence', () => {
    const r = seededRandom(11);
    const ends = clearBaseline(
      Array.from({ length: 5 }, () => normal(r, 1000, 40)),
      Array.from({ length: 5 }, () => normal(r, 800, 40)),
    );
    let wrong = 0;
    let skipped = 0;
    for (let trial = 0; trial < 100; trial++) {
      const truth = trial % 2 === 0 ? 1000 : 800;
      const runs: number[] = [];
      let verdict: string = 'more';
      while (verdict === 'more') {
        for (let k = nextBatch(runs.length, policy); k > 0; k--) runs.push(normal(r, truth, 40));
        verdict = assessCommit(runs, ends, policy).verdict;
      }
      if (verdict === 'undecided') skipped++;
      else if (verdict !== (truth === 1000 ? 'good' : 'bad')) wrong++;
    }
    expect(wrong).toBeLessThanOrEqual(1);
    expect(skipped).toBeLessThan(10);
  });
});

describe('checkPolicy', () => {
  it('refuses a single run and budgets below min-reps', () => {
    expect(() => checkPolicy({ ...policy, minReps: 1 })).toThrow(UsageError);
    expect(() => checkPolicy({ ...policy, minReps: 1 })).toThrow(/one run is never enough/);
    expect(() => checkPolicy({ ...policy, minReps: 4, maxReps: 3 })).toThrow(/--max-reps/);
    expect(checkPolicy(policy)).toEqual(policy);
  });

  it('asks for min-reps runs first and then one at a time', () => {
    expect(nextBatch(0, policy)).toBe(3);
    expect(nextBatch(3, policy)).toBe(1);
    expect(nextBatch(5, policy)).toBe(1);
  });
});
