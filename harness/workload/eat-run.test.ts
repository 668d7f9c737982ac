import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { chmod, copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorkloadBinaries } from './device-binaries.js';
import type { ToolDevice } from './device-tools.js';
import { parseEatOptions } from './eat-options.js';
import { runEat } from './eat-run.js';

/**
 * A stand-in for the Device class that runs each command in this host's
 * shell: it isolates runEat's orchestration (push, sampler start/stop, eater,
 * pull, parsing) from adb. The device-gated suite runs the same code on the
 * virtual device.
 */
function hostDevice(log: string[]): ToolDevice {
  const shell = async (command: string) => {
    log.push(command);
    const started = Date.now();
    const r = await execa('sh', ['-c', command], { reject: false });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? 1, durationMs: Date.now() - started };
  };
  return {
    shell,
    run: async (command: string) => {
      const r = await shell(command);
      if (r.exitCode !== 0) throw new Error(`${command}: exit ${r.exitCode}: ${r.stderr}`);
      return r.stdout;
    },
    push: async (local: string, remote: string, options?: { mode?: number }) => {
      await copyFile(local, remote);
      await chmod(remote, options?.mode ?? 0o644);
    },
    pull: async (remote: string, local: string) => copyFile(remote, local),
    abi: async () => 'x86_64' as const,
  };
}

let dir: string;

beforeAll(async () => {
  await buildWorkloadBinaries();
  dir = await mkdtemp(join(tmpdir(), 'zlab-eat-run-'));
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runEat', () => {
  it('runs the eater under the sampler and pulls, parses and summarises both', async () => {
    const log: string[] = [];
    const deviceDir = join(dir, 'device');
    const request = parseEatOptions({ size: '16M', ratio: '3', sameFilled: '10%', zero: '5%', periodMs: '20', holdMs: '1000', retouch: '1', oomScoreAdj: '0' });
    const result = await runEat(hostDevice(log), request, { localDir: join(dir, 'local'), deviceDir });

    expect(result.plan.sizeMib).toBe(16);
    expect(result.summary.pages.written).toBe(4096);
    expect(result.summary.corruptPages).toBe(0);
    expect(result.summary.pages.verified).toBe(4096);
    expect(result.headline.valid).toBe(true);
    expect(result.headline.window.seconds).toBeGreaterThan(0);
    expect(result.record.end?.reason).toBe('SIGTERM');
    expect(result.samePages?.eaterSameFilledSwapped).toBe(result.summary.swappedBeforeRetouch?.sameFilled);
    // the eater (parent and worker) was tracked by name
    expect([...result.record.threads.values()].some((t) => t.processComm === 'memeater')).toBe(true);
    expect(await readdir(join(dir, 'local'))).toEqual(expect.arrayContaining(['sampler.rec', 'eater.json']));
    // the run's folder on the device is gone, the tools stay
    expect((await readdir(deviceDir)).sort()).toEqual(['memeater', 'sampler']);
    // every command that reached the shell was quoted from validated values
    const eaterCommand = log.find((c) => c.includes('/memeater --size-mib'));
    expect(eaterCommand).toMatch(/--size-mib 16 --ratio 3 --zero-pct 5 --same-pct 10 /);
  }, 120_000);

  it('refuses a size above RAM + swap before anything runs on the device', async () => {
    const log: string[] = [];
    await expect(runEat(hostDevice(log), parseEatOptions({ size: '100000G' }), { localDir: join(dir, 'no'), deviceDir: join(dir, 'device2') })).rejects.toThrow(
      /--size: .* is more than RAM \+ swap/,
    );
    expect(log).toEqual(['cat /proc/meminfo /proc/swaps 2>/dev/null || true']);
  });
});
