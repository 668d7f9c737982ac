import { ZlabError } from '../util/errors.js';
import { bootstrapMedian, bootstrapMedianRatio, type BootstrapOptions, type Estimate } from './bootstrap.js';
import { mannWhitneyU, type RankTest } from './mann-whitney.js';
import { metricInfo } from './metric-catalog.js';

export type Verdict = 'better' | 'worse' | 'changed' | 'no change';

export interface Comparison {
  metric: string;
  a: Estimate;
  b: Estimate;
  /** median(B) / median(A) with its bootstrap interval. */
  ratio: Estimate;
  rankTest: RankTest;
  /** A change is called only when the ratio's interval excludes 1 and the rank test agrees. */
  significant: boolean;
  verdict: Verdict;
}

export interface CompareOptions extends BootstrapOptions {
  /** Significance level the rank test must also reach. */
  alpha?: number;
}

/**
 * Compares one metric between two cells. A change is called when the
 * bootstrap interval of the ratio of medians excludes "no change" and the
 * Mann–Whitney test agrees (p < alpha). The second condition matters for
 * small samples, where percentile-bootstrap intervals are too narrow: with 2
 * or 3 runs a side no change can be called at all, which is the honest answer.
 */
export function compareAB(metric: string, a: readonly number[], b: readonly number[], options: CompareOptions = {}): Comparison {
  if (a.length < 2 || b.length < 2) {
    throw new ZlabError('plan', `A/B of ${metric}: need at least 2 runs per side (got ${a.length} and ${b.length}); raise repetitions`);
  }
  const ea = bootstrapMedian(a, options);
  const eb = bootstrapMedian(b, { ...options, seed: (options.seed ?? 1) + 1 });
  const ratio = bootstrapMedianRatio(a, b, { ...options, seed: (options.seed ?? 1) + 2 });
  const rankTest = mannWhitneyU(a, b);
  const significant = (ratio.low > 1 || ratio.high < 1) && rankTest.p < (options.alpha ?? 0.05);
  return { metric, a: ea, b: eb, ratio, rankTest, significant, verdict: verdictOf(metric, significant, ratio.value) };
}

function verdictOf(metric: string, significant: boolean, ratio: number): Verdict {
  if (!significant) return 'no change';
  const better = metricInfo(metric).better;
  if (better === 'neutral') return 'changed';
  return (ratio > 1) === (better === 'higher') ? 'better' : 'worse';
}

export interface SelfCheck {
  metric: string;
  passed: boolean;
  comparison: Comparison;
}

/**
 * A/A self-check: two sets of runs of the same cell must not be called
 * different. With one set, it is split by alternate positions (the order the
 * runs were taken), so slow drift lands on both halves.
 */
export function aaSelfCheck(metric: string, first: readonly number[], second?: readonly number[], options: CompareOptions = {}): SelfCheck {
  let a = first;
  let b = second;
  if (!b) {
    // Four a half is the least where the rank test can reach p < 0.05 at all.
    if (first.length < 8) {
      throw new ZlabError('plan', `A/A check of ${metric}: need at least 8 runs to split one cell (got ${first.length})`);
    }
    a = first.filter((_, i) => i % 2 === 0);
    b = first.filter((_, i) => i % 2 === 1);
  }
  const comparison = compareAB(metric, a, b, options);
  return { metric, passed: !comparison.significant, comparison };
}
