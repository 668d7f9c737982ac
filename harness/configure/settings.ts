import { ZlabError } from '../util/errors.js';
import type { DeviceState } from './device-state.js';

/*
 * A setting is one knob with the value it should have. Apply and restore are
 * the same operation with different values: a configuration resolves to the
 * settings it wants, the snapshot holds the same settings with the values the
 * device had before, and one script generator writes either.
 */

export interface ZramSetup {
  algorithm: string;
  /** Written to algorithm_params; write-only, so never read back or snapshotted. */
  params: { level?: number; dict?: string } | null;
  /** Modern kernels ignore it (one stream per CPU); written when asked, never verified. */
  maxCompStreams: number | null;
  disksize: number;
  /** Bytes; 0 = no limit. */
  memLimit: number;
  /** "none" or a block device; null when the kernel has no writeback. */
  backingDev: string | null;
  /** null = not swap; "auto" = swapon without -p (the kernel picks a negative priority). */
  swap: { priority: number | 'auto' } | null;
}

export type Setting =
  | { kind: 'file'; label: string; path: string; value: string }
  | { kind: 'zram'; label: string; index: number; setup: ZramSetup }
  /** A min/max pair written max:=ceiling, min, max so that no intermediate state is invalid. */
  | { kind: 'range'; label: string; dir: string; minFile: string; maxFile: string; ceiling: number | null; min: number; max: number }
  | { kind: 'selinux'; label: string; mode: 'Enforcing' | 'Permissive' }
  | { kind: 'lmkd'; label: string; state: 'running' | 'stopped' };

export function settingId(s: Setting): string {
  switch (s.kind) {
    case 'file':
      return `file:${s.path}`;
    case 'zram':
      return `zram:${s.index}`;
    case 'range':
      return `range:${s.dir}`;
    case 'selinux':
    case 'lmkd':
      return s.kind;
  }
}

/**
 * The order settings are written in: services and policy first, then zswap
 * before zram (both are swap front ends), zram, the sysctls that act on it,
 * governors before their frequency ranges.
 */
export function settingPhase(s: Setting): number {
  switch (s.kind) {
    case 'lmkd':
      return 0;
    case 'selinux':
      return 1;
    case 'zram':
      return 3;
    case 'range':
      return 7;
    case 'file':
      if (s.path.startsWith('/sys/module/zswap/')) return 2;
      if (s.path.startsWith('/sys/block/')) return 4;
      if (/\/(scaling_governor|governor)$/.test(s.path)) return 6;
      return 5;
  }
}

export function sortSettings(settings: Setting[]): Setting[] {
  return settings
    .map((s, i) => ({ s, i }))
    .sort((a, b) => settingPhase(a.s) - settingPhase(b.s) || a.i - b.i)
    .map(({ s }) => s);
}

/** A short human form of a setting's value, for tables and messages. */
export function describeValue(s: Setting): string {
  switch (s.kind) {
    case 'file':
      return s.value;
    case 'zram': {
      const u = s.setup;
      const swap = u.swap ? `swap prio ${u.swap.priority}` : 'no swap';
      const extras = [
        u.memLimit ? `mem_limit ${u.memLimit}` : '',
        u.backingDev && u.backingDev !== 'none' ? `backing ${u.backingDev}` : '',
        u.params ? `params ${JSON.stringify(u.params)}` : '',
        u.maxCompStreams !== null ? `streams ${u.maxCompStreams}` : '',
      ].filter(Boolean);
      return [`${u.algorithm}`, `disksize ${u.disksize}`, swap, ...extras].join(', ');
    }
    case 'range':
      return `${s.min}..${s.max}`;
    case 'selinux':
      return s.mode;
    case 'lmkd':
      return s.state;
  }
}

/**
 * Whether the device shows what a setting asks for. Write-only parts
 * (algorithm_params, max_comp_streams) are not compared; "auto" swap
 * priority matches any kernel-assigned (negative) priority.
 */
export function sameValue(wanted: Setting, actual: Setting): boolean {
  if (wanted.kind !== actual.kind) return false;
  switch (wanted.kind) {
    case 'file':
      return wanted.value === (actual as typeof wanted).value;
    case 'zram': {
      const a = wanted.setup;
      const b = (actual as typeof wanted).setup;
      const swapSame =
        a.swap === null || b.swap === null
          ? a.swap === b.swap
          : a.swap.priority === b.swap.priority ||
            (a.swap.priority === 'auto' && typeof b.swap.priority === 'number' && b.swap.priority < 0);
      return a.algorithm === b.algorithm && a.disksize === b.disksize && a.memLimit === b.memLimit && a.backingDev === b.backingDev && swapSame;
    }
    case 'range': {
      const b = actual as typeof wanted;
      return wanted.min === b.min && wanted.max === b.max;
    }
    case 'selinux':
      return wanted.mode === (actual as typeof wanted).mode;
    case 'lmkd':
      return wanted.state === (actual as typeof wanted).state;
  }
}

/**
 * The same knob as `wanted`, with the value the device shows in `state`;
 * null when the knob cannot be read there.
 */
export function currentSetting(state: DeviceState, wanted: Setting): Setting | null {
  switch (wanted.kind) {
    case 'file': {
      const line = state.files[wanted.path]?.[0];
      if (line === undefined) return null;
      const bracket = /\[([^\]]+)\]/.exec(line);
      return { ...wanted, value: bracket ? bracket[1]!.trim() : line.trim() };
    }
    case 'zram': {
      const dev = state.zram.find((z) => z.index === wanted.index);
      if (!dev || dev.algorithm === null) return null;
      return {
        ...wanted,
        setup: {
          algorithm: dev.algorithm,
          params: null,
          maxCompStreams: wanted.setup.maxCompStreams === null ? null : dev.maxCompStreams,
          disksize: dev.disksize,
          memLimit: dev.memLimit ?? 0,
          backingDev: dev.backingDev,
          swap: dev.swap ? { priority: dev.swap.priority } : null,
        },
      };
    }
    case 'range': {
      const min = Number(state.files[`${wanted.dir}/${wanted.minFile}`]?.[0]);
      const max = Number(state.files[`${wanted.dir}/${wanted.maxFile}`]?.[0]);
      if (!Number.isInteger(min) || !Number.isInteger(max)) return null;
      return { ...wanted, min, max };
    }
    case 'selinux':
      return state.selinux === 'Enforcing' || state.selinux === 'Permissive' ? { ...wanted, mode: state.selinux } : null;
    case 'lmkd':
      return state.lmkd === 'running' || state.lmkd === 'stopped' ? { ...wanted, state: state.lmkd } : null;
  }
}

/** Like currentSetting, for a snapshot: an unreadable knob there is an error. */
export function snapshotSetting(state: DeviceState, wanted: Setting): Setting {
  const current = currentSetting(state, wanted);
  if (!current) throw new ZlabError('device', `${wanted.label}: cannot read its current value, so it could not be restored; nothing was changed`);
  return current;
}

export interface Mismatch {
  label: string;
  wanted: string;
  actual: string | null;
}

/** Settings the device does not show as wanted, read from a post-change discovery. */
export function verifySettings(wanted: Setting[], state: DeviceState): Mismatch[] {
  const mismatches: Mismatch[] = [];
  for (const s of wanted) {
    const actual = currentSetting(state, s);
    if (!actual || !sameValue(s, actual)) {
      mismatches.push({ label: s.label, wanted: describeValue(s), actual: actual ? describeValue(actual) : null });
    }
  }
  return mismatches;
}
