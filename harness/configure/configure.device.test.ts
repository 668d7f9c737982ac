import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeOnDevice } from '../testing/on-device.js';
import { applyConfiguration, diffAgainst, discoverDevice, restoreConfiguration } from './apply-configuration.js';
import { parse as parseYaml } from 'yaml';
import { parseConfiguration } from './config-schema.js';
import type { DeviceShell } from './device-shell.js';
import { knobSummary, type DeviceState } from './device-state.js';
import { loadSnapshot, snapshotPath } from './snapshot-store.js';

const ISSUE_YAML = 'zram:\n  algorithm: lz4\n  disksize: 2G\nvm:\n  swappiness: 100\n  page_cluster: 0\n';
const GIB = 1024 ** 3;
const CLI = resolve(process.cwd(), 'bin/zlab.js');

await describeOnDevice('device configuration', { requires: { root: true, zram: true, algorithms: ['lz4'] } }, (device) => {
  let stateDir: string;
  const previousStateDir = process.env.ZLAB_STATE_DIR;
  const children: ResultPromise[] = [];

  beforeAll(() => {
    // Snapshots of this suite stay apart from the lab's and the virtual device's state.
    stateDir = mkdtempSync(join(tmpdir(), 'zlab-configure-device-'));
    process.env.ZLAB_STATE_DIR = stateDir;
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    // Whatever a failed test left behind goes back before the next suite.
    await restoreConfiguration(device, { handleSignals: false }).catch(() => undefined);
    if (previousStateDir === undefined) delete process.env.ZLAB_STATE_DIR;
    else process.env.ZLAB_STATE_DIR = previousStateDir;
    rmSync(stateDir, { recursive: true, force: true });
  });

  function zlab(args: string[]): ResultPromise {
    const server = process.env.ZLAB_ADB_SERVER ? ['--adb-server', process.env.ZLAB_ADB_SERVER] : [];
    // No forced SIGKILL 5 s after a SIGTERM: the restore it triggers may take longer on a busy host.
    const child = execa('node', [CLI, ...args, ...server], { reject: false, env: { ZLAB_STATE_DIR: stateDir }, timeout: 180_000, forceKillAfterDelay: false });
    children.push(child);
    return child;
  }

  function issueFile(): string {
    const file = join(stateDir, 'issue.yaml');
    writeFileSync(file, ISSUE_YAML);
    return file;
  }

  /** Resolve once the child says on stderr that the device is being changed. */
  function applying(child: ResultPromise): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      let seen = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (/applying \d+ setting/.test(seen)) resolvePromise();
      });
      child.then(() => reject(new Error(`zlab exited before applying: ${seen}`)), reject);
    });
  }

  function expectIssueApplied(state: DeviceState): void {
    const zram0 = state.zram.find((z) => z.index === 0)!;
    expect(zram0).toMatchObject({ algorithm: 'lz4', disksize: 2 * GIB });
    expect(zram0.swap).not.toBeNull();
    expect(state.swaps.find((s) => s.path.endsWith('/zram0'))?.sizeKiB).toBeGreaterThan(2 * 1024 * 1024 - 8);
    expect(state.sysctls).toMatchObject({ swappiness: '100', 'page-cluster': '0' });
  }

  it('applies the issue configuration in one round trip, reads it back, and restores to an empty diff', async () => {
    let calls = 0;
    const counting: DeviceShell = {
      serial: device.serial,
      shell: (command, options) => {
        calls++;
        return device.shell(command, options);
      },
    };
    const before = await discoverDevice(device);
    const withGovernor = before.cpufreq.length > 0 ? { cpufreq: { all: { governor: before.cpufreq[0]!.governors.includes('performance') ? 'performance' : before.cpufreq[0]!.governors[0]! } } } : {};
    const config = parseConfiguration({ ...(parseYaml(ISSUE_YAML) as Record<string, unknown>), ...withGovernor });

    const report = await applyConfiguration(counting, config, { handleSignals: false });
    // One round trip to discover and snapshot, one to change and read back.
    expect(calls).toBe(2);
    expect(report.changes.map((c) => c.knob)).toEqual(expect.arrayContaining(['zram0', 'vm.swappiness', 'vm.page_cluster']));
    const applied = await discoverDevice(device);
    expectIssueApplied(applied);
    if (before.cpufreq.length > 0) expect(applied.cpufreq.every((p) => p.governor === config.cpufreq!.all!.governor)).toBe(true);

    const snapshot = loadSnapshot(device.serial)!;
    expect(snapshot.settings.find((s) => s.kind === 'zram')).toMatchObject({ setup: { disksize: before.zram[0]!.disksize, algorithm: before.zram[0]!.algorithm } });
    await restoreConfiguration(device, { handleSignals: false });
    const after = await discoverDevice(device);
    expect(diffAgainst(snapshot.settings, after)).toEqual([]);
    expect(knobSummary(after)).toEqual(knobSummary(before));
    expect(loadSnapshot(device.serial)).toBeNull();
  }, 180_000);

  it('refuses what the device lacks before any change (a CPU governor without cpufreq, an algorithm it does not offer)', async () => {
    const before = await discoverDevice(device);
    const unsupported = before.cpufreq.length === 0 ? { cpufreq: { all: { governor: 'performance' } } } : { zram: { algorithm: 'no-such-alg' } };
    const message = before.cpufreq.length === 0 ? /cpufreq: not supported on this device/ : /zram\.algorithm: "no-such-alg" is not offered/;
    await expect(applyConfiguration(device, parseConfiguration({ ...(parseYaml(ISSUE_YAML) as Record<string, unknown>), ...unsupported }), { handleSignals: false })).rejects.toThrow(message);
    expect(knobSummary(await discoverDevice(device))).toEqual(knobSummary(before));
    expect(loadSnapshot(device.serial)).toBeNull();
  }, 120_000);

  it('restores with `zlab config restore` after `zlab config apply` was killed half-way', async () => {
    const before = await discoverDevice(device);
    const apply = zlab(['config', 'apply', '-s', device.serial, issueFile()]);
    await applying(apply);
    // The snapshot is on disk and the script is running: kill -9 now.
    await new Promise((r) => setTimeout(r, 200));
    apply.kill('SIGKILL');
    await apply;
    expect(existsSync(snapshotPath(device.serial))).toBe(true);
    const snapshot = loadSnapshot(device.serial)!;

    const restore = await zlab(['config', 'restore', '-s', device.serial, '--json']);
    expect(restore.stderr).toBe('');
    expect(restore.exitCode).toBe(0);
    expect(JSON.parse(restore.stdout as string)).toMatchObject({ serial: device.serial, restored: true });
    const after = await discoverDevice(device);
    expect(diffAgainst(snapshot.settings, after)).toEqual([]);
    expect(knobSummary(after)).toEqual(knobSummary(before));

    // Restore again: nothing pending, nothing changes.
    const again = await zlab(['config', 'restore', '-s', device.serial, '--json']);
    expect(JSON.parse(again.stdout as string)).toMatchObject({ restored: false });
  }, 180_000);

  it('restores by itself on SIGTERM during `zlab config apply` and exits 143', async () => {
    const before = await discoverDevice(device);
    const apply = zlab(['config', 'apply', '-s', device.serial, issueFile()]);
    await applying(apply);
    apply.kill('SIGTERM');
    const result = await apply;
    expect({ exitCode: result.exitCode, signal: result.signal }).toEqual({ exitCode: 143, signal: undefined });
    expect(result.stderr).toMatch(/interrupted by SIGTERM; the device was restored/);
    expect(existsSync(snapshotPath(device.serial))).toBe(false);
    expect(knobSummary(await discoverDevice(device))).toEqual(knobSummary(before));
  }, 180_000);

  it('shows what the device offers from the command line', async () => {
    const show = await zlab(['config', 'show', '-s', device.serial, '--json']);
    expect(show.stderr).toBe('');
    const view = JSON.parse(show.stdout as string);
    expect(view).toMatchObject({ serial: device.serial, zram: [expect.objectContaining({ index: 0 })], sysctls: expect.objectContaining({ swappiness: expect.any(String) }) });
    expect(view.files).toBeUndefined();
  }, 120_000);

  it('shows and sets zram from the command line', async () => {
    const show = await zlab(['zram', 'show', '-s', device.serial, '--json']);
    expect(show.exitCode).toBe(0);
    const view = JSON.parse(show.stdout as string);
    expect(view.zram[0]).toMatchObject({ device: 'zram0', algorithms: expect.arrayContaining(['lz4']) });

    const other = (view.zram[0].algorithms as string[]).find((a) => a !== view.zram[0].algorithm) ?? 'lz4';
    const set = await zlab(['zram', 'set', '-s', device.serial, '--algorithm', other, '--disksize', '512M', '--json']);
    expect(set.stderr).not.toMatch(/error/);
    expect(set.stderr).toMatch(/applying 1 setting\(s\)/);
    expect(JSON.parse(set.stdout as string).changes[0]).toMatchObject({ knob: 'zram0', after: expect.stringMatching(new RegExp(`^${other}, disksize 536870912, swap`)) });
    const restore = await zlab(['config', 'restore', '-s', device.serial, '--json']);
    expect(JSON.parse(restore.stdout as string)).toMatchObject({ restored: true });
  }, 180_000);
});
