import type { SamplerRecord } from '../collect/sampler-record.js';
import { column, windowDelta, windowIndexes, type TimeWindow } from '../collect/series.js';
import { groupCpuShares } from '../collect/thread-cpu.js';
import type { EaterSummary } from '../workload/eater-summary.js';
import { ZlabError } from '../util/errors.js';
import type { BaselineObservation } from './calibration.js';
import type { Algorithm } from './device-profile.js';
import { PAGE_BYTES } from './workload.js';

/**
 * What the model needs from one eater run, read off the sampler record and the
 * eater's summary: the pressure window, kswapd's CPU and steals in it, the
 * eater's own cost per page before pressure, and the measured figures a
 * prediction is compared with.
 *
 * The pressure window runs from the first sample at which 1 % of the fill's
 * anonymous steals had happened (reclaim has begun in earnest; before that the
 * eater fills free memory) to the end of the fill. Rates are taken over it, not
 * over the whole fill, so that the free-memory start does not dilute them.
 */
export interface EatRunFigures {
  pressure: TimeWindow & { seconds: number };
  /** The fill before reclaim began. */
  freeFill: TimeWindow & { seconds: number };
  pgstealAnonPerSec: number;
  pgstealFilePerSec: number;
  anonSteals: number;
  fileSteals: number;
  kswapdSteals: number;
  directSteals: number;
  /** kswapd's anonymous and file steals (pgsteal_kswapd split in the anon/file proportion of the window). */
  kswapdAnonSteals: number;
  kswapdFileSteals: number;
  kswapdCpuUs: number;
  eaterCpuUs: number;
  /** The eater's CPU per page it faulted in and filled while memory was free (µs). */
  faultUs: number | null;
  /** MemAvailable at the start of the fill, bytes. */
  availableBytes: number | null;
  memTotalBytes: number | null;
  /** Pages swapped out over the fill: pswpout plus swpout_zero (zero pages sent to the zeromap). */
  pagesOutOverFill: number;
  /** zram same_pages growth over the fill (null without zram columns). */
  samePagesFillGrowth: number | null;
  /** zram same_pages growth from the start of the fill to the census (null without a census). */
  samePagesAtCensus: number | null;
  /** The eater's pages out in swap at the census, by kind (null without one). */
  census: { zero: number; sameFilled: number; data: number } | null;
}

function valueAt(record: SamplerRecord, name: string, tNs: number): number | null {
  const values = record.columns.get(name);
  if (!values) return null;
  let found: number | null = null;
  for (let i = 0; i < record.tNs.length && record.tNs[i]! <= tNs; i++) if (!Number.isNaN(values[i]!)) found = values[i]!;
  return found;
}

function deltaOf(record: SamplerRecord, name: string, window: TimeWindow): number {
  return record.columns.has(name) ? (windowDelta(record, name, window)?.delta ?? 0) : 0;
}

export function eatRunFigures(record: SamplerRecord, summary: EaterSummary): EatRunFigures {
  const fill = summary.phases.find((p) => p.name === 'fill');
  if (!fill) throw new ZlabError('device', 'the eater summary has no fill phase');
  const fillWindow = { startNs: fill.startBoottimeNs, endNs: fill.endBoottimeNs };
  const idx = windowIndexes(record, fillWindow);
  if (!idx) throw new ZlabError('device', 'the sampler record holds fewer than two samples inside the fill');
  const steal = column(record, 'vmstat.pgsteal_anon');
  const total = steal[idx.last]! - steal[idx.first]!;
  if (!(total > 0)) throw new ZlabError('device', 'no anonymous page was reclaimed during the fill: the run put no pressure on memory (eat more)');
  let onset = idx.first;
  while (onset < idx.last && steal[onset]! - steal[idx.first]! < 0.01 * total) onset++;
  if (onset >= idx.last) onset = idx.last - 1;
  const pressure = { startNs: record.tNs[onset]!, endNs: record.tNs[idx.last]! };
  const freeFill = { startNs: record.tNs[idx.first]!, endNs: record.tNs[onset]! };
  const seconds = (w: TimeWindow) => (w.endNs - w.startNs) / 1e9;

  const anonSteals = deltaOf(record, 'vmstat.pgsteal_anon', pressure);
  const fileSteals = deltaOf(record, 'vmstat.pgsteal_file', pressure);
  const kswapdSteals = deltaOf(record, 'vmstat.pgsteal_kswapd', pressure);
  const directSteals = deltaOf(record, 'vmstat.pgsteal_direct', pressure);
  const anonShare = anonSteals + fileSteals > 0 ? anonSteals / (anonSteals + fileSteals) : 1;
  const shares = groupCpuShares(record, pressure);

  // The eater's cost per page while memory was still free: its CPU over the
  // anonymous pages that appeared (AnonPages growth, kB).
  let faultUs: number | null = null;
  if (seconds(freeFill) > 0.5) {
    const eaterCpuFree = (groupCpuShares(record, freeFill).memeater ?? 0) * seconds(freeFill) * 1e6;
    const a0 = valueAt(record, 'meminfo.AnonPages', freeFill.startNs);
    const a1 = valueAt(record, 'meminfo.AnonPages', freeFill.endNs);
    const pages = a0 !== null && a1 !== null ? ((a1 - a0) * 1024) / PAGE_BYTES : 0;
    if (pages > 1000 && eaterCpuFree > 0) faultUs = eaterCpuFree / pages;
  }

  const retouch = summary.phases.find((p) => p.name === 'retouch1');
  const sameColumn = [...record.columns.keys()].find((n) => /^zram\d+\.mm\.same_pages$/.test(n));
  let samePagesAtCensus: number | null = null;
  let samePagesFillGrowth: number | null = null;
  if (sameColumn) {
    const before = valueAt(record, sameColumn, fill.startBoottimeNs);
    const after = valueAt(record, sameColumn, fill.endBoottimeNs);
    if (before !== null && after !== null) samePagesFillGrowth = after - before;
  }
  if (retouch && sameColumn) {
    const before = valueAt(record, sameColumn, fill.startBoottimeNs);
    const at = valueAt(record, sameColumn, retouch.startBoottimeNs);
    if (before !== null && at !== null) samePagesAtCensus = at - before;
  }
  const available = valueAt(record, 'meminfo.MemAvailable', fill.startBoottimeNs);
  const memTotal = valueAt(record, 'meminfo.MemTotal', fill.startBoottimeNs);

  return {
    pressure: { ...pressure, seconds: seconds(pressure) },
    freeFill: { ...freeFill, seconds: seconds(freeFill) },
    pgstealAnonPerSec: anonSteals / seconds(pressure),
    pgstealFilePerSec: fileSteals / seconds(pressure),
    anonSteals,
    fileSteals,
    kswapdSteals,
    directSteals,
    kswapdAnonSteals: kswapdSteals * anonShare,
    kswapdFileSteals: kswapdSteals * (1 - anonShare),
    kswapdCpuUs: (shares.kswapd ?? 0) * seconds(pressure) * 1e6,
    eaterCpuUs: (shares.memeater ?? 0) * seconds(pressure) * 1e6,
    faultUs,
    availableBytes: available === null ? null : available * 1024,
    memTotalBytes: memTotal === null ? null : memTotal * 1024,
    pagesOutOverFill: deltaOf(record, 'vmstat.pswpout', fillWindow) + deltaOf(record, 'vmstat.swpout_zero', fillWindow),
    samePagesFillGrowth,
    samePagesAtCensus,
    census: summary.swappedBeforeRetouch,
  };
}

/**
 * A stock baseline as calibration takes it: kswapd's CPU over the pressure
 * window against kswapd's own steals, with the eater's page mix (zero pages
 * cost the zero check, same-filled the same-filled check, data pages the
 * compressor at the run's ratio), and the eater's direct reclaim when it can be told apart.
 */
export function baselineObservation(figures: EatRunFigures, summary: EaterSummary, algorithm: Algorithm): BaselineObservation {
  if (!(figures.kswapdCpuUs > 0)) throw new ZlabError('device', 'kswapd used no CPU in the pressure window: not a usable baseline');
  const p = summary.pages;
  const n = p.zero + p.sameFilled + p.data;
  const direct = directReclaimObservation(figures);
  return {
    algorithm,
    ratio: summary.config.ratio,
    mix: { zero: p.zero / n, sameFilled: p.sameFilled / n, compressible: p.data / n },
    kswapdCpuUs: figures.kswapdCpuUs,
    anonSteals: figures.kswapdAnonSteals,
    fileSteals: figures.kswapdFileSteals,
    ...(direct ? { direct } : {}),
  };
}

/**
 * The eater's side of the pressure window: its CPU, what it reclaimed itself
 * (pgsteal_direct, split anon/file in the window's proportion) and what it
 * allocated. Memory is full in the window, so every page it allocates is one
 * reclaimed: allocated = all steals. Null without a fault cost or direct steals.
 */
export function directReclaimObservation(figures: EatRunFigures): BaselineObservation['direct'] | null {
  if (figures.faultUs === null || !(figures.directSteals > 0) || !(figures.eaterCpuUs > 0)) return null;
  const all = figures.anonSteals + figures.fileSteals;
  const anonShare = all > 0 ? figures.anonSteals / all : 1;
  return {
    eaterCpuUs: figures.eaterCpuUs,
    allocatedPages: all,
    faultUs: figures.faultUs,
    anonSteals: figures.directSteals * anonShare,
    fileSteals: figures.directSteals * (1 - anonShare),
  };
}
