import { describe, expect, it } from '@jest/globals';
import type { Device } from '../device/device.js';
import type { LoadedPlan } from '../plan/load-plan.js';
import type { PlannedJob } from '../plan/matrix.js';
import { describeEnvironment } from './job-stages.js';

/*
 * The collect stage's record of what a job ran on. A small fake device
 * answers the commands; the knob files' script itself is tested in
 * model/kcompressd-design.test.ts against a folder shaped like /proc.
 */

function fakeDevice(files: Record<string, string>): Device {
  const answers: Record<string, string> = { 'cat /proc/version': 'Linux version 6.12.117\n', 'uname -r': '6.12.117-kcompressd-6.12\n', 'cat /proc/cmdline': 'console=ttyS0\n' };
  const shell = async (command: string) => {
    if (command in answers) return { stdout: answers[command]!, stderr: '', exitCode: 0 };
    // the knob script: one line per file, "<path>=<content>" or "<path> absent"
    const paths = [...command.matchAll(/printf '%s=%s\\n' (\/\S+)/g)].map((m) => m[1]!);
    if (paths.length === 0) return { stdout: '', stderr: `unexpected command: ${command}`, exitCode: 127 };
    return { stdout: paths.map((p) => (p in files ? `${p}=${files[p]}\n` : `${p} absent\n`)).join(''), stderr: '', exitCode: 0 };
  };
  return {
    serial: 'emulator-5554',
    getProperties: async () => ({ 'ro.product.model': 'zlab virtual device', 'ro.build.type': 'userdebug', 'persist.other': 'x' }),
    shell,
    run: async (command: string) => {
      const r = await shell(command);
      if (r.exitCode !== 0) throw new Error(r.stderr);
      return r.stdout;
    },
  } as unknown as Device;
}

const loaded = { plan: { kernels: { kcompressd: { recipe: 'kcompressd-6.12' } }, configurations: { lz4: { zram: { algorithm: 'lz4' } } } } } as unknown as LoadedPlan;
const job = { cell: { kernel: 'kcompressd', configuration: 'lz4' } } as unknown as PlannedJob;

describe("the job's environment", () => {
  it("records the kernel's kcompressd knobs as the run had them", async () => {
    const ctx: Parameters<typeof describeEnvironment>[0] = {
      loaded,
      job,
      device: fakeDevice({ '/proc/sys/vm/kcompressd': '256', '/proc/sys/vm/kcompressd_threads': '1' }),
      progress: () => undefined,
    };
    await describeEnvironment(ctx);
    expect(ctx.environment?.kernel).toMatchObject({ release: '6.12.117-kcompressd-6.12', kcompressd: { queueDepthPerThread: 256, threads: 1 }, spec: { recipe: 'kcompressd-6.12' } });
    expect(ctx.environment?.device).toEqual({ serial: 'emulator-5554', 'ro.product.model': 'zlab virtual device', 'ro.build.type': 'userdebug' });
  });

  it('records null on a stock kernel', async () => {
    const ctx: Parameters<typeof describeEnvironment>[0] = { loaded, job, device: fakeDevice({}), progress: () => undefined };
    await describeEnvironment(ctx);
    expect(ctx.environment?.kernel).toHaveProperty('kcompressd', null);
  });

  it('names knobs it cannot read, and keeps the job going without them', async () => {
    const lines: string[] = [];
    const ctx: Parameters<typeof describeEnvironment>[0] = { loaded, job, device: fakeDevice({ '/proc/sys/vm/kcompressd': '256' }), progress: (l) => lines.push(l) };
    await describeEnvironment(ctx);
    expect(ctx.environment?.kernel).not.toHaveProperty('kcompressd');
    expect(ctx.environment?.kernel.kcompressdError).toMatch(/has \/proc\/sys\/vm\/kcompressd but not \/proc\/sys\/vm\/kcompressd_threads/);
    expect(lines).toEqual([expect.stringMatching(/^kcompressd knobs not recorded: emulator-5554: the kernel has/)]);
  });
});
