import { beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import type { DeviceAbi } from '../device/device.js';
import { buildWorkloadBinaries, hostRunner } from '../workload/device-binaries.js';

// readcost (the floor under the sampler's cost in `npm run bench`) on this
// host: the x86_64 build natively, the arm64 build under qemu-aarch64.
let bins: Awaited<ReturnType<typeof buildWorkloadBinaries>>;

beforeAll(async () => {
  bins = await buildWorkloadBinaries(['readcost']);
}, 120_000);

function readcost(abi: DeviceAbi, args: string[]) {
  const [cmd, pre] = hostRunner(abi, bins[abi].readcost);
  return execa(cmd, [...pre, ...args], { reject: false, timeout: 30_000 });
}

describe.each<DeviceAbi>(['x86_64', 'arm64-v8a'])('readcost (%s)', (abi) => {
  it('reads the files every period for the duration and reports its own CPU', async () => {
    const res = await readcost(abi, ['--period-ms', '10', '--duration-ms', '300', '/proc/vmstat', '/proc/meminfo']);
    expect(res.exitCode).toBe(0);
    const out = JSON.parse(res.stdout) as Record<string, number | string>;
    expect(out).toMatchObject({ tool: 'readcost', periodMs: 10, files: 2, samples: 30 });
    // it slept between reads: 30 periods of 10 ms take about 300 ms
    expect(out.elapsedNs as number).toBeGreaterThanOrEqual(290e6);
    expect(out.cpuUs as number).toBeGreaterThanOrEqual(0);
    // both files were read whole each time (vmstat alone is kilobytes)
    expect(out.bytesPerSample as number).toBeGreaterThan(2000);
  });

  it('with no files only wakes up', async () => {
    const res = await readcost(abi, ['--period-ms', '20', '--duration-ms', '100']);
    expect(JSON.parse(res.stdout)).toMatchObject({ files: 0, samples: 5, bytesPerSample: 0 });
  });

  it('refuses bad usage and a file it cannot open, naming it', async () => {
    const missing = await readcost(abi, ['--period-ms', '10', '--duration-ms', '100', '/proc/no-such-source']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/cannot open \/proc\/no-such-source/);
    const period = await readcost(abi, ['--period-ms', '0', '--duration-ms', '100']);
    expect(period.exitCode).toBe(2);
    expect(period.stderr).toMatch(/--period-ms: "0" is not a whole number/);
    expect((await readcost(abi, ['--duration-ms', '100'])).exitCode).toBe(2);
  });
});
