import { describe, expect, it } from '@jest/globals';
import { ZlabError } from '../util/errors.js';
import { coolDown, hottestZoneCelsius, watchTemperature, type ThermalDevice } from './thermal-guard.js';

/** A device whose thermal zones read the next entry of `readings` each time (the last one repeats). */
function zones(readings: Array<string | Error>): ThermalDevice & { reads: number } {
  const device = {
    reads: 0,
    async run(command: string) {
      expect(command).toContain('/sys/class/thermal/thermal_zone*/temp');
      const value = readings[Math.min(device.reads, readings.length - 1)]!;
      device.reads++;
      if (value instanceof Error) throw value;
      return value;
    },
  };
  return device;
}

// Yields to timers between readings, as a real sleep does.
const instant = { pollMs: 1, sleep: () => new Promise<void>((resolve) => setImmediate(resolve)) };
const never = new AbortController().signal;

describe('the thermal guard', () => {
  it('reads the hottest zone in °C and null without zones', async () => {
    expect(await hottestZoneCelsius(zones(['41000\n52500\n38000\n']))).toBe(52.5);
    expect(await hottestZoneCelsius(zones(['']))).toBeNull();
  });

  it('cools down until every zone is below the limit, saying so', async () => {
    const device = zones(['47000\n', '46000\n', '39000\n']);
    const lines: string[] = [];
    await coolDown(device, { cooldownSeconds: 0, belowCelsius: 40, maxWaitSeconds: 60 }, (l) => lines.push(l), never, instant);
    expect(lines).toEqual(['cooling down: 47.0 °C', 'cooling down: 46.0 °C']);
    expect(device.reads).toBe(3);
  });

  it('stops waiting the cool-down time when the stage is aborted', async () => {
    const stage = new AbortController();
    const waiting = coolDown(zones(['']), { cooldownSeconds: 3600, maxWaitSeconds: 0 }, () => undefined, stage.signal);
    stage.abort(new Error('stage timed out'));
    await expect(waiting).resolves.toBeUndefined();
  });

  it('gives up cooling down after maxWaitSeconds with a device error', async () => {
    await expect(coolDown(zones(['60000\n']), { cooldownSeconds: 0, belowCelsius: 40, maxWaitSeconds: 0 }, () => undefined, never, instant)).rejects.toThrow(
      'still 60.0 °C after 0 s of cool-down (limit 40 °C)',
    );
  });

  it('aborts a run above the limit and names the temperature', async () => {
    const device = zones(['45000\n', '45000\n', '71200\n']);
    const watch = watchTemperature(device, 70, never, instant);
    // The "run": waits until the watch aborts it.
    const run = new Promise<void>((_, reject) => watch.signal.addEventListener('abort', () => reject(new Error('eater stream closed'))));
    await expect(run).rejects.toThrow('eater stream closed');
    const err = await watch.finish().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZlabError);
    expect((err as ZlabError).kind).toBe('device');
    expect((err as Error).message).toBe("thermal abort: the device reached 71.2 °C, above the plan's limit of 70 °C (thermal.abortAboveCelsius)");
  });

  it('leaves a cool run alone, ignores a failed reading, and passes the stage signal on', async () => {
    const device = zones([new Error('device offline'), '30000\n']);
    const outer = new AbortController();
    const watch = watchTemperature(device, 70, outer.signal, instant);
    while (device.reads < 3) await new Promise((r) => setTimeout(r, 1));
    expect(watch.signal.aborted).toBe(false);
    outer.abort(new Error('stage timed out'));
    expect(watch.signal.aborted).toBe(true);
    await expect(watch.finish()).resolves.toBeUndefined();
  });
});
