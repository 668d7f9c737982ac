import type { SamplerRecord } from './sampler-record.js';
import { checkValidity, column, prefixRate, windowDelta, windowIndexes, windowRate, type TimeWindow, type Validity } from './series.js';
import { groupCpuShares } from './thread-cpu.js';

export interface ZramFigures {
  device: string;
  algorithm: string | null;
  /** Growth of orig_data_size over the window, bytes. */
  origDataGrowthBytes: number;
  /** Largest orig_data_size seen in the window, with compr_data_size at that sample. */
  origDataMaxBytes: number;
  comprDataAtMaxBytes: number;
  /** orig / compr at that sample (null when nothing is stored). */
  compressionRatio: number | null;
  samePagesMax: number;
  samePagesGrowth: number;
  hugePagesMax: number;
}

/** The figures a run is judged by, over one window. Rates are null when the data is invalid. */
export interface Headline extends Validity {
  window: { startNs: number; endNs: number; seconds: number };
  pgstealAnonPerSec: number | null;
  pswpout: number | null;
  pswpoutPerSec: number | null;
  pswpin: number | null;
  swpoutZero: number | null;
  allocstallPerSec: number | null;
  kswapdCpuShare: number | null;
  kcompressdCpuShare: number | null;
  psiSomeShare: number | null;
  psiFullShare: number | null;
  zram: ZramFigures | null;
}

function has(record: SamplerRecord, name: string): boolean {
  return record.columns.has(name);
}

function delta(record: SamplerRecord, name: string, window: TimeWindow): number | null {
  return has(record, name) ? (windowDelta(record, name, window)?.delta ?? null) : null;
}

function zramFigures(record: SamplerRecord, window: TimeWindow): ZramFigures | null {
  const device = [...record.columns.keys()].find((n) => /^zram\d+\.mm\.orig_data_size$/.test(n))?.split('.')[0];
  const idx = windowIndexes(record, window);
  if (!device || !idx) return null;
  const orig = column(record, `${device}.mm.orig_data_size`);
  const compr = column(record, `${device}.mm.compr_data_size`);
  const same = column(record, `${device}.mm.same_pages`);
  const huge = column(record, `${device}.mm.huge_pages`);
  let at = idx.first;
  let sameMax = 0;
  let hugeMax = 0;
  for (let i = idx.first; i <= idx.last; i++) {
    if (orig[i]! > orig[at]!) at = i;
    sameMax = Math.max(sameMax, same[i]! || 0);
    hugeMax = Math.max(hugeMax, huge[i]! || 0);
  }
  const origMax = orig[at]!;
  const comprAtMax = compr[at]!;
  return {
    device,
    algorithm: record.header.meta[`${device}.comp_algorithm`] ?? null,
    origDataGrowthBytes: orig[idx.last]! - orig[idx.first]!,
    origDataMaxBytes: origMax,
    comprDataAtMaxBytes: comprAtMax,
    compressionRatio: comprAtMax > 0 ? origMax / comprAtMax : null,
    samePagesMax: sameMax,
    samePagesGrowth: same[idx.last]! - same[idx.first]!,
    hugePagesMax: hugeMax,
  };
}

export function headline(record: SamplerRecord, window: TimeWindow, options: { bootIdAfter?: string } = {}): Headline {
  const validity = checkValidity(record, options);
  const idx = windowIndexes(record, window);
  const used = idx ? { startNs: record.tNs[idx.first]!, endNs: record.tNs[idx.last]! } : window;
  const seconds = (used.endNs - used.startNs) / 1e9;
  const base = { ...validity, window: { ...used, seconds } };
  if (!validity.valid || !idx) {
    return {
      ...base,
      valid: false,
      reasons: idx ? validity.reasons : [...validity.reasons, 'the window holds fewer than two samples'],
      pgstealAnonPerSec: null, pswpout: null, pswpoutPerSec: null, pswpin: null, swpoutZero: null,
      allocstallPerSec: null, kswapdCpuShare: null, kcompressdCpuShare: null, psiSomeShare: null, psiFullShare: null, zram: null,
    };
  }
  const shares = groupCpuShares(record, used);
  const psi = (name: string) => {
    const d = delta(record, name, used);
    return d === null || !(seconds > 0) ? null : d / 1e6 / seconds; // total is in µs
  };
  return {
    ...base,
    pgstealAnonPerSec: has(record, 'vmstat.pgsteal_anon') ? windowRate(record, 'vmstat.pgsteal_anon', used) : null,
    pswpout: delta(record, 'vmstat.pswpout', used),
    pswpoutPerSec: has(record, 'vmstat.pswpout') ? windowRate(record, 'vmstat.pswpout', used) : null,
    pswpin: delta(record, 'vmstat.pswpin', used),
    swpoutZero: delta(record, 'vmstat.swpout_zero', used),
    allocstallPerSec: prefixRate(record, 'vmstat.allocstall_', used),
    kswapdCpuShare: shares.kswapd ?? 0,
    kcompressdCpuShare: shares.kcompressd ?? 0,
    psiSomeShare: psi('psi.some.total'),
    psiFullShare: psi('psi.full.total'),
    zram: zramFigures(record, used),
  };
}
