import { ZlabError, errorMessage } from '../util/errors.js';
import type { Configuration } from './config-schema.js';
import type { DeviceShell, ScriptOptions } from './device-shell.js';
import { discoveryScript } from './discovery-script.js';
import { parseDiscovery, type DeviceState } from './device-state.js';
import { resolveConfiguration } from './resolve-configuration.js';
import { parseSettingsOutput, settingsScript } from './settings-script.js';
import { currentSetting, describeValue, snapshotSetting, verifySettings, type Setting } from './settings.js';
import { guardSignals, type SignalGuard, type SignalSource } from '../util/signal-guard.js';
import { loadSnapshot, mergeSnapshot, removeSnapshot, saveSnapshot, snapshotPath, type Snapshot } from './snapshot-store.js';

/*
 * Discover → resolve → snapshot (persisted) → one script → verify; restore
 * on any failure. Restore is the same script with the snapshot's values and
 * is safe to repeat.
 */

export interface ConfigureOptions extends ScriptOptions {
  /** Hold SIGINT/SIGTERM while the device is being changed and restore on them (default true). */
  handleSignals?: boolean;
  /** Where those signals come from (default: this process). */
  signalSource?: SignalSource;
  /** For one apply or restore script (swapoff of a full zram device takes a while). Default 5 minutes. */
  timeoutMs?: number;
  /** Progress lines for a person (the CLI writes them to stderr). */
  progress?: (line: string) => void;
}

export interface KnobChange {
  knob: string;
  before: string;
  after: string;
}

export interface ApplyReport {
  serial: string;
  kernel: string | null;
  /** Knobs written, with the value before and the value read back after. */
  changes: KnobChange[];
  /** Where the snapshot for `zlab config restore` is kept (null when nothing changed). */
  snapshot: string | null;
  warnings: string[];
}

export interface RestoreReport {
  serial: string;
  /** False when no snapshot was pending: nothing to do. */
  restored: boolean;
  knobs: Array<{ knob: string; value: string }>;
}

const DISCOVERY_TIMEOUT_MS = 60_000;
const CHANGE_TIMEOUT_MS = 300_000;

/** One round trip: everything configuration may touch, as the device shows it now. */
export async function discoverDevice(device: DeviceShell, options: ScriptOptions = {}): Promise<DeviceState> {
  const result = await device.shell(discoveryScript(options), { timeoutMs: DISCOVERY_TIMEOUT_MS });
  return parseDiscovery(result.stdout);
}

/** Run a settings script and return the state read back; throws when a write failed. */
async function runSettings(device: DeviceShell, settings: Setting[], options: ConfigureOptions): Promise<DeviceState> {
  const result = await device.shell(settingsScript(settings, options), { timeoutMs: options.timeoutMs ?? CHANGE_TIMEOUT_MS });
  const outcome = parseSettingsOutput(result.stdout, result.stderr);
  if (outcome.failure || !outcome.readback) {
    const f = outcome.failure!;
    throw new ZlabError('device', `${f.label}: ${f.detail}`, { step: f.label, started: outcome.started });
  }
  return outcome.readback;
}

/** Put `settings` back and check that the device shows them. */
async function writeBack(device: DeviceShell, settings: Setting[], options: ConfigureOptions): Promise<void> {
  const state = await runSettings(device, settings, options);
  const mismatches = verifySettings(settings, state);
  if (mismatches.length > 0) {
    throw new ZlabError('device', `restore did not take: ${mismatches.map((m) => `${m.label} reads ${m.actual ?? '(nothing)'}, expected ${m.wanted}`).join('; ')}`);
  }
}

/**
 * Apply a configuration. Unsupported knobs fail before anything changes.
 * On success the configuration stays applied and its snapshot stays pending
 * for restoreConfiguration(); on any failure (a write, the read-back check,
 * a lost connection, SIGINT/SIGTERM) the knobs are put back before this
 * throws.
 */
export async function applyConfiguration(device: DeviceShell, config: Configuration, options: ConfigureOptions = {}): Promise<ApplyReport> {
  const serial = device.serial;
  // Held from the start, so that a signal can never fall between the snapshot and the change.
  const guard: SignalGuard | null = options.handleSignals === false ? null : guardSignals(undefined, options.signalSource);
  try {
    const before = await discoverDevice(device, options);
    const wanted = resolveConfiguration(config, before);
    const previous = loadSnapshot(serial);
    if (guard?.received) throw interrupted(guard.received, 'nothing was changed');
    if (wanted.length === 0) return { serial, kernel: before.kernel, changes: [], snapshot: previous ? snapshotPath(serial) : null, warnings: [] };

    const undo = wanted.map((s) => snapshotSetting(before, s));
    const fresh: Snapshot = { version: 1, serial, takenAt: new Date().toISOString(), kernel: before.kernel, settings: undo };
    const path = saveSnapshot(mergeSnapshot(previous, fresh));
    options.progress?.(`snapshot kept at ${path}; applying ${wanted.length} setting(s) on ${serial}`);

    let failure: unknown = null;
    let after: DeviceState | null = null;
    try {
      after = await runSettings(device, wanted, options);
    } catch (err) {
      failure = err;
    }
    const mismatches = after ? verifySettings(wanted, after) : [];
    if (!failure && mismatches.length > 0) {
      failure = new ZlabError('device', `read-back differs: ${mismatches.map((m) => `${m.label} reads ${m.actual ?? '(nothing)'}, wrote ${m.wanted}`).join('; ')}`);
    }
    if (!failure && guard?.received) failure = interrupted(guard.received, '');
    if (failure) {
      await undoApply(device, undo, previous, options, failure, guard?.received ?? null);
    }
    const readback = after!;
    const warnings: string[] = [];
    const changes = wanted.map((s, i): KnobChange => {
      const now = currentSetting(readback, s);
      if (s.kind === 'zram' && s.setup.maxCompStreams !== null && now?.kind === 'zram' && now.setup.maxCompStreams !== s.setup.maxCompStreams) {
        warnings.push(`${s.label}: max_comp_streams reads ${now.setup.maxCompStreams}: this kernel uses one stream per CPU and ignores the setting`);
      }
      return { knob: s.label, before: describeValue(undo[i]!), after: now ? describeValue(now) : '(unreadable)' };
    });
    return { serial, kernel: readback.kernel, changes, snapshot: path, warnings };
  } finally {
    guard?.release();
  }
}

function interrupted(signal: NodeJS.Signals, outcome: string): ZlabError {
  return new ZlabError('usage', `interrupted by ${signal}${outcome ? `; ${outcome}` : ''}`, { signal });
}

/** After a failed apply: put this apply's knobs back and the pending snapshot as it was, then throw. */
async function undoApply(
  device: DeviceShell,
  undo: Setting[],
  previous: Snapshot | null,
  options: ConfigureOptions,
  failure: unknown,
  signal: NodeJS.Signals | null,
): Promise<never> {
  const serial = device.serial;
  const what = signal ? `interrupted by ${signal}` : `applying the configuration failed: ${errorMessage(failure)}`;
  options.progress?.(`${what}; restoring ${undo.length} setting(s)`);
  try {
    await writeBack(device, undo, options);
  } catch (restoreError) {
    throw new ZlabError(
      signal ? 'usage' : 'device',
      `${what}; restoring also failed (${errorMessage(restoreError)}). The snapshot is kept at ${snapshotPath(serial)}: run \`zlab config restore -s ${serial}\` once the device answers`,
      { serial, signal, snapshot: snapshotPath(serial) },
      { cause: failure },
    );
  }
  if (previous) saveSnapshot(previous);
  else removeSnapshot(serial);
  throw new ZlabError(signal ? 'usage' : 'device', `${what}; the device was restored`, { serial, signal }, { cause: failure });
}

/**
 * Put back every knob of the pending snapshot, if there is one, and forget
 * it. Safe to run again (nothing pending: nothing to do) and after the
 * process that applied was killed or the device reconnected.
 */
export async function restoreConfiguration(device: DeviceShell, options: ConfigureOptions = {}): Promise<RestoreReport> {
  const serial = device.serial;
  const snapshot = loadSnapshot(serial);
  if (!snapshot) return { serial, restored: false, knobs: [] };
  const guard = options.handleSignals === false ? null : guardSignals(undefined, options.signalSource);
  try {
    await writeBack(device, snapshot.settings, options);
  } catch (err) {
    throw new ZlabError('device', `restoring ${serial} failed: ${errorMessage(err)}; the snapshot is kept at ${snapshotPath(serial)}`, { serial }, { cause: err });
  } finally {
    guard?.release();
  }
  removeSnapshot(serial);
  return { serial, restored: true, knobs: snapshot.settings.map((s) => ({ knob: s.label, value: describeValue(s) })) };
}

/**
 * Apply, run `body`, restore, whatever happens in between: the shape every
 * job stage that needs a configured device uses.
 */
export async function withConfiguration<T>(
  device: DeviceShell,
  config: Configuration,
  body: (report: ApplyReport) => Promise<T>,
  options: ConfigureOptions = {},
): Promise<T> {
  const report = await applyConfiguration(device, config, options);
  try {
    return await body(report);
  } finally {
    await restoreConfiguration(device, options);
  }
}

/** The knobs of `settings` that `state` does not show as they are in `settings` (empty = equal). */
export function diffAgainst(settings: Setting[], state: DeviceState): Array<{ knob: string; expected: string; actual: string | null }> {
  return verifySettings(settings, state).map((m) => ({ knob: m.label, expected: m.wanted, actual: m.actual }));
}

