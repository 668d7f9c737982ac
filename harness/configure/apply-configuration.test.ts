import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { useTemporaryStateDir } from '../testing/temporary-state-dir.js';
import { ZlabError } from '../util/errors.js';
import { applyConfiguration, diffAgainst, discoverDevice, restoreConfiguration, withConfiguration } from './apply-configuration.js';
import { parseConfiguration, parseConfigurationText } from './config-schema.js';
import type { DeviceShell } from './device-shell.js';
import { knobSummary } from './device-state.js';
import { createFakeDeviceRoot, type FakeDeviceRoot, type FakeDeviceShape } from './fake-device-root.js';
import { loadSnapshot, snapshotPath } from './snapshot-store.js';

const ISSUE_YAML = 'zram:\n  algorithm: lz4\n  disksize: 2G\nvm:\n  swappiness: 100\n  page_cluster: 0\n';

const knobView = knobSummary;

useTemporaryStateDir('zlab-state-');
let fake: FakeDeviceRoot;
const opts = () => ({ root: fake.root, handleSignals: false });

function setup(shape: FakeDeviceShape = {}): FakeDeviceRoot {
  fake = createFakeDeviceRoot(shape);
  return fake;
}

/** A device whose Nth round trip (1-based) is replaced by `hook`. */
function interceptCall(device: DeviceShell, n: number, hook: (command: string, real: DeviceShell['shell']) => ReturnType<DeviceShell['shell']>): DeviceShell {
  let count = 0;
  return {
    serial: device.serial,
    shell: (command, options) => (++count === n ? hook(command, device.shell.bind(device)) : device.shell(command, options)),
  };
}

afterEach(() => {
  fake?.cleanup();
});

describe('applyConfiguration', () => {
  it('applies the issue configuration in one round trip after discovery, and reads it back', async () => {
    setup();
    const report = await applyConfiguration(fake.device, parseConfigurationText(ISSUE_YAML), opts());
    // Round trip 1 discovers, round trip 2 changes and reads back: nothing else.
    expect(fake.device.calls).toHaveLength(2);
    expect(fake.device.calls[1]).toMatch(/printf 'applied\\n'/);
    expect(report.changes).toEqual([
      { knob: 'zram0', before: 'lz4, disksize 1073741824, swap prio -2', after: 'lz4, disksize 2147483648, swap prio -2' },
      { knob: 'vm.swappiness', before: '60', after: '100' },
      { knob: 'vm.page_cluster', before: '3', after: '0' },
    ]);
    expect(fake.read('sys/block/zram0/disksize').trim()).toBe('2147483648');
    expect(fake.read('proc/sys/vm/swappiness').trim()).toBe('100');
    expect(fake.read('proc/sys/vm/page-cluster').trim()).toBe('0');
    expect(fake.commandLog()).toEqual([`swapoff ${fake.root}/dev/zram0`, `mkswap ${fake.root}/dev/zram0`, `swapon ${fake.root}/dev/zram0`]);
    expect(report.snapshot).toBe(snapshotPath(fake.device.serial));
  });

  it('orders the zram steps: swapoff, reset, algorithm, disksize, mkswap, swapon', async () => {
    setup();
    await applyConfiguration(fake.device, parseConfiguration({ zram: { algorithm: 'zstd', disksize: '1G', priority: 7 } }), opts());
    const script = fake.device.calls[1]!;
    const at = (needle: string) => {
      const i = script.indexOf(needle);
      expect(i).toBeGreaterThan(-1);
      return i;
    };
    const order = [at('swapoff'), at('zram0/reset'), at('zram0/comp_algorithm zstd'), at('zram0/disksize 1073741824'), at('mkswap'), at('swapon -p 7')];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(fake.read('proc/swaps')).toMatch(/\/dev\/zram0\s+partition\s+\d+\s+0\s+7/);
  });

  it('persists the snapshot before the device changes', async () => {
    setup();
    let seen: unknown = null;
    const device = interceptCall(fake.device, 2, (command, real) => {
      seen = loadSnapshot(fake.device.serial);
      expect(fake.read('proc/sys/vm/swappiness').trim()).toBe('60');
      return real(command);
    });
    await applyConfiguration(device, parseConfigurationText(ISSUE_YAML), opts());
    expect(seen).toMatchObject({
      serial: fake.device.serial,
      settings: [
        { kind: 'zram', setup: { algorithm: 'lz4', disksize: 1073741824, swap: { priority: -2 } } },
        { kind: 'file', path: '/proc/sys/vm/swappiness', value: '60' },
        { kind: 'file', path: '/proc/sys/vm/page-cluster', value: '3' },
      ],
    });
    // Written atomically: no temporary file is left beside it.
    expect(readFileSync(snapshotPath(fake.device.serial), 'utf8')).toMatch(/"version": 1/);
  });

  it('restores every touched knob exactly (empty diff), and a second restore has nothing to do', async () => {
    setup({ cpufreq: true, devfreq: true, kcompressdSysctl: true, selinux: true, lmkd: true });
    const before = await discoverDevice(fake.device, opts());
    const config = parseConfiguration({
      ...(parseYaml(ISSUE_YAML) as object),
      zswap: { enabled: true, compressor: 'lz4', max_pool_percent: 30, shrinker: true },
      kcompressd: { queue_depth: 64, threads: 2 },
      cpufreq: { all: { governor: 'performance', pin: '1GHz' } },
      devfreq: { gpu: { min: '300MHz' } },
      android: { lmkd: 'stop', selinux: 'permissive' },
    });
    const report = await applyConfiguration(fake.device, config, opts());
    expect(report.changes.map((c) => c.knob)).toEqual([
      'android.lmkd', 'android.selinux', 'zswap.enabled', 'zswap.compressor', 'zswap.max_pool_percent', 'zswap.shrinker', 'zram0',
      'vm.swappiness', 'vm.page_cluster', 'kcompressd.queue_depth', 'kcompressd.threads', 'cpufreq.policy0.governor', 'cpufreq.policy0', 'devfreq.gpu',
    ]);
    const applied = await discoverDevice(fake.device, opts());
    expect(knobView(applied)).not.toEqual(knobView(before));
    expect(applied.cpufreq[0]).toMatchObject({ governor: 'performance', min: 1000000, max: 1000000 });

    const snapshot = loadSnapshot(fake.device.serial)!;
    const restored = await restoreConfiguration(fake.device, opts());
    expect(restored.restored).toBe(true);
    const after = await discoverDevice(fake.device, opts());
    expect(diffAgainst(snapshot.settings, after)).toEqual([]);
    expect(knobView(after)).toEqual(knobView(before));
    expect(existsSync(snapshotPath(fake.device.serial))).toBe(false);

    const calls = fake.device.calls.length;
    expect(await restoreConfiguration(fake.device, opts())).toEqual({ serial: fake.device.serial, restored: false, knobs: [] });
    expect(fake.device.calls).toHaveLength(calls);
  });

  it('fails an unsupported knob before any change, naming what the device offers', async () => {
    setup();
    const before = await discoverDevice(fake.device, opts());
    const config = parseConfiguration({ ...(parseYaml(ISSUE_YAML) as object), cpufreq: { all: { governor: 'performance' } } });
    await expect(applyConfiguration(fake.device, config, opts())).rejects.toThrow(
      /nothing was changed\): cpufreq: not supported on this device \(nothing under \/sys\/devices\/system\/cpu\/cpufreq\/policy\*\)/,
    );
    await expect(applyConfiguration(fake.device, parseConfiguration({ zram: { algorithm: 'deflate' } }), opts())).rejects.toThrow(
      /zram\.algorithm: "deflate" is not offered by zram0 on this kernel; it offers lzo, lzo-rle, lz4, zstd/,
    );
    // Only discoveries ran; the device and the snapshot store are as they were.
    expect(fake.device.calls.every((c) => !c.includes("printf 'applied"))).toBe(true);
    expect(knobView(await discoverDevice(fake.device, opts()))).toEqual(knobView(before));
    expect(loadSnapshot(fake.device.serial)).toBeNull();
    expect(fake.commandLog()).toEqual([]);
  });

  it('restores when a step fails half-way (swapon after zram was reset)', async () => {
    setup();
    const before = await discoverDevice(fake.device, opts());
    fake.failNext('swapon');
    const err = await applyConfiguration(fake.device, parseConfigurationText(ISSUE_YAML), opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZlabError);
    expect((err as Error).message).toMatch(/applying the configuration failed: zram0: swapon \/dev\/zram0: .*injected failure; the device was restored/);
    expect(knobView(await discoverDevice(fake.device, opts()))).toEqual(knobView(before));
    expect(loadSnapshot(fake.device.serial)).toBeNull();
    // The restore re-created the swap the failed apply had taken away.
    expect(fake.commandLog().filter((c) => c.startsWith('swapon'))).toHaveLength(2);
  });

  it('keeps the snapshot when the connection is lost, and restores from it later', async () => {
    setup();
    const before = await discoverDevice(fake.device, opts());
    let connected = true;
    const flaky: DeviceShell = {
      serial: fake.device.serial,
      async shell(command, options) {
        if (!connected) throw new ZlabError('device', 'device offline');
        if (command.includes("printf 'applied")) {
          // The script runs up to the zram reset, then the link drops.
          const cut = command.indexOf('zram0/comp_algorithm');
          await fake.device.shell(command.slice(0, command.lastIndexOf('\n', cut)), options);
          connected = false;
          throw new ZlabError('device', 'connection reset');
        }
        return fake.device.shell(command, options);
      },
    };
    const err = await applyConfiguration(flaky, parseConfigurationText(ISSUE_YAML), opts()).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/connection reset; restoring also failed \(device offline\)\. The snapshot is kept at .*zlab config restore -s fake-/);
    expect(knobView(await discoverDevice(fake.device, opts())).swaps).toEqual([]);
    expect(loadSnapshot(fake.device.serial)).not.toBeNull();

    // Later, by command or on reconnect:
    const restored = await restoreConfiguration(fake.device, opts());
    expect(restored.knobs.map((k) => k.knob)).toEqual(['zram0', 'vm.swappiness', 'vm.page_cluster']);
    expect(knobView(await discoverDevice(fake.device, opts()))).toEqual(knobView(before));
  });

  it('restores on SIGINT during apply and says it was interrupted', async () => {
    setup();
    const signals = new EventEmitter();
    const before = await discoverDevice(fake.device, opts());
    const device = interceptCall(fake.device, 2, (command, real) => {
      signals.emit('SIGINT', 'SIGINT');
      return real(command);
    });
    const err = await applyConfiguration(device, parseConfigurationText(ISSUE_YAML), { root: fake.root, signalSource: signals }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZlabError);
    expect((err as ZlabError).details.signal).toBe('SIGINT');
    expect((err as Error).message).toBe('interrupted by SIGINT; the device was restored');
    expect(knobView(await discoverDevice(fake.device, opts()))).toEqual(knobView(before));
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('stops before any change on SIGTERM during discovery', async () => {
    setup();
    const signals = new EventEmitter();
    const device = interceptCall(fake.device, 1, (command, real) => {
      signals.emit('SIGTERM', 'SIGTERM');
      return real(command);
    });
    await expect(applyConfiguration(device, parseConfigurationText(ISSUE_YAML), { root: fake.root, signalSource: signals })).rejects.toThrow('interrupted by SIGTERM; nothing was changed');
    expect(fake.device.calls).toHaveLength(1);
    expect(loadSnapshot(fake.device.serial)).toBeNull();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('is idempotent: applying again changes nothing and keeps the first snapshot', async () => {
    setup();
    const config = parseConfigurationText(ISSUE_YAML);
    await applyConfiguration(fake.device, config, opts());
    const first = readFileSync(snapshotPath(fake.device.serial), 'utf8');
    const calls = fake.device.calls.length;
    const again = await applyConfiguration(fake.device, config, opts());
    expect(again.changes).toEqual([]);
    expect(fake.device.calls).toHaveLength(calls + 1);
    expect(readFileSync(snapshotPath(fake.device.serial), 'utf8')).toBe(first);
  });

  it('stacks applies: a knob keeps the value it had before the first one', async () => {
    setup();
    await applyConfiguration(fake.device, parseConfiguration({ vm: { swappiness: 100 } }), opts());
    await applyConfiguration(fake.device, parseConfiguration({ vm: { swappiness: 120, page_cluster: 0 } }), opts());
    expect(loadSnapshot(fake.device.serial)!.settings).toEqual([
      { kind: 'file', label: 'vm.swappiness', path: '/proc/sys/vm/swappiness', value: '60' },
      { kind: 'file', label: 'vm.page_cluster', path: '/proc/sys/vm/page-cluster', value: '3' },
    ]);
    await restoreConfiguration(fake.device, opts());
    expect(fake.read('proc/sys/vm/swappiness').trim()).toBe('60');
    expect(fake.read('proc/sys/vm/page-cluster').trim()).toBe('3');
  });

  it('turns a zram device that is not swap into swap with a priority, and back', async () => {
    setup({ swapPriority: null });
    await applyConfiguration(fake.device, parseConfiguration({ zram: { disksize: '512M', swap: true, priority: 5 } }), opts());
    expect(fake.commandLog()).toEqual([`mkswap ${fake.root}/dev/zram0`, `swapon -p 5 ${fake.root}/dev/zram0`]);
    await restoreConfiguration(fake.device, opts());
    expect(fake.commandLog().at(-1)).toBe(`swapoff ${fake.root}/dev/zram0`);
    expect(fake.read('proc/swaps')).not.toMatch(/zram0/);
  });

  it("refuses a swap priority the device's swapon cannot set, before any change", async () => {
    setup({ swaponWithoutPriority: true });
    await expect(applyConfiguration(fake.device, parseConfiguration({ zram: { disksize: '2G', priority: 5 } }), opts())).rejects.toThrow(
      /zram\.priority: not supported here: this device's swapon has no -p option/,
    );
    expect(fake.commandLog()).toEqual([]);
    // Without a priority the same change goes through with a plain swapon.
    await applyConfiguration(fake.device, parseConfiguration({ zram: { disksize: '2G' } }), opts());
    expect(fake.commandLog().at(-1)).toBe(`swapon ${fake.root}/dev/zram0`);
  });

  it('maps kcompressd onto writable module parameters, and back', async () => {
    setup({ kcompressdModule: { mode: '644' } });
    const report = await applyConfiguration(fake.device, parseConfiguration({ kcompressd: { queue_depth: 128, threads: 2 } }), opts());
    expect(report.changes).toEqual([
      { knob: 'kcompressd.queue_depth', before: '4096', after: '128' },
      { knob: 'kcompressd.threads', before: '4', after: '2' },
    ]);
    expect(fake.read('sys/module/zram/parameters/nr_kcompressd')).toBe('2\n');
    await restoreConfiguration(fake.device, opts());
    expect(fake.read('sys/module/zram/parameters/nr_kcompressd')).toBe('4\n');
    expect(fake.read('sys/module/zram/parameters/queue_size_per_kcompressd')).toBe('4096\n');
  });

  it('refuses read-only kcompressd module parameters before any change', async () => {
    setup({ kcompressdModule: { mode: '444' } });
    await expect(applyConfiguration(fake.device, parseConfiguration({ kcompressd: { threads: 2 } }), opts())).rejects.toThrow(
      /kcompressd\.threads: \/sys\/module\/zram\/parameters\/nr_kcompressd is read-only on this kernel/,
    );
    expect(fake.read('sys/module/zram/parameters/nr_kcompressd')).toBe('4\n');
  });

  it('withConfiguration restores after the body throws', async () => {
    setup();
    await expect(
      withConfiguration(fake.device, parseConfiguration({ vm: { swappiness: 150 } }), async () => {
        expect(fake.read('proc/sys/vm/swappiness').trim()).toBe('150');
        throw new Error('workload crashed');
      }, opts()),
    ).rejects.toThrow('workload crashed');
    expect(fake.read('proc/sys/vm/swappiness').trim()).toBe('60');
    expect(loadSnapshot(fake.device.serial)).toBeNull();
  });
});
