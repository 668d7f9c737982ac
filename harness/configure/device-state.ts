import { ZlabError } from '../util/errors.js';

/*
 * What discovery found, parsed from its tab-separated records
 * (see discovery-script.ts) into the shapes configuration reasons about.
 */

export interface SwapEntry {
  path: string;
  type: string;
  sizeKiB: number;
  usedKiB: number;
  priority: number;
}

export interface ZramDevice {
  index: number;
  dir: string;
  /** The selected algorithm ([lz4] in comp_algorithm). */
  algorithm: string | null;
  algorithms: string[];
  disksize: number;
  /** From mm_stat's fourth field (mem_limit itself is write-only). */
  memLimit: number | null;
  /** "none" or a path; null when the kernel has no writeback. */
  backingDev: string | null;
  maxCompStreams: number | null;
  hasAlgorithmParams: boolean;
  /** Vendor comp_mode, null when absent. */
  compMode: { current: string; options: string[] } | null;
  /** The /proc/swaps entry of this device, if it is swap now. */
  swap: SwapEntry | null;
}

export interface CpufreqPolicy {
  name: string;
  dir: string;
  governor: string | null;
  governors: string[];
  min: number | null;
  max: number | null;
  hardwareMin: number | null;
  hardwareMax: number | null;
  /** kHz; null when the driver lists none (then any value in the hardware range). */
  frequencies: number[] | null;
}

export interface DevfreqDevice {
  name: string;
  dir: string;
  governor: string | null;
  governors: string[];
  min: number | null;
  max: number | null;
  /** Hz. */
  frequencies: number[] | null;
}

export interface KcompressdKnob {
  /** What the configuration calls it. */
  knob: 'queue_depth' | 'threads' | null;
  path: string;
  value: string | null;
  writable: boolean;
}

export interface DeviceState {
  /** Every readable file: path → its lines. */
  files: Record<string, string[]>;
  /** Files that exist but show nothing: write-only attributes (or empty files). */
  unreadable: string[];
  kernel: string | null;
  memTotalBytes: number | null;
  swaps: SwapEntry[];
  zram: ZramDevice[];
  /** zswap module parameters by name, null when the kernel has no zswap. */
  zswap: Record<string, string> | null;
  zpools: string[];
  /** Compression algorithms the crypto API has loaded (/proc/crypto). */
  compressors: string[];
  /** vm sysctls by file name (page-cluster, swappiness, …). */
  sysctls: Record<string, string>;
  cpufreq: CpufreqPolicy[];
  devfreq: DevfreqDevice[];
  kcompressd: { knobs: KcompressdKnob[]; threads: string[] };
  /** Enforcing / Permissive / Disabled, null when the device has no SELinux. */
  selinux: string | null;
  /** lmkd service state (running, stopped), null when there is no lmkd. */
  lmkd: string | null;
  /** Whether the device's swapon takes -p (busybox can be built without it). */
  swaponPriority: boolean;
}

/** The value a sysfs file shows, with "[selected]" picked out of option lists. */
export function selectedValue(line: string | undefined): string | null {
  if (line === undefined) return null;
  const bracket = /\[([^\]]+)\]/.exec(line);
  return bracket ? bracket[1]!.trim() : line.trim();
}

/** The options a sysfs list shows ("lzo [lz4] zstd" → lzo, lz4, zstd). */
export function listedOptions(line: string | undefined): string[] {
  if (line === undefined) return [];
  return line.replace(/[[\]]/g, ' ').split(/\s+/).filter(Boolean);
}

function numberOrNull(text: string | null | undefined): number | null {
  if (text === null || text === undefined || !/^-?\d+$/.test(text.trim())) return null;
  return Number(text.trim());
}

function numbers(line: string | undefined): number[] | null {
  const list = listedOptions(line).map(Number).filter(Number.isFinite);
  return list.length > 0 ? list.sort((a, b) => a - b) : null;
}

export function parseSwaps(lines: string[]): SwapEntry[] {
  const entries: SwapEntry[] = [];
  for (const line of lines.slice(1)) {
    const [path, type, size, used, priority] = line.trim().split(/\s+/);
    if (!path || priority === undefined) continue;
    entries.push({ path, type: type ?? '', sizeKiB: Number(size), usedKiB: Number(used), priority: Number(priority) });
  }
  return entries;
}

const KCOMPRESSD_KNOBS: Record<string, KcompressdKnob['knob']> = {
  kcompressd: 'queue_depth',
  kcompressd_threads: 'threads',
  queue_size_per_kcompressd: 'queue_depth',
  nr_kcompressd: 'threads',
};

/** Parse discovery output. Output without the closing `end` record is an error: discovery did not finish. */
export function parseDiscovery(output: string): DeviceState {
  const files: Record<string, string[]> = {};
  const existing: string[] = [];
  const modes: Record<string, string> = {};
  const threads = new Set<string>();
  const commands: Record<string, string> = {};
  const zpools: string[] = [];
  let complete = false;
  let group: string[] | null = null;
  for (const record of output.split('\n')) {
    if (group) {
      if (record === 'G') {
        group = null;
        continue;
      }
      // ./<path>:<line>; the path is the longest existing one that prefixes it.
      const text = record.startsWith('./') ? record.slice(1) : record;
      const path = group.filter((p) => text.startsWith(`${p}:`)).sort((a, b) => b.length - a.length)[0];
      if (path) (files[path] ??= []).push(text.slice(path.length + 1));
      continue;
    }
    const [tag, a = '', ...rest] = record.split('\t');
    const b = rest.join('\t');
    if (tag === 'e') existing.push(a);
    else if (tag === 'g') group = existing.slice();
    else if (tag === 'm') modes[a] = b;
    else if (tag === 't') threads.add(a);
    else if (tag === 'c' && a === 'zpool') zpools.push(b);
    else if (tag === 'c') commands[a] = b;
    else if (tag === 'end') complete = true;
  }
  const unreadable = existing.filter((p) => !(p in files));
  if (!complete) {
    throw new ZlabError('device', 'device discovery did not finish (no end record); the connection may have dropped', {
      output: output.slice(-2000),
    });
  }
  const first = (path: string) => files[path]?.[0];
  const exists = (path: string) => path in files || unreadable.includes(path);
  const swaps = parseSwaps(files['/proc/swaps'] ?? []);

  const zram: ZramDevice[] = [];
  for (const path of [...Object.keys(files), ...unreadable]) {
    const match = /^\/sys\/block\/zram(\d+)\/disksize$/.exec(path);
    if (!match) continue;
    const index = Number(match[1]);
    const dir = `/sys/block/zram${index}`;
    const mmStat = first(`${dir}/mm_stat`)?.trim().split(/\s+/);
    const compMode = first(`${dir}/comp_mode`);
    zram.push({
      index,
      dir,
      algorithm: selectedValue(first(`${dir}/comp_algorithm`)),
      algorithms: listedOptions(first(`${dir}/comp_algorithm`)),
      disksize: numberOrNull(first(`${dir}/disksize`) ?? null) ?? 0,
      memLimit: numberOrNull(mmStat?.[3]),
      backingDev: first(`${dir}/backing_dev`)?.trim() ?? null,
      maxCompStreams: numberOrNull(first(`${dir}/max_comp_streams`)),
      hasAlgorithmParams: exists(`${dir}/algorithm_params`),
      compMode: compMode === undefined ? null : { current: selectedValue(compMode) ?? '', options: listedOptions(compMode) },
      swap: swaps.find((s) => s.path.endsWith(`/zram${index}`)) ?? null,
    });
  }
  zram.sort((x, y) => x.index - y.index);

  let zswap: Record<string, string> | null = null;
  for (const [path, lines] of Object.entries(files)) {
    const match = /^\/sys\/module\/zswap\/parameters\/([^/]+)$/.exec(path);
    if (match) (zswap ??= {})[match[1]!] = lines[0]?.trim() ?? '';
  }

  const compressors: string[] = [];
  const crypto = files['/proc/crypto'] ?? [];
  for (let i = 0; i < crypto.length; i++) {
    const name = /^name\s*:\s*(\S+)/.exec(crypto[i]!)?.[1];
    const type = name ? /^type\s*:\s*(\S+)/.exec(crypto[i + 1] ?? '')?.[1] : undefined;
    if (name && type && /^(compression|scomp|acomp)$/.test(type) && !compressors.includes(name)) compressors.push(name);
  }

  const sysctls: Record<string, string> = {};
  const kcompressdKnobs: KcompressdKnob[] = [];
  for (const [path, lines] of Object.entries(files)) {
    const sysctl = /^\/proc\/sys\/vm\/([^/]+)$/.exec(path);
    if (sysctl) sysctls[sysctl[1]!] = lines[0]?.trim() ?? '';
  }
  for (const path of [...Object.keys(files), ...unreadable]) {
    const sysctl = /^\/proc\/sys\/vm\/([^/]*kcompressd[^/]*)$/.exec(path);
    const param = /^\/sys\/module\/[^/]+\/parameters\/([^/]*kcompressd[^/]*)$/.exec(path);
    const name = sysctl?.[1] ?? param?.[1];
    if (!name) continue;
    const mode = modes[path];
    kcompressdKnobs.push({
      knob: KCOMPRESSD_KNOBS[name] ?? null,
      path,
      value: files[path]?.[0]?.trim() ?? null,
      // sysctls are root-writable; module parameters only when their mode says so.
      writable: sysctl ? true : mode === undefined || mode === '' ? false : (parseInt(mode, 8) & 0o222) !== 0,
    });
  }
  // A sysctl takes precedence over a module parameter with the same meaning.
  kcompressdKnobs.sort((x, y) => Number(y.path.startsWith('/proc/sys/')) - Number(x.path.startsWith('/proc/sys/')));

  const cpufreq: CpufreqPolicy[] = [];
  const devfreq: DevfreqDevice[] = [];
  for (const path of Object.keys(files)) {
    const policy = /^(\/sys\/devices\/system\/cpu\/cpufreq\/(policy\d+))\/scaling_governor$/.exec(path);
    if (policy) {
      const dir = policy[1]!;
      cpufreq.push({
        name: policy[2]!,
        dir,
        governor: selectedValue(first(`${dir}/scaling_governor`)),
        governors: listedOptions(first(`${dir}/scaling_available_governors`)),
        min: numberOrNull(first(`${dir}/scaling_min_freq`)),
        max: numberOrNull(first(`${dir}/scaling_max_freq`)),
        hardwareMin: numberOrNull(first(`${dir}/cpuinfo_min_freq`)),
        hardwareMax: numberOrNull(first(`${dir}/cpuinfo_max_freq`)),
        frequencies: numbers(first(`${dir}/scaling_available_frequencies`)),
      });
    }
    const dev = /^(\/sys\/class\/devfreq\/([^/]+))\/governor$/.exec(path);
    if (dev) {
      const dir = dev[1]!;
      devfreq.push({
        name: dev[2]!,
        dir,
        governor: selectedValue(first(`${dir}/governor`)),
        governors: listedOptions(first(`${dir}/available_governors`)),
        min: numberOrNull(first(`${dir}/min_freq`)),
        max: numberOrNull(first(`${dir}/max_freq`)),
        frequencies: numbers(first(`${dir}/available_frequencies`)),
      });
    }
  }
  cpufreq.sort((x, y) => Number(x.name.slice(6)) - Number(y.name.slice(6)));
  devfreq.sort((x, y) => x.name.localeCompare(y.name));

  const memTotal = /^MemTotal:\s+(\d+)\s*kB/.exec(first('/proc/meminfo') ?? '');
  const enforceFile = first('/sys/fs/selinux/enforce')?.trim();
  const getenforce = commands.getenforce?.trim();
  const selinux = getenforce ? getenforce : enforceFile === '1' ? 'Enforcing' : enforceFile === '0' ? 'Permissive' : null;
  const lmkd = commands.lmkd?.trim() || null;

  return {
    files,
    unreadable,
    kernel: first('/proc/sys/kernel/osrelease')?.trim() ?? null,
    memTotalBytes: memTotal ? Number(memTotal[1]) * 1024 : null,
    swaps,
    zram,
    zswap,
    zpools,
    compressors,
    sysctls,
    cpufreq,
    devfreq,
    kcompressd: { knobs: kcompressdKnobs, threads: [...threads].sort() },
    selinux,
    lmkd,
    swaponPriority: commands['swapon-priority'] !== 'no',
  };
}

/**
 * Every knob configuration can touch, as the device shows it, without the
 * counters that move by themselves: two equal summaries mean an unchanged
 * configuration.
 */
export function knobSummary(state: DeviceState) {
  return {
    zram: state.zram.map((z) => ({
      index: z.index,
      algorithm: z.algorithm,
      disksize: z.disksize,
      memLimit: z.memLimit,
      backingDev: z.backingDev,
      compMode: z.compMode?.current ?? null,
      swapPriority: z.swap?.priority ?? null,
    })),
    swaps: state.swaps.map((s) => ({ path: s.path, priority: s.priority })),
    sysctls: state.sysctls,
    zswap: state.zswap,
    kcompressd: state.kcompressd.knobs.map((k) => ({ path: k.path, value: k.value })),
    cpufreq: state.cpufreq.map((p) => ({ name: p.name, governor: p.governor, min: p.min, max: p.max })),
    devfreq: state.devfreq.map((d) => ({ name: d.name, governor: d.governor, min: d.min, max: d.max })),
    selinux: state.selinux,
    lmkd: state.lmkd,
  };
}
