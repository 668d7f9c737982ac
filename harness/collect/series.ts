import { ZlabError } from '../util/errors.js';
import type { SamplerRecord } from './sampler-record.js';

/** A span of CLOCK_BOOTTIME, in ns. */
export interface TimeWindow {
  startNs: number;
  endNs: number;
}

export interface WindowDelta {
  /** The samples actually used: the first at or after start, the last at or before end. */
  startNs: number;
  endNs: number;
  seconds: number;
  delta: number;
}

export interface Validity {
  valid: boolean;
  reasons: string[];
  warnings: string[];
}

/** Gauges among /proc/vmstat's lines: everything else there only grows. */
const VMSTAT_GAUGES = new Set(['workingset_nodes']);

/** Does this column only ever grow while the device stays up? */
export function isCounter(name: string): boolean {
  if (name.startsWith('vmstat.')) {
    const key = name.slice('vmstat.'.length);
    return !key.startsWith('nr_') && !VMSTAT_GAUGES.has(key);
  }
  if (name.startsWith('cpu.') || name.startsWith('self.')) return true;
  if (name.startsWith('psi.')) return name.endsWith('.total');
  if (/^zram\d+\.io\./.test(name)) return true;
  if (/^zram\d+\.stat\./.test(name)) return !name.endsWith('.in_flight');
  return false;
}

/** Index of the first value below the last known value before it (missing values skipped), or -1. */
function firstDecrease(values: Float64Array, from: number, to: number): number {
  let last = Number.NaN;
  for (let i = from; i <= to; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    if (v < last) return i;
    last = v;
  }
  return -1;
}

export function column(record: SamplerRecord, name: string): Float64Array {
  const values = record.columns.get(name);
  if (!values) throw new ZlabError('device', `the sampler record has no column ${name}`, { column: name });
  return values;
}

/** Indexes of the first sample at/after start and the last at/before end, or null. */
export function windowIndexes(record: SamplerRecord, window: TimeWindow): { first: number; last: number } | null {
  const t = record.tNs;
  let first = 0;
  while (first < t.length && t[first]! < window.startNs) first++;
  let last = t.length - 1;
  while (last >= 0 && t[last]! > window.endNs) last--;
  return first < last ? { first, last } : null;
}

/** Change of a counter over a window; null when the window holds fewer than two samples or values are missing. */
export function windowDelta(record: SamplerRecord, name: string, window: TimeWindow): WindowDelta | null {
  const values = column(record, name);
  const idx = windowIndexes(record, window);
  if (!idx) return null;
  const a = values[idx.first]!;
  const b = values[idx.last]!;
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  if (isCounter(name)) {
    const i = firstDecrease(values, idx.first, idx.last);
    if (i !== -1) {
      throw new ZlabError('device', `counter ${name} went backwards at ${record.tNs[i]} ns: the data is invalid (reboot or reset)`, { column: name });
    }
  }
  const startNs = record.tNs[idx.first]!;
  const endNs = record.tNs[idx.last]!;
  return { startNs, endNs, seconds: (endNs - startNs) / 1e9, delta: b - a };
}

/** Per-second rate of a counter over a window, or null (see windowDelta). */
export function windowRate(record: SamplerRecord, name: string, window: TimeWindow): number | null {
  const d = windowDelta(record, name, window);
  return d && d.seconds > 0 ? d.delta / d.seconds : null;
}

/** Sum of the window deltas of every column that starts with a prefix (e.g. vmstat.allocstall_). */
export function prefixRate(record: SamplerRecord, prefix: string, window: TimeWindow): number | null {
  let total = 0;
  let seconds = 0;
  for (const name of record.columns.keys()) {
    if (!name.startsWith(prefix)) continue;
    const d = windowDelta(record, name, window);
    if (!d) continue;
    total += d.delta;
    seconds = d.seconds;
  }
  return seconds > 0 ? total / seconds : null;
}

/** The whole record as one window. */
export function fullWindow(record: SamplerRecord): TimeWindow {
  return { startNs: record.tNs[0] ?? 0, endNs: record.tNs[record.tNs.length - 1] ?? 0 };
}

/**
 * Is the record fit for rates? A boot id that changed (the device rebooted
 * while or after sampling) or any counter going backwards makes it invalid.
 */
export function checkValidity(record: SamplerRecord, options: { bootIdAfter?: string } = {}): Validity {
  const reasons: string[] = [];
  const warnings: string[] = [];
  if (options.bootIdAfter !== undefined && options.bootIdAfter !== record.header.bootId) {
    reasons.push(`boot id changed from ${record.header.bootId} to ${options.bootIdAfter}: the device rebooted`);
  }
  for (const [name, values] of record.columns) {
    if (!isCounter(name)) continue;
    const i = firstDecrease(values, 0, values.length - 1);
    if (i !== -1) {
      const before = values.subarray(0, i).findLast((v) => !Number.isNaN(v));
      reasons.push(`counter ${name} went backwards at sample ${i + 1} (${before} → ${values[i]})`);
    }
  }
  for (const thread of record.threads.values()) {
    for (let i = 1; i < thread.tNs.length; i++) {
      if (thread.utime[i]! + thread.stime[i]! < thread.utime[i - 1]! + thread.stime[i - 1]!) {
        reasons.push(`CPU time of thread ${thread.tid} (${thread.comm}) went backwards`);
        break;
      }
    }
  }
  if (record.tNs.length < 2) reasons.push(`only ${record.tNs.length} sample(s)`);
  if (!record.end) warnings.push('the sampler did not stop cleanly (no stop line): the record may end early');
  if (record.truncated) warnings.push('the record ends inside a line: the last sample was lost');
  if (record.end && record.end.overruns > 0) warnings.push(`${record.end.overruns} sampling period(s) were missed`);
  for (const source of record.header.sources) {
    if (!source.ok) warnings.push(`source ${source.name} (${source.path}) was missing`);
  }
  return { valid: reasons.length === 0, reasons, warnings };
}
