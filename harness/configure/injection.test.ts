import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTemporaryStateDir } from '../testing/temporary-state-dir.js';
import { applyConfiguration, discoverDevice, restoreConfiguration } from './apply-configuration.js';
import { parseConfiguration } from './config-schema.js';
import { createFakeDeviceRoot, type FakeDeviceRoot } from './fake-device-root.js';
import { injectionPayloads } from './injection-payloads.js';
import { parseSettingsOutput, settingsScript } from './settings-script.js';
import type { Setting } from './settings.js';
import { loadSnapshot, snapshotPath } from './snapshot-store.js';

/*
 * The second line of defence: even values that never passed a schema (what a
 * hostile or broken device reports, a tampered snapshot) reach the device
 * shell only as data. Scripts run in the host's real sh against a fake
 * device tree; an injection would create a marker file.
 */

let fake: FakeDeviceRoot;
let marker: string;
const opts = () => ({ root: fake.root, handleSignals: false });

beforeEach(() => {
  fake = createFakeDeviceRoot({ cpufreq: true, devfreq: true, selinux: true, lmkd: true });
  marker = join(fake.base, 'pwned');
});

afterEach(() => {
  fake.cleanup();
});
useTemporaryStateDir('zlab-state-');

function expectNothingRan(): void {
  expect(existsSync(marker)).toBe(false);
  expect(readdirSync(fake.base).filter((f) => f === 'pwned')).toEqual([]);
}

describe('generated scripts carry hostile values only as data', () => {
  it('the marker check sees an injection when one happens (control)', async () => {
    await fake.device.shell(`printf '%s\\n' $(touch pwned)`);
    expect(existsSync(marker)).toBe(true);
  });

  // Relative to the shell's working directory, the fixture folder.
  const all = injectionPayloads('pwned');
  const payloads = all.filter((p) => !p.includes('\0') && p.length < 4096);

  it.each(payloads.map((p) => [JSON.stringify(p.slice(0, 40)), p]))('a file value %s is written literally', async (_name, payload) => {
    const setting: Setting = { kind: 'file', label: `label ${payload}`, path: '/proc/sys/vm/swappiness', value: payload };
    const result = await fake.device.shell(settingsScript([setting], { root: fake.root }));
    expectNothingRan();
    expect(parseSettingsOutput(result.stdout).failure).toBeNull();
    expect(fake.read('proc/sys/vm/swappiness')).toBe(`${payload}\n`);
  });

  it.each(payloads.map((p) => [JSON.stringify(p.slice(0, 40)), p]))('zram fields and paths %s never run', async (_name, payload) => {
    const settings: Setting[] = [
      {
        kind: 'zram',
        label: payload,
        index: 0,
        setup: { algorithm: payload, params: { dict: payload, level: 1 }, maxCompStreams: 2, disksize: 4096, memLimit: 4096, backingDev: payload, swap: { priority: 'auto' } },
      },
      { kind: 'range', label: payload, dir: `/sys/class/devfreq/${payload}`, minFile: payload, maxFile: payload, ceiling: 1, min: 1, max: 1 },
      { kind: 'file', label: payload, path: `/sys/${payload}`, value: payload },
    ];
    for (const s of settings) {
      await fake.device.shell(settingsScript([s], { root: fake.root }));
      expectNothingRan();
    }
    // The algorithm went into comp_algorithm as the bytes given.
    expect(fake.read('sys/block/zram0/comp_algorithm')).toBe(`${payload}\n`);
  });

  it('refuses a NUL byte outright, and a script too long for one adb command', () => {
    const setting: Setting = { kind: 'file', label: 'x', path: '/proc/sys/vm/swappiness', value: 'a\0b' };
    expect(() => settingsScript([setting])).toThrow(/NUL/);
    const long = all.find((p) => p.length >= 100_000)!;
    expect(() => settingsScript([{ ...setting, value: long }])).toThrow(/too long/);
  });
});

describe('a hostile device', () => {
  it('cannot inject through values it reports: they are snapshotted and restored as data', async () => {
    const hostile = '$(touch pwned)`touch pwned`;touch pwned';
    fake.write('sys/devices/system/cpu/cpufreq/policy0/scaling_governor', hostile);
    fake.write('proc/sys/vm/swappiness', `60;touch pwned`);
    await applyConfiguration(fake.device, parseConfiguration({ cpufreq: { all: { governor: 'performance' } }, vm: { swappiness: 10 } }), opts());
    expectNothingRan();
    expect(loadSnapshot(fake.device.serial)!.settings).toContainEqual(expect.objectContaining({ value: hostile }));
    await restoreConfiguration(fake.device, opts());
    expectNothingRan();
    expect(fake.read('sys/devices/system/cpu/cpufreq/policy0/scaling_governor')).toBe(`${hostile}\n`);
    expect(fake.read('proc/sys/vm/swappiness')).toBe('60;touch pwned\n');
  });

  it('cannot inject through the names of its devices; discovery reads them and apply refuses them before any change', async () => {
    const dir = join(fake.root, 'sys/class/devfreq/$(touch pwned)');
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries({ governor: 'simple_ondemand', available_governors: 'performance simple_ondemand', min_freq: '1', max_freq: '2' })) {
      writeFileSync(join(dir, file), `${content}\n`);
    }
    const state = await discoverDevice(fake.device, opts());
    expect(state.devfreq.map((d) => d.name)).toContain('$(touch pwned)');
    await expect(applyConfiguration(fake.device, parseConfiguration({ devfreq: { all: { governor: 'performance' } } }), opts())).rejects.toThrow(
      /cannot keep a snapshot .*not a \/sys or \/proc path.*nothing was changed/,
    );
    expectNothingRan();
    expect(fake.read('sys/class/devfreq/gpu/governor')).toBe('simple_ondemand\n');
    expect(existsSync(snapshotPath(fake.device.serial))).toBe(false);
  });

  it('cannot inject through a tampered snapshot: bad shapes are refused, odd text stays data', async () => {
    const path = snapshotPath(fake.device.serial);
    const write = (settings: unknown[]) =>
      writeFileSync(path, JSON.stringify({ version: 1, serial: fake.device.serial, takenAt: 'now', kernel: null, settings }));

    write([{ kind: 'file', label: 'x', path: '/proc/sys/vm/swappiness', value: 'a\ntouch pwned' }]);
    await expect(restoreConfiguration(fake.device, opts())).rejects.toThrow(/not a valid snapshot.*must be one line of text/);
    write([{ kind: 'file', label: 'x', path: '/proc/sys/vm/$(touch pwned)', value: '1' }]);
    await expect(restoreConfiguration(fake.device, opts())).rejects.toThrow(/not a \/sys or \/proc path/);
    write([{ kind: 'zram', label: 'x', index: 0, setup: { algorithm: 'lz4;touch pwned', params: null, maxCompStreams: null, disksize: 1, memLimit: 0, backingDev: null, swap: null } }]);
    await expect(restoreConfiguration(fake.device, opts())).rejects.toThrow(/not a valid snapshot/);
    expectNothingRan();

    write([{ kind: 'file', label: '`touch pwned`', path: '/proc/sys/vm/swappiness', value: '$(touch pwned)' }]);
    await restoreConfiguration(fake.device, opts());
    expectNothingRan();
    expect(fake.read('proc/sys/vm/swappiness')).toBe('$(touch pwned)\n');
  });
});
