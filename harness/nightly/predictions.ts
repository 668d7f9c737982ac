import type { Prediction } from '../analysis/model-divergence.js';
import type { LoadedPlan } from '../plan/load-plan.js';
import type { Cell } from '../plan/matrix.js';

/**
 * What every cell must show whatever the kernel: predictions of kind
 * "exact", where any divergence is a bug in the kernel or in zlab.
 *
 * - corrupt_pages: every page the eater reads back must be what it wrote.
 * - same_pages_error: zram's same_pages growth minus the same-filled pages the
 *   eater had out in swap. Other processes' pages (the guest's tools, adbd)
 *   can add a few; a page still in the swap cache can take one away.
 */
export const SAME_PAGES_ALLOWANCE = 64;

export function cellPredictions(_loaded: LoadedPlan, _cell: Cell): Prediction[] {
  return [
    { metric: 'corrupt_pages', predicted: 0, low: 0, high: 0, kind: 'exact' },
    { metric: 'same_pages_error', predicted: 0, low: -SAME_PAGES_ALLOWANCE, high: SAME_PAGES_ALLOWANCE, kind: 'exact' },
  ];
}
