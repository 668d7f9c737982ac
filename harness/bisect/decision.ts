import { bootstrapMedian, type Estimate } from '../analysis/bootstrap.js';
import { mad, median } from '../analysis/descriptive.js';
import { mannWhitneyU } from '../analysis/mann-whitney.js';
import { UsageError, ZlabError } from '../util/errors.js';

/**
 * The noise-aware good/bad decision of a bisect step.
 *
 * The known-good and known-bad ends are measured first; their medians and a
 * pooled robust spread define two hypotheses for a commit: "it behaves like
 * the good end" and "it behaves like the bad end". Each measurement adds its
 * log-likelihood ratio (Gaussian at the ends' medians with the pooled spread),
 * clipped so that no single run counts for more than half of the evidence a
 * decision needs. A commit is called when the evidence reaches the chosen
 * confidence AND its median lies on the same side of the midpoint; otherwise
 * it is measured again, up to the repetition budget, after which it is left
 * undecided (git bisect's "skip").
 */

export type Direction = 'higher-is-better' | 'lower-is-better';
export type Verdict = 'good' | 'bad';

export interface DecisionPolicy {
  /** Measurements before any decision; never fewer than 2. */
  minReps: number;
  /** Budget per commit (and per end): past it, the commit is left undecided. */
  maxReps: number;
  /** Posterior probability a decision needs, e.g. 0.99. */
  confidence: number;
  /** Smallest separation of the ends, in pooled spreads, that makes them "clearly" apart. */
  minSeparation: number;
}

export const defaultPolicy: DecisionPolicy = { minReps: 3, maxReps: 8, confidence: 0.99, minSeparation: 3 };

export function checkPolicy(policy: DecisionPolicy): DecisionPolicy {
  const { minReps, maxReps, confidence, minSeparation } = policy;
  if (!Number.isInteger(minReps) || minReps < 2 || minReps > 50) {
    throw new UsageError(`--min-reps: ${minReps} is not a whole number from 2 to 50 (one run is never enough to decide)`);
  }
  if (!Number.isInteger(maxReps) || maxReps < minReps || maxReps > 100) {
    throw new UsageError(`--max-reps: ${maxReps} is not a whole number from --min-reps (${minReps}) to 100`);
  }
  if (!(confidence >= 0.5 && confidence < 1)) throw new UsageError(`--confidence: ${confidence} is not within [0.5, 1)`);
  if (!(minSeparation > 0)) throw new UsageError(`minimum separation ${minSeparation} is not positive`);
  return policy;
}

/** What the measured ends say: where good and bad lie and how noisy a run is. */
export interface Baseline {
  direction: Direction;
  goodMedian: number;
  badMedian: number;
  /** Midpoint of the two medians. */
  threshold: number;
  /** Pooled robust standard deviation of one run (scaled MAD), floored. */
  spread: number;
  /** |goodMedian − badMedian| / spread. */
  separation: number;
  /** Two-sided Mann–Whitney p of good against bad. */
  mannWhitneyP: number;
  good: number[];
  bad: number[];
}

export type EndsCheck =
  | { state: 'clear'; baseline: Baseline }
  | { state: 'more'; reason: string }
  | { state: 'failed'; reason: string };

const MAD_TO_SD = 1.4826;

function finite(values: readonly number[], what: string): number[] {
  const bad = values.find((v) => !Number.isFinite(v));
  if (bad !== undefined) throw new ZlabError('bug', `${what}: measurement ${bad} is not a finite number`);
  return [...values];
}

/** Is `better` better than `worse` in this direction? */
function isBetter(direction: Direction, better: number, worse: number): boolean {
  return direction === 'higher-is-better' ? better > worse : better < worse;
}

/**
 * Judge the ends (ktest's BISECT_CHECK): the bad end must be worse than the
 * good end in the stated direction, clearly apart in units of run-to-run
 * spread, and each end must classify as itself. While the ends are not clear
 * and the budget allows, ask for more runs of both.
 */
export function checkEnds(goodValues: readonly number[], badValues: readonly number[], direction: Direction, policy: DecisionPolicy): EndsCheck {
  const good = finite(goodValues, 'good end');
  const bad = finite(badValues, 'bad end');
  const n = Math.min(good.length, bad.length);
  if (n < policy.minReps) return { state: 'more', reason: `${n} of ${policy.minReps} runs at each end` };
  const goodMedian = median(good);
  const badMedian = median(bad);
  const gap = Math.abs(goodMedian - badMedian);
  const pooled = Math.sqrt(((MAD_TO_SD * mad(good)) ** 2 + (MAD_TO_SD * mad(bad)) ** 2) / 2);
  // A spread of zero (identical runs) would make every run infinitely telling.
  const spread = Math.max(pooled, gap / 20, Math.abs(goodMedian + badMedian) * 1e-9, Number.MIN_VALUE);
  const separation = gap / spread;
  const baseline: Baseline = {
    direction,
    goodMedian,
    badMedian,
    threshold: (goodMedian + badMedian) / 2,
    spread,
    separation,
    mannWhitneyP: mannWhitneyU(good, bad).p,
    good,
    bad,
  };
  const budgetLeft = n < policy.maxReps;
  const fail = (reason: string): EndsCheck => (budgetLeft ? { state: 'more', reason } : { state: 'failed', reason });
  const describe = `good median ${fmt(goodMedian)} (n=${good.length}), bad median ${fmt(badMedian)} (n=${bad.length}), spread ${fmt(spread)}`;
  if (!isBetter(direction, goodMedian, badMedian)) {
    return fail(`the bad end does not measure worse than the good end (${direction}): ${describe}`);
  }
  if (separation < policy.minSeparation) {
    return fail(`the ends are only ${separation.toFixed(2)} spreads apart (need ${policy.minSeparation}): ${describe}`);
  }
  const goodSelf = assessCommit(good, baseline, { ...policy, maxReps: good.length });
  const badSelf = assessCommit(bad, baseline, { ...policy, maxReps: bad.length });
  if (goodSelf.verdict !== 'good' || badSelf.verdict !== 'bad') {
    return fail(`the ends do not classify as themselves (good end → ${goodSelf.verdict}, bad end → ${badSelf.verdict}): ${describe}`);
  }
  return { state: 'clear', baseline };
}

export interface Assessment {
  /** 'more': measure again; 'undecided': the budget is spent (skip). */
  verdict: Verdict | 'more' | 'undecided';
  n: number;
  median: number;
  /** Bootstrap 95 % interval of the commit's median. */
  medianInterval: Estimate;
  /** Clipped log-likelihood ratio, good over bad; positive favours good. */
  evidence: number;
  /** Evidence needed for a decision: ln(confidence / (1 − confidence)). */
  needed: number;
  /** Posterior probability of the favoured end (equal priors). */
  confidence: number;
  favours: Verdict;
  /** Two-sided Mann–Whitney p of this commit's runs against each end. */
  pAgainstGood: number;
  pAgainstBad: number;
  reason: string;
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(4);
}

/** Log-likelihood ratio of one run, good over bad, clipped to ±cap. */
export function runEvidence(x: number, baseline: Baseline, cap: number): number {
  const { goodMedian, badMedian, spread } = baseline;
  const llr = ((goodMedian - badMedian) * (x - (goodMedian + badMedian) / 2)) / (spread * spread);
  return Math.max(-cap, Math.min(cap, llr));
}

/** Decide a commit from its runs so far. Pure: the same runs give the same answer. */
export function assessCommit(values: readonly number[], baseline: Baseline, policy: DecisionPolicy): Assessment {
  const xs = finite(values, 'commit');
  if (xs.length === 0) throw new ZlabError('bug', 'assessCommit: no measurements');
  const needed = Math.log(policy.confidence / (1 - policy.confidence));
  // Half the needed evidence per run: two clean runs are the least that can decide,
  // and one wild run is outweighed by as many clean ones as the decision needs anyway.
  const cap = needed / 2;
  const evidence = xs.reduce((sum, x) => sum + runEvidence(x, baseline, cap), 0);
  const m = median(xs);
  const favours: Verdict = evidence >= 0 ? 'good' : 'bad';
  const posterior = 1 / (1 + Math.exp(-Math.abs(evidence)));
  const medianSide: Verdict = isBetter(baseline.direction, m, baseline.threshold) ? 'good' : 'bad';
  const base = {
    n: xs.length,
    median: m,
    medianInterval: bootstrapMedian(xs, { seed: xs.length, resamples: 1000 }),
    evidence,
    needed,
    confidence: posterior,
    favours,
    pAgainstGood: mannWhitneyU(xs, baseline.good).p,
    pAgainstBad: mannWhitneyU(xs, baseline.bad).p,
  };
  const summary = `median ${fmt(m)} vs threshold ${fmt(baseline.threshold)}, evidence ${evidence.toFixed(2)} of ±${needed.toFixed(2)}`;
  const clear = Math.abs(evidence) >= needed && medianSide === favours;
  if (xs.length >= policy.minReps && clear) {
    return { ...base, verdict: favours, reason: `${favours}: ${summary}` };
  }
  if (xs.length < policy.maxReps) {
    const why = xs.length < policy.minReps ? `${xs.length} of at least ${policy.minReps} runs` : 'not clear yet';
    return { ...base, verdict: 'more', reason: `${why}: ${summary}` };
  }
  return { ...base, verdict: 'undecided', reason: `budget of ${policy.maxReps} runs spent without a clear answer: ${summary}` };
}

/** Runs to ask for next: up to min-reps at first, then one at a time. */
export function nextBatch(have: number, policy: DecisionPolicy): number {
  return Math.max(1, Math.min(policy.maxReps, policy.minReps) - have);
}
