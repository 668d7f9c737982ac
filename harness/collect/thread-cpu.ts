import type { SamplerRecord, ThreadSeries } from './sampler-record.js';
import type { TimeWindow } from './series.js';

export interface ThreadShare {
  tid: number;
  pid: number;
  comm: string;
  processComm: string;
  cpuSeconds: number;
  /** CPU time over the window's length: 1 is one CPU busy all the time. */
  share: number;
}

/** Ticks (utime + stime) of a thread at the last sample at or before t; 0 before it was first seen. */
function ticksAt(thread: ThreadSeries, tNs: number): number {
  let ticks = 0;
  for (let i = 0; i < thread.tNs.length && thread.tNs[i]! <= tNs; i++) ticks = thread.utime[i]! + thread.stime[i]!;
  return ticks;
}

/**
 * CPU share of every tracked thread over a window. A thread first seen inside
 * the window was born there (the sampler scans at start), so it counts from 0.
 */
export function threadCpuShares(record: SamplerRecord, window: TimeWindow): ThreadShare[] {
  const seconds = (window.endNs - window.startNs) / 1e9;
  const shares: ThreadShare[] = [];
  if (!(seconds > 0)) return shares;
  for (const thread of record.threads.values()) {
    const ticks = ticksAt(thread, window.endNs) - ticksAt(thread, window.startNs);
    const cpuSeconds = ticks / record.header.clkTck;
    shares.push({ tid: thread.tid, pid: thread.pid, comm: thread.comm, processComm: thread.processComm, cpuSeconds, share: cpuSeconds / seconds });
  }
  return shares.sort((a, b) => b.share - a.share);
}

/**
 * Shares summed by group: `kswapd` (kswapd* threads), `kcompressd`
 * (kcompressd* threads), and one group per other process name.
 */
export function groupCpuShares(record: SamplerRecord, window: TimeWindow): Record<string, number> {
  const groups: Record<string, number> = { kswapd: 0, kcompressd: 0 };
  for (const s of threadCpuShares(record, window)) {
    const group = s.comm.startsWith('kswapd') ? 'kswapd' : s.comm.startsWith('kcompressd') ? 'kcompressd' : s.processComm;
    groups[group] = (groups[group] ?? 0) + s.share;
  }
  return groups;
}
