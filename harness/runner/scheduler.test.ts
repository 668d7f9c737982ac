import { describe, expect, it } from '@jest/globals';
import { type JobAttempt, runSchedule } from './scheduler.js';

interface TestJob {
  key: string;
  onlyOn?: string;
  matches(deviceId: string): boolean;
}

const job = (key: string, onlyOn?: string): TestJob => ({ key, onlyOn, matches: (id) => !onlyOn || id === onlyOn });

describe('runSchedule', () => {
  it('keeps the planned order on one device and never runs two jobs on a device at once', async () => {
    const order: string[] = [];
    const busy = new Set<string>();
    const jobs = ['A1', 'B1', 'A2', 'B2'].map((k) => job(k));
    await runSchedule(jobs, ['dev1'], async (j, device) => {
      expect(busy.has(device)).toBe(false);
      busy.add(device);
      order.push(j.key);
      await new Promise((r) => setTimeout(r, 2));
      busy.delete(device);
      return { ok: true };
    });
    expect(order).toEqual(['A1', 'B1', 'A2', 'B2']);
  });

  it('spreads jobs over devices in parallel and respects selectors', async () => {
    const ranOn: Record<string, string> = {};
    let concurrent = 0;
    let peak = 0;
    const jobs = [job('x1', 'phone'), job('x2'), job('x3'), job('x4', 'vm')];
    const records = await runSchedule(jobs, ['phone', 'vm'], async (j, device) => {
      concurrent++;
      peak = Math.max(peak, concurrent);
      ranOn[j.key] = device;
      await new Promise((r) => setTimeout(r, 10));
      concurrent--;
      return { ok: true };
    });
    expect(records).toHaveLength(4);
    expect(peak).toBe(2);
    expect(ranOn.x1).toBe('phone');
    expect(ranOn.x4).toBe('vm');
  });

  it('retries infrastructure faults only', async () => {
    const calls: Record<string, number> = {};
    const outcomes: Record<string, JobAttempt[]> = {
      flaky: [{ ok: false, failureKind: 'infrastructure' }, { ok: true }],
      broken: [{ ok: false, failureKind: 'kernel' }, { ok: true }],
    };
    const records = await runSchedule([job('flaky'), job('broken')], ['d'], async (j) => {
      const n = (calls[j.key] = (calls[j.key] ?? 0) + 1);
      return outcomes[j.key]![n - 1]!;
    });
    expect(calls).toEqual({ flaky: 2, broken: 1 });
    expect(records.map((r) => [r.job.key, r.ok, r.attempts])).toEqual([
      ['flaky', true, 2],
      ['broken', false, 1],
    ]);
  });

  it('refuses a plan whose job no device can run', async () => {
    await expect(runSchedule([job('j', 'absent')], ['d'], async () => ({ ok: true }))).rejects.toThrow(/no device can run 1 job/);
  });

  it('starts no new job once interrupted, and reports progress with an ETA', async () => {
    const controller = new AbortController();
    const progress: Array<number | undefined> = [];
    const records = await runSchedule(
      [job('1'), job('2'), job('3')],
      ['d'],
      async () => {
        await new Promise((r) => setTimeout(r, 5));
        controller.abort();
        return { ok: true };
      },
      { signal: controller.signal, onProgress: (p) => progress.push(p.etaSeconds) },
    );
    expect(records).toHaveLength(1);
    expect(progress.at(-1)).toBeGreaterThanOrEqual(0);
  });
});
