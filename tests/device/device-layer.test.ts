import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../../harness/device/device.js';
import { DeviceTimeoutError } from '../../harness/device/device-errors.js';
import { shellCommand } from '../../harness/device/shell-quote.js';
import { runDoctor } from '../../harness/doctor/doctor.js';
import { describeOnDevice } from '../../harness/testing/on-device.js';

await describeOnDevice('device layer', { requires: { root: true } }, (device) => {
  let scratch: string;
  const remoteDir = '/data/local/tmp/zlab-device-layer';

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'zlab-device-layer-'));
    await device.run(shellCommand(['mkdir', '-p', remoteDir]));
  });
  afterAll(async () => {
    await device.run(shellCommand(['rm', '-rf', remoteDir]));
    rmSync(scratch, { recursive: true, force: true });
  });

  it('returns the exit status, and keeps stdout and stderr apart', async () => {
    expect((await device.shell('exit 7')).exitCode).toBe(7);
    const result = await device.shell('echo out; echo err >&2; exit 3');
    expect(result).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
  });

  it('passes standard input and closes it', async () => {
    const input = randomBytes(200_000).toString('base64');
    const result = await device.shell('wc -c', { stdin: input });
    expect(Number(result.stdout.trim())).toBe(input.length);
  });

  it('throws a command error carrying serial, command, status and output from run()', async () => {
    await expect(device.run('echo nope >&2; exit 4')).rejects.toMatchObject({ serial: device.serial, exitCode: 4, stderr: 'nope\n' });
  });

  it('ends a command that overruns its timeout', async () => {
    await expect(device.shell('sleep 30', { timeoutMs: 500 })).rejects.toBeInstanceOf(DeviceTimeoutError);
    // The device still answers afterwards.
    expect((await device.shell('echo alive')).stdout).toBe('alive\n');
  });

  it('pushes and pulls 32 MiB with the same sha256 on both sides', async () => {
    const local = join(scratch, 'random.bin');
    writeFileSync(local, randomBytes(32 * 1024 * 1024));
    await device.push(local, `${remoteDir}/random.bin`);
    const back = join(scratch, 'back.bin');
    await device.pull(`${remoteDir}/random.bin`, back);
    expect(await sha256File(back)).toBe(await sha256File(local));
    const remoteSha = (await device.run(shellCommand(['sha256sum', `${remoteDir}/random.bin`]))).split(/\s+/)[0];
    expect(remoteSha).toBe(await sha256File(local));
  }, 180_000);

  it('fails a pull of a missing file without leaving a partial file', async () => {
    const target = join(scratch, 'missing.bin');
    await expect(device.pull(`${remoteDir}/does-not-exist`, target)).rejects.toThrow(/does-not-exist/);
    expect(() => readFileSync(target)).toThrow();
  });

  it('reads properties, the ABI and root', async () => {
    const props = await device.getProperties();
    expect(props['ro.product.model']).toBeTruthy();
    expect(['x86_64', 'arm64-v8a']).toContain(await device.abi());
    await device.root();
    expect(await device.getprop('sys.boot_completed')).toBe('1');
  });

  it('is judged by the doctor: zram, swap and PSI present', async () => {
    const report = await runDoctor(device);
    const verdict = Object.fromEntries(report.checks.map((c) => [c.name, c.verdict]));
    expect(verdict).toMatchObject({ root: 'ok', zram: 'ok', swap: 'ok', psi: 'ok', kswapd: 'ok' });
  });
});
