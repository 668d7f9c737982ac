import { describe, expect, it } from '@jest/globals';
import { listedOptions, parseDiscovery, selectedValue } from './device-state.js';
import { phoneDiscoveryOutput as phone } from './discovery-fixtures.js';

describe('parseDiscovery', () => {
  const state = parseDiscovery(phone);

  it('reads zram with its swap entry under /dev/block', () => {
    expect(state.kernel).toBe('6.1.75-android14-11');
    expect(state.memTotalBytes).toBe(7812345 * 1024);
    expect(state.zram).toHaveLength(1);
    const z = state.zram[0]!;
    expect(z).toMatchObject({ index: 0, algorithm: 'lz4', algorithms: ['lzo', 'lzo-rle', 'lz4', 'zstd'], disksize: 4294967296, memLimit: 0, backingDev: 'none' });
    expect(z.swap).toMatchObject({ path: '/dev/block/zram0', priority: 32758, usedKiB: 123456 });
    expect(z.compMode).toEqual({ current: 'sync', options: ['sync', 'kcompressd'] });
    expect(z.hasAlgorithmParams).toBe(false);
    expect(z.maxCompStreams).toBeNull();
  });

  it('finds kcompressd module parameters, writable or not, and its threads once each', () => {
    expect(state.kcompressd.knobs).toEqual(
      expect.arrayContaining([
        { knob: 'threads', path: '/sys/module/zram/parameters/nr_kcompressd', value: '4', writable: false },
        { knob: 'queue_depth', path: '/sys/module/zram/parameters/queue_size_per_kcompressd', value: '4096', writable: true },
      ]),
    );
    expect(state.kcompressd.threads).toEqual(['kcompressd:0']);
  });

  it('orders policies and sorts available frequencies', () => {
    expect(state.cpufreq.map((p) => p.name)).toEqual(['policy0', 'policy4']);
    expect(state.cpufreq[1]).toMatchObject({ governor: 'walt', governors: ['walt', 'performance'], min: 600000, max: 2400000, frequencies: [600000, 1200000, 2400000] });
    expect(state.cpufreq[0]!.frequencies).toBeNull();
  });

  it('keeps devfreq names with colons and commas', () => {
    expect(state.devfreq).toEqual([
      expect.objectContaining({ name: 'soc:qcom,cpu-llcc-bw', dir: '/sys/class/devfreq/soc:qcom,cpu-llcc-bw', min: 762, max: 8136 }),
    ]);
  });

  it('reads SELinux and lmkd', () => {
    expect(state.selinux).toBe('Enforcing');
    expect(state.lmkd).toBe('running');
  });

  it('says when a device has none of the optional parts', () => {
    const bare = parseDiscovery('e\t/proc/swaps\ng\n./proc/swaps:Filename Type Size Used Priority\nG\nc\tlmkd\t\nend\n');
    expect(bare).toMatchObject({ zram: [], zswap: null, cpufreq: [], devfreq: [], selinux: null, lmkd: null, swaps: [] });
    expect(bare.kcompressd).toEqual({ knobs: [], threads: [] });
  });

  it('refuses output cut short (no end record)', () => {
    expect(() => parseDiscovery(phone.replace('\nend\n', '\n'))).toThrow(/did not finish/);
  });

  it('picks values out of sysfs option lists', () => {
    expect(selectedValue('lzo [lz4] zstd')).toBe('lz4');
    expect(selectedValue('performance\n')).toBe('performance');
    expect(listedOptions('lzo [lz4] zstd')).toEqual(['lzo', 'lz4', 'zstd']);
  });
});
