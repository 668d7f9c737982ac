import type { TimeSeries } from '../analysis/time-series.js';
import type { SamplerRecord } from './sampler-record.js';

/**
 * The sampler's record in the shape the analysis works on: seconds on the
 * device's CLOCK_BOOTTIME axis and the plain series names the metrics use
 * (pgsteal_anon, psi_some_total_us, zram_orig_data_size, kswapd_cpu_s, temp_*,
 * mem_free_kb). Other columns keep their sampler names.
 */
export function toAnalysisSeries(record: SamplerRecord): TimeSeries {
  const t = Array.from(record.tNs, (ns) => ns / 1e9);
  const values: Record<string, number[]> = {};
  const zram = [...record.columns.keys()].find((n) => /^zram\d+\.mm\.orig_data_size$/.test(n))?.split('.')[0];

  for (const [name, column] of record.columns) {
    values[analysisName(name, zram, record)] = Array.from(column);
  }
  for (const [group, cumulative] of Object.entries(threadGroupCpuSeconds(record))) {
    values[`${group}_cpu_s`] = cumulative;
  }
  return { t, values };
}

function analysisName(column: string, zram: string | undefined, record: SamplerRecord): string {
  if (column.startsWith('vmstat.')) return column.slice('vmstat.'.length);
  if (column === 'psi.some.total') return 'psi_some_total_us';
  if (column === 'psi.full.total') return 'psi_full_total_us';
  if (column === 'meminfo.MemFree') return 'mem_free_kb';
  if (column === 'meminfo.MemAvailable') return 'mem_available_kb';
  if (zram && column.startsWith(`${zram}.mm.`)) return `zram_${column.slice(`${zram}.mm.`.length)}`;
  const zone = /^thermal\.([^.]+)\.temp$/.exec(column);
  if (zone) {
    const type = (record.header.meta[`thermal.${zone[1]}.type`] ?? zone[1]!).replace(/[^A-Za-z0-9_.-]/g, '_');
    return `temp_${type}`;
  }
  return column.replace(/[^A-Za-z0-9_.:-]/g, '_');
}

/**
 * Cumulative CPU seconds of kswapd* and kcompressd* threads on the record's
 * time axis, counted from when each thread was first seen (a compressor
 * thread started mid-run must not appear as a burst of its whole past).
 */
function threadGroupCpuSeconds(record: SamplerRecord): Record<string, number[]> {
  const groups: Record<string, number[]> = {
    kswapd: new Array<number>(record.tNs.length).fill(0),
    kcompressd: new Array<number>(record.tNs.length).fill(0),
  };
  const tick = record.header.clkTck;
  for (const thread of record.threads.values()) {
    const group = thread.comm.startsWith('kswapd') ? 'kswapd' : thread.comm.startsWith('kcompressd') ? 'kcompressd' : undefined;
    if (!group || thread.tNs.length === 0) continue;
    const base = thread.utime[0]! + thread.stime[0]!;
    let j = 0;
    let last = 0;
    for (let i = 0; i < record.tNs.length; i++) {
      while (j < thread.tNs.length && thread.tNs[j]! <= record.tNs[i]!) {
        last = (thread.utime[j]! + thread.stime[j]! - base) / tick;
        j++;
      }
      groups[group]![i]! += last;
    }
  }
  if (!record.threads.size || ![...record.threads.values()].some((th) => th.comm.startsWith('kcompressd'))) delete groups.kcompressd;
  return groups;
}
