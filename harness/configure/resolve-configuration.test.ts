import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../util/errors.js';
import { parseConfiguration } from './config-schema.js';
import { parseDiscovery } from './device-state.js';
import { phoneDiscoveryOutput } from './discovery-fixtures.js';
import { resolveConfiguration } from './resolve-configuration.js';

const phone = parseDiscovery(phoneDiscoveryOutput);
const resolve = (config: unknown) => resolveConfiguration(parseConfiguration(config), phone);

function problemsOf(config: unknown): string[] {
  try {
    resolve(config);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/nothing was changed/);
    return (err as UsageError).details.problems as string[];
  }
  throw new Error('expected the configuration to be refused');
}

describe('resolveConfiguration', () => {
  it('reconfigures zram as one setting, keeping the swap priority it had', () => {
    const settings = resolve({ zram: { algorithm: 'zstd', disksize: '2G' } });
    expect(settings).toEqual([
      {
        kind: 'zram',
        label: 'zram0',
        index: 0,
        setup: { algorithm: 'zstd', params: null, maxCompStreams: null, disksize: 2 * 1024 ** 3, memLimit: 0, backingDev: 'none', swap: { priority: 32758 } },
      },
    ]);
  });

  it('rounds disksize up to whole pages and reads percentages of RAM', () => {
    const [s] = resolve({ zram: { disksize: '50%' } });
    expect(s?.kind === 'zram' && s.setup.disksize).toBe(Math.ceil((7812345 * 1024) / 2 / 4096) * 4096);
  });

  it('leaves out what already holds, so a second apply changes nothing', () => {
    expect(resolve({ zram: { algorithm: 'lz4', disksize: 4294967296 }, cpufreq: { policy4: { governor: 'walt' } } })).toEqual([]);
  });

  it('names an algorithm the kernel lacks and what it offers', () => {
    expect(problemsOf({ zram: { algorithm: 'deflate' } })).toEqual([
      'zram.algorithm: "deflate" is not offered by zram0 on this kernel; it offers lzo, lzo-rle, lz4, zstd',
    ]);
  });

  it('reports every unsupported knob at once', () => {
    const problems = problemsOf({
      zram: { device: 0, algorithm_params: { level: 3 }, max_comp_streams: 4, backing_dev: '/dev/loop0' },
      zswap: { enabled: true },
      kcompressd: { threads: 2 },
      cpufreq: { policy9: { governor: 'performance' }, policy4: { governor: 'schedutil', pin: 1000000 } },
      devfreq: { gpu: { max: 1 } },
      vm: { swappiness: 100 },
    });
    expect(problems).toEqual([
      expect.stringMatching(/^zram\.algorithm_params: not supported on this kernel/),
      expect.stringMatching(/^zram\.max_comp_streams: not supported on this kernel/),
      expect.stringMatching(/^zswap: not supported on this kernel/),
      expect.stringMatching(/^vm\.swappiness: not supported on this kernel \(no \/proc\/sys\/vm\/swappiness\)/),
      'kcompressd.threads: /sys/module/zram/parameters/nr_kcompressd is read-only on this kernel; set it on the kernel command line instead',
      'cpufreq.policy9: no such policy; this device has policy0, policy4',
      'cpufreq.policy4.governor: "schedutil" is not offered; /sys/devices/system/cpu/cpufreq/policy4 offers walt, performance',
      'cpufreq.policy4.pin: 1000000 kHz is not an available frequency; /sys/devices/system/cpu/cpufreq/policy4 offers 600000, 1200000, 2400000 kHz',
      expect.stringMatching(/^devfreq\.gpu: no such device; this device has soc:qcom,cpu-llcc-bw/),
    ]);
  });

  it('maps kcompressd.queue_depth onto the writable module parameter', () => {
    expect(resolve({ kcompressd: { queue_depth: 256 } })).toEqual([
      { kind: 'file', label: 'kcompressd.queue_depth', path: '/sys/module/zram/parameters/queue_size_per_kcompressd', value: '256' },
    ]);
  });

  it('pins a policy by setting min and max to one frequency after its governor', () => {
    const settings = resolve({ cpufreq: { policy4: { governor: 'performance', pin: '1.2GHz' } }, zram: { comp_mode: 'kcompressd' } });
    expect(settings.map((s) => s.label)).toEqual(['zram.comp_mode', 'cpufreq.policy4.governor', 'cpufreq.policy4']);
    expect(settings[2]).toMatchObject({ kind: 'range', min: 1200000, max: 1200000, ceiling: 2400000, minFile: 'scaling_min_freq' });
  });

  it('refuses min above max', () => {
    expect(problemsOf({ cpufreq: { policy4: { min: 2400000, max: 600000 } } })).toEqual([expect.stringMatching(/min 2400000 kHz is above max 600000 kHz/)]);
  });

  it('stops lmkd and sets SELinux only where the device has them', () => {
    expect(resolve({ android: { lmkd: 'stop', selinux: 'permissive' } }).map((s) => s.kind)).toEqual(['lmkd', 'selinux']);
    const bare = parseDiscovery('end\n');
    let message = '';
    try {
      resolveConfiguration(parseConfiguration({ android: { lmkd: 'stop', selinux: 'enforcing' }, cpufreq: { all: { governor: 'performance' } }, zram: {} }), bare);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/zram\.device: not supported on this device: the kernel has no zram devices/);
    expect(message).toMatch(/cpufreq: not supported on this device \(nothing under \/sys\/devices\/system\/cpu\/cpufreq\/policy\*\)/);
    expect(message).toMatch(/android\.lmkd: not supported here: this device has no lmkd service/);
    expect(message).toMatch(/android\.selinux: not supported here: SELinux is absent/);
  });

  it('says which kcompressd knobs a kernel has when asked for one it lacks', () => {
    const stock = parseDiscovery('end\n');
    expect(() => resolveConfiguration(parseConfiguration({ kcompressd: { queue_depth: 24 } }), stock)).toThrow(
      /kcompressd\.queue_depth: not supported on this kernel \(it exposes no kcompressd knobs/,
    );
  });
});
