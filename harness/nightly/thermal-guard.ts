import { setTimeout as delay } from 'node:timers/promises';
import { ZlabError } from '../util/errors.js';

/**
 * The plan's thermal guard: before a run, wait and cool down below a limit;
 * during a run, stop it when any thermal zone goes above the abort limit — a
 * hot phone throttles, and a throttled run measures the throttling, not the
 * kernel. Devices without thermal zones (the virtual device) only wait the
 * cool-down time and are never aborted.
 */
export interface ThermalSettings {
  cooldownSeconds: number;
  belowCelsius?: number | undefined;
  maxWaitSeconds: number;
  abortAboveCelsius?: number | undefined;
}

/** What the guard needs of a device: one shell command's output. */
export interface ThermalDevice {
  run(command: string): Promise<string>;
}

/** The hottest thermal zone now, in °C, or null on a device without zones. */
export async function hottestZoneCelsius(device: ThermalDevice): Promise<number | null> {
  const out = await device.run('cat /sys/class/thermal/thermal_zone*/temp 2>/dev/null; true');
  const temps = out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((v) => Number.isFinite(v) && v > 0)
    .map((milli) => milli / 1000);
  return temps.length ? Math.max(...temps) : null;
}

export interface GuardTiming {
  /** Between two readings while cooling down and while watching (default 5 s). */
  pollMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Wait the cool-down time, then until every zone is below the limit (at most maxWaitSeconds). */
export async function coolDown(device: ThermalDevice, thermal: ThermalSettings, progress: (line: string) => void, signal: AbortSignal, timing: GuardTiming = {}): Promise<void> {
  const pause = timing.sleep ?? abortableSleep;
  const pollMs = timing.pollMs ?? 5_000;
  await pause(thermal.cooldownSeconds * 1000, signal);
  if (thermal.belowCelsius === undefined) return;
  const deadline = Date.now() + thermal.maxWaitSeconds * 1000;
  for (;;) {
    const hottest = await hottestZoneCelsius(device);
    if (hottest === null || hottest < thermal.belowCelsius) return;
    if (Date.now() >= deadline) {
      throw new ZlabError('device', `still ${hottest.toFixed(1)} °C after ${thermal.maxWaitSeconds} s of cool-down (limit ${thermal.belowCelsius} °C)`);
    }
    progress(`cooling down: ${hottest.toFixed(1)} °C`);
    await pause(pollMs, signal);
    if (signal.aborted) return;
  }
}

export interface TemperatureWatch {
  /** Aborted when the run must stop: the stage's own signal, or the device too hot. */
  readonly signal: AbortSignal;
  /** Stop watching; then throws the thermal abort if it happened. */
  finish(): Promise<void>;
}

/**
 * Watch the hottest zone during a run. Above `limit` the returned signal is
 * aborted (the caller's run stops) and finish() throws a device error naming
 * the temperature. A failed reading is not a reason to abort: the run's own
 * commands report a lost device.
 */
export function watchTemperature(device: ThermalDevice, limit: number, outer: AbortSignal, timing: GuardTiming = {}): TemperatureWatch {
  const pause = timing.sleep ?? abortableSleep;
  const pollMs = timing.pollMs ?? 5_000;
  const controller = new AbortController();
  const stopWatching = new AbortController();
  const onOuter = () => controller.abort(outer.reason);
  if (outer.aborted) onOuter();
  else outer.addEventListener('abort', onOuter, { once: true });
  let tripped: ZlabError | null = null;

  const loop = (async () => {
    while (!stopWatching.signal.aborted && !controller.signal.aborted) {
      const hottest = await hottestZoneCelsius(device).catch(() => null);
      if (hottest !== null && hottest > limit && !stopWatching.signal.aborted) {
        tripped = new ZlabError('device', `thermal abort: the device reached ${hottest.toFixed(1)} °C, above the plan's limit of ${limit} °C (thermal.abortAboveCelsius)`, {
          celsius: hottest,
          limit,
        });
        controller.abort(tripped);
        return;
      }
      await pause(pollMs, stopWatching.signal);
    }
  })();

  return {
    signal: controller.signal,
    async finish() {
      stopWatching.abort();
      outer.removeEventListener('abort', onOuter);
      await loop;
      if (tripped) throw tripped;
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
