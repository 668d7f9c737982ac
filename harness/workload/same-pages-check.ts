import type { SamplerRecord } from '../collect/sampler-record.js';
import type { EaterSummary } from './eater-summary.js';

/**
 * zram stores a same-filled page as its value and counts it in same_pages;
 * since 6.12 an all-zero page never reaches zram: the swap layer records it
 * in its zeromap and counts swpout_zero. So at the moment the eater takes its
 * swap census (just before the first re-touch):
 *   zram same_pages growth ≈ same-filled eater pages out in swap
 *   swpout_zero growth     ≥ zero eater pages out in swap
 * Other processes' pages add a little to both.
 */
export interface SamePagesCheck {
  /** Sample used for "before the run" and "at the census". */
  baselineNs: number;
  censusNs: number;
  eaterSameFilledSwapped: number;
  eaterZeroSwapped: number;
  zramSamePagesGrowth: number | null;
  swpoutZeroGrowth: number | null;
  /** zramSamePagesGrowth − eaterSameFilledSwapped (other processes, pages still in the swap cache). */
  difference: number | null;
  explanation: string;
}

function valueAtOrBefore(record: SamplerRecord, name: string, tNs: number): { tNs: number; value: number } | null {
  const values = record.columns.get(name);
  if (!values) return null;
  let found: { tNs: number; value: number } | null = null;
  for (let i = 0; i < record.tNs.length && record.tNs[i]! <= tNs; i++) {
    if (!Number.isNaN(values[i]!)) found = { tNs: record.tNs[i]!, value: values[i]! };
  }
  return found;
}

export function samePagesCheck(record: SamplerRecord, summary: EaterSummary): SamePagesCheck | null {
  const swapped = summary.swappedBeforeRetouch;
  const retouch = summary.phases.find((p) => p.name === 'retouch1');
  const fill = summary.phases.find((p) => p.name === 'fill');
  if (!swapped || !retouch || !fill) return null;
  const device = [...record.columns.keys()].find((n) => /^zram\d+\.mm\.same_pages$/.test(n));
  const growth = (name: string | undefined) => {
    if (!name) return { value: null, atNs: retouch.startBoottimeNs, fromNs: fill.startBoottimeNs };
    const before = valueAtOrBefore(record, name, fill.startBoottimeNs);
    const at = valueAtOrBefore(record, name, retouch.startBoottimeNs);
    return { value: before && at ? at.value - before.value : null, atNs: at?.tNs ?? retouch.startBoottimeNs, fromNs: before?.tNs ?? fill.startBoottimeNs };
  };
  const same = growth(device);
  const zero = growth(record.columns.has('vmstat.swpout_zero') ? 'vmstat.swpout_zero' : undefined);
  const difference = same.value === null ? null : same.value - swapped.sameFilled;
  const zeroNote =
    zero.value === null
      ? 'this kernel has no swpout_zero: all-zero pages go to zram and count in same_pages too'
      : `all-zero pages went to the swap zeromap (swpout_zero +${zero.value} for ${swapped.zero} eater zero pages out in swap), not to zram`;
  return {
    baselineNs: same.fromNs,
    censusNs: same.atNs,
    eaterSameFilledSwapped: swapped.sameFilled,
    eaterZeroSwapped: swapped.zero,
    zramSamePagesGrowth: same.value,
    swpoutZeroGrowth: zero.value,
    difference,
    explanation: `${zeroNote}; same_pages grew by ${same.value ?? 'n/a'} for ${swapped.sameFilled} same-filled eater pages out in swap`,
  };
}
