import { UsageError } from '../util/errors.js';
import type { Configuration, FrequencyTarget } from './config-schema.js';
import type { CpufreqPolicy, DevfreqDevice, DeviceState } from './device-state.js';
import { frequencyIn } from './frequency.js';
import { currentSetting, sameValue, sortSettings, type Setting, type ZramSetup } from './settings.js';
import { sizeInBytes } from '../util/size.js';

/*
 * Turn a validated configuration into the settings this device needs,
 * checking every knob against what discovery found. Every problem is
 * collected and reported at once, before anything changes, naming the knob
 * and what the device offers instead. Settings that already hold are left
 * out, so applying twice changes nothing the second time.
 */

const PAGE = 4096;

function offered(list: readonly string[]): string {
  return list.length > 0 ? list.join(', ') : 'nothing';
}

class Problems {
  readonly list: string[] = [];
  add(knob: string, message: string): void {
    this.list.push(`${knob}: ${message}`);
  }
}

function resolveZram(config: NonNullable<Configuration['zram']>, state: DeviceState, problems: Problems): Setting | null {
  const knob = 'zram';
  const dev = state.zram.find((z) => z.index === config.device);
  if (!dev) {
    problems.add(
      `${knob}.device`,
      state.zram.length === 0
        ? 'not supported on this device: the kernel has no zram devices (/sys/block/zram*)'
        : `zram${config.device} does not exist; this device has ${state.zram.map((z) => `zram${z.index}`).join(', ')}`,
    );
    return null;
  }
  const name = `zram${dev.index}`;
  const before = problems.list.length;
  if (config.algorithm !== undefined && !dev.algorithms.includes(config.algorithm)) {
    problems.add(`${knob}.algorithm`, `"${config.algorithm}" is not offered by ${name} on this kernel; it offers ${offered(dev.algorithms)}`);
  }
  if (config.algorithm_params !== undefined && !dev.hasAlgorithmParams) {
    problems.add(`${knob}.algorithm_params`, `not supported on this kernel (no ${dev.dir}/algorithm_params; it appeared in Linux 6.12)`);
  }
  if (config.max_comp_streams !== undefined && dev.maxCompStreams === null) {
    problems.add(`${knob}.max_comp_streams`, `not supported on this kernel (no ${dev.dir}/max_comp_streams)`);
  }
  const memLimitKnown = dev.memLimit !== null && state.unreadable.concat(Object.keys(state.files)).includes(`${dev.dir}/mem_limit`);
  if (config.mem_limit !== undefined && !memLimitKnown) {
    problems.add(`${knob}.mem_limit`, `not supported on this kernel (no ${dev.dir}/mem_limit with mm_stat)`);
  }
  if (config.backing_dev !== undefined && dev.backingDev === null) {
    problems.add(`${knob}.backing_dev`, `not supported on this kernel (no ${dev.dir}/backing_dev: built without CONFIG_ZRAM_WRITEBACK)`);
  }
  if (config.comp_mode !== undefined) {
    if (!dev.compMode) problems.add(`${knob}.comp_mode`, `not supported on this kernel (no ${dev.dir}/comp_mode)`);
    else if (dev.compMode.options.length > 1 && !dev.compMode.options.includes(config.comp_mode)) {
      problems.add(`${knob}.comp_mode`, `"${config.comp_mode}" is not offered; ${dev.dir}/comp_mode offers ${offered(dev.compMode.options)}`);
    }
  }
  const algorithm = config.algorithm ?? dev.algorithm;
  if (algorithm === null) problems.add(`${knob}.algorithm`, `${name} shows no current algorithm; give one (it offers ${offered(dev.algorithms)})`);
  let disksize = dev.disksize;
  let memLimit = dev.memLimit ?? 0;
  try {
    if (config.disksize !== undefined) disksize = Math.ceil(sizeInBytes(config.disksize, state.memTotalBytes, `${knob}.disksize`) / PAGE) * PAGE;
    if (config.mem_limit !== undefined) memLimit = Math.ceil(sizeInBytes(config.mem_limit, state.memTotalBytes, `${knob}.mem_limit`) / PAGE) * PAGE;
  } catch (err) {
    problems.list.push((err as Error).message);
  }
  const wantSwap = config.swap ?? dev.swap !== null;
  if (wantSwap && !state.swaponPriority) {
    if (config.priority !== undefined) {
      problems.add(`${knob}.priority`, "not supported here: this device's swapon has no -p option (busybox built without it)");
    } else if (dev.swap && dev.swap.priority >= 0) {
      problems.add(knob, `${name} is swap with priority ${dev.swap.priority}, which this device's swapon (no -p option) could not set again`);
    }
  }
  if (wantSwap && disksize === 0) {
    problems.add(`${knob}.disksize`, `${name} has no disksize; give one to use it as swap (e.g. disksize: 2G)`);
  }
  if (config.disksize !== undefined && disksize === 0) problems.add(`${knob}.disksize`, 'must be larger than 0');
  if (problems.list.length > before || algorithm === null) return null;

  const currentPriority = dev.swap && dev.swap.priority >= 0 ? dev.swap.priority : 'auto';
  const setup: ZramSetup = {
    algorithm,
    params: config.algorithm_params ?? null,
    maxCompStreams: config.max_comp_streams ?? null,
    disksize,
    memLimit,
    backingDev: config.backing_dev ?? dev.backingDev,
    swap: wantSwap ? { priority: config.priority ?? currentPriority } : null,
  };
  const setting: Setting = { kind: 'zram', label: name, index: dev.index, setup };
  const current = currentSetting(state, setting);
  // Write-only parts cannot be compared, so asking for them always writes.
  if (current && sameValue(setting, current) && !setup.params && setup.maxCompStreams === null) return null;
  return setting;
}

function fileSetting(label: string, path: string, value: string): Setting {
  return { kind: 'file', label, path, value };
}

const bool = (v: boolean) => (v ? 'Y' : 'N');

function resolveZswap(config: NonNullable<Configuration['zswap']>, state: DeviceState, problems: Problems, out: Setting[]): void {
  if (!state.zswap) {
    problems.add('zswap', 'not supported on this kernel (no /sys/module/zswap/parameters)');
    return;
  }
  const params = state.zswap;
  const want: Array<[string, string, string | undefined]> = [
    ['enabled', 'enabled', config.enabled === undefined ? undefined : bool(config.enabled)],
    ['compressor', 'compressor', config.compressor],
    ['zpool', 'zpool', config.zpool],
    ['max_pool_percent', 'max_pool_percent', config.max_pool_percent?.toString()],
    ['accept_threshold_percent', 'accept_threshold_percent', config.accept_threshold_percent?.toString()],
    ['shrinker', 'shrinker_enabled', config.shrinker === undefined ? undefined : bool(config.shrinker)],
  ];
  for (const [key, param, value] of want) {
    if (value === undefined) continue;
    if (!(param in params)) {
      problems.add(`zswap.${key}`, `not supported on this kernel (no /sys/module/zswap/parameters/${param}; it has ${offered(Object.keys(params))})`);
      continue;
    }
    if (key === 'compressor') {
      const known = [...new Set([params.compressor ?? '', ...state.compressors, ...state.zram.flatMap((z) => z.algorithms)].filter(Boolean))];
      if (!known.includes(value)) problems.add('zswap.compressor', `"${value}" is not available on this kernel; it offers ${offered(known)}`);
    }
    if (key === 'zpool') {
      const known = [...new Set([params.zpool ?? '', ...state.zpools].filter(Boolean))];
      if (!known.includes(value)) problems.add('zswap.zpool', `"${value}" is not available on this kernel; it offers ${offered(known)}`);
    }
    out.push(fileSetting(`zswap.${key}`, `/sys/module/zswap/parameters/${param}`, value));
  }
}

const VM_FILES: Record<string, string> = {
  swappiness: 'swappiness',
  page_cluster: 'page-cluster',
  watermark_scale_factor: 'watermark_scale_factor',
  min_free_kbytes: 'min_free_kbytes',
  vfs_cache_pressure: 'vfs_cache_pressure',
};

function resolveVm(config: NonNullable<Configuration['vm']>, state: DeviceState, problems: Problems, out: Setting[]): void {
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    const file = VM_FILES[key]!;
    if (!(file in state.sysctls)) {
      problems.add(`vm.${key}`, `not supported on this kernel (no /proc/sys/vm/${file})`);
      continue;
    }
    out.push(fileSetting(`vm.${key}`, `/proc/sys/vm/${file}`, String(value)));
  }
}

function resolveKcompressd(config: NonNullable<Configuration['kcompressd']>, state: DeviceState, problems: Problems, out: Setting[]): void {
  const exposed = state.kcompressd.knobs.map((k) => k.path);
  for (const key of ['queue_depth', 'threads'] as const) {
    const value = config[key];
    if (value === undefined) continue;
    const knob = state.kcompressd.knobs.find((k) => k.knob === key);
    if (!knob) {
      problems.add(
        `kcompressd.${key}`,
        `not supported on this kernel (${exposed.length ? `it exposes only ${exposed.join(', ')}` : 'it exposes no kcompressd knobs: no vm.kcompressd sysctl, no kcompressd module parameters'})`,
      );
      continue;
    }
    if (!knob.writable) {
      problems.add(`kcompressd.${key}`, `${knob.path} is read-only on this kernel; set it on the kernel command line instead`);
      continue;
    }
    out.push(fileSetting(`kcompressd.${key}`, knob.path, String(value)));
  }
}

interface FrequencyDomain {
  label: string;
  dir: string;
  governor: string | null;
  governors: string[];
  min: number | null;
  max: number | null;
  lowest: number | null;
  highest: number | null;
  frequencies: number[] | null;
  governorFile: string;
  minFile: string;
  maxFile: string;
  unitHz: number;
  unit: string;
}

function cpufreqDomain(p: CpufreqPolicy): FrequencyDomain {
  return {
    label: `cpufreq.${p.name}`,
    dir: p.dir,
    governor: p.governor,
    governors: p.governors,
    min: p.min,
    max: p.max,
    lowest: p.hardwareMin ?? p.frequencies?.[0] ?? null,
    highest: p.hardwareMax ?? p.frequencies?.at(-1) ?? null,
    frequencies: p.frequencies,
    governorFile: 'scaling_governor',
    minFile: 'scaling_min_freq',
    maxFile: 'scaling_max_freq',
    unitHz: 1000,
    unit: 'kHz',
  };
}

function devfreqDomain(d: DevfreqDevice): FrequencyDomain {
  return {
    label: `devfreq.${d.name}`,
    dir: d.dir,
    governor: d.governor,
    governors: d.governors,
    min: d.min,
    max: d.max,
    lowest: d.frequencies?.[0] ?? null,
    highest: d.frequencies?.at(-1) ?? null,
    frequencies: d.frequencies,
    governorFile: 'governor',
    minFile: 'min_freq',
    maxFile: 'max_freq',
    unitHz: 1,
    unit: 'Hz',
  };
}

function resolveDomain(domain: FrequencyDomain, target: FrequencyTarget, problems: Problems, out: Setting[]): void {
  const label = domain.label;
  if (target.governor !== undefined) {
    if (!domain.governors.includes(target.governor)) {
      problems.add(`${label}.governor`, `"${target.governor}" is not offered; ${domain.dir} offers ${offered(domain.governors)}`);
    } else {
      out.push(fileSetting(`${label}.governor`, `${domain.dir}/${domain.governorFile}`, target.governor));
    }
  }
  const pin = target.pin === undefined ? undefined : frequencyIn(target.pin, domain.unitHz);
  const min = pin ?? (target.min === undefined ? undefined : frequencyIn(target.min, domain.unitHz));
  const max = pin ?? (target.max === undefined ? undefined : frequencyIn(target.max, domain.unitHz));
  if (min === undefined && max === undefined) return;
  const before = problems.list.length;
  const checks = pin !== undefined ? ([['pin', pin]] as const) : ([['min', min], ['max', max]] as const);
  for (const [key, value] of checks) {
    if (value === undefined) continue;
    const field = `${label}.${key}`;
    if (domain.frequencies && !domain.frequencies.includes(value)) {
      problems.add(field, `${value} ${domain.unit} is not an available frequency; ${domain.dir} offers ${domain.frequencies.join(', ')} ${domain.unit}`);
    } else if ((domain.lowest !== null && value < domain.lowest) || (domain.highest !== null && value > domain.highest)) {
      problems.add(field, `${value} ${domain.unit} is outside ${domain.lowest}..${domain.highest} ${domain.unit}`);
    }
  }
  const newMin = min ?? domain.min;
  const newMax = max ?? domain.max;
  if (newMin === null || newMax === null) {
    problems.add(label, `${domain.dir} does not show its current min/max, so they cannot be changed and restored`);
    return;
  }
  if (newMin > newMax) problems.add(label, `min ${newMin} ${domain.unit} is above max ${newMax} ${domain.unit}`);
  if (problems.list.length > before) return;
  out.push({ kind: 'range', label, dir: domain.dir, minFile: domain.minFile, maxFile: domain.maxFile, ceiling: domain.highest, min: newMin, max: newMax });
}

function resolveFrequencies(
  section: 'cpufreq' | 'devfreq',
  config: Record<string, FrequencyTarget>,
  domains: FrequencyDomain[],
  problems: Problems,
  out: Setting[],
): void {
  if (domains.length === 0) {
    const where = section === 'cpufreq' ? '/sys/devices/system/cpu/cpufreq/policy*' : '/sys/class/devfreq/*';
    problems.add(section, `not supported on this device (nothing under ${where})`);
    return;
  }
  const names = domains.map((d) => d.label.slice(section.length + 1));
  for (const key of Object.keys(config)) {
    if (key !== 'all' && !names.includes(key)) problems.add(`${section}.${key}`, `no such ${section === 'cpufreq' ? 'policy' : 'device'}; this device has ${offered(names)}`);
  }
  for (const domain of domains) {
    const name = domain.label.slice(section.length + 1);
    const target = { ...config.all, ...config[name] };
    if (target.pin !== undefined && config[name] && (config[name].min !== undefined || config[name].max !== undefined)) delete target.pin;
    if (config[name]?.pin !== undefined) {
      delete target.min;
      delete target.max;
    }
    resolveDomain(domain, target, problems, out);
  }
}

function resolveAndroid(config: NonNullable<Configuration['android']>, state: DeviceState, problems: Problems, out: Setting[]): void {
  if (config.lmkd === 'stop') {
    if (state.lmkd === null) problems.add('android.lmkd', 'not supported here: this device has no lmkd service (getprop init.svc.lmkd is empty)');
    else if (state.lmkd !== 'running' && state.lmkd !== 'stopped') problems.add('android.lmkd', `lmkd is "${state.lmkd}", neither running nor stopped`);
    else out.push({ kind: 'lmkd', label: 'android.lmkd', state: 'stopped' });
  }
  if (config.selinux === 'enforcing' || config.selinux === 'permissive') {
    if (state.selinux === null || state.selinux === 'Disabled') {
      problems.add('android.selinux', `not supported here: SELinux is ${state.selinux === null ? 'absent' : 'disabled'} on this device`);
    } else {
      out.push({ kind: 'selinux', label: 'android.selinux', mode: config.selinux === 'enforcing' ? 'Enforcing' : 'Permissive' });
    }
  }
}

/**
 * The settings `config` asks for on a device in `state`, in the order they
 * are written. Throws a UsageError naming every unsupported knob.
 */
export function resolveConfiguration(config: Configuration, state: DeviceState): Setting[] {
  const problems = new Problems();
  const out: Setting[] = [];
  if (config.zram) {
    const zram = resolveZram(config.zram, state, problems);
    if (zram) out.push(zram);
    if (config.zram.comp_mode !== undefined && problems.list.length === 0) {
      out.push(fileSetting('zram.comp_mode', `/sys/block/zram${config.zram.device}/comp_mode`, config.zram.comp_mode));
    }
  }
  if (config.zswap) resolveZswap(config.zswap, state, problems, out);
  if (config.vm) resolveVm(config.vm, state, problems, out);
  if (config.kcompressd) resolveKcompressd(config.kcompressd, state, problems, out);
  if (config.cpufreq) resolveFrequencies('cpufreq', config.cpufreq, state.cpufreq.map(cpufreqDomain), problems, out);
  if (config.devfreq) resolveFrequencies('devfreq', config.devfreq, state.devfreq.map(devfreqDomain), problems, out);
  if (config.android) resolveAndroid(config.android, state, problems, out);
  if (problems.list.length > 0) {
    throw new UsageError(`this device does not support the configuration (nothing was changed): ${problems.list.join('; ')}`, {
      problems: problems.list,
    });
  }
  // Only what differs from now is written.
  const changes = out.filter((s) => {
    if (s.kind === 'zram') return true;
    const current = currentSetting(state, s);
    return !current || !sameValue(s, current);
  });
  return sortSettings(changes);
}
