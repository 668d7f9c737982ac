import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../util/errors.js';
import { parseConfiguration, parseConfigurationText } from './config-schema.js';
import { injectionPayloads } from './injection-payloads.js';

describe('configuration schema', () => {
  it('accepts the plain file from the issue as written', () => {
    const config = parseConfigurationText('zram:\n  algorithm: lz4\n  disksize: 2G\nvm:\n  swappiness: 100\n  page_cluster: 0\n');
    expect(config).toEqual({
      zram: { device: 0, algorithm: 'lz4', disksize: { bytes: 2 * 1024 ** 3 } },
      vm: { swappiness: 100, page_cluster: 0 },
    });
  });

  it('accepts every section', () => {
    const config = parseConfigurationText(`
zram: { device: 1, algorithm: zstd, algorithm_params: { level: 3 }, max_comp_streams: 4, disksize: 75%, mem_limit: 512M,
        backing_dev: /dev/block/by-name/zram_backing, comp_mode: kcompressd, swap: true, priority: 32767 }
zswap: { enabled: true, compressor: lz4, zpool: zsmalloc, max_pool_percent: 20, accept_threshold_percent: 90, shrinker: false }
vm: { swappiness: 200, page-cluster: 0, watermark_scale_factor: 3000, min_free_kbytes: 65536, vfs_cache_pressure: 100 }
kcompressd: { queue_depth: 0, threads: 2 }
cpufreq: { all: { governor: performance }, policy4: { pin: 1.8GHz } }
devfreq: { "soc:qcom,gpubw": { min: 200MHz, max: 800000000 } }
android: { lmkd: stop, selinux: permissive }
`);
    expect(config.zram?.disksize).toEqual({ percent: 75 });
    expect(config.vm?.page_cluster).toBe(0);
    expect(config.cpufreq?.policy4?.pin).toEqual({ hz: 1.8e9 });
    expect(config.devfreq?.['soc:qcom,gpubw']?.max).toEqual({ raw: 800000000 });
  });

  it('accepts an empty file as an empty configuration', () => {
    expect(parseConfigurationText('')).toEqual({});
  });

  it('names every problem with its path', () => {
    expect(() => parseConfigurationText('zram:\n  algoritm: lz4\nvm:\n  swappiness: 201\n', 'plan.yaml')).toThrow(
      /plan\.yaml: zram: Unrecognized key: "algoritm"; vm\.swappiness: .*200/,
    );
  });

  it.each([
    ['not YAML', 'zram: [lz4', /not valid YAML/],
    ['a list', '- zram', /expected a mapping/],
    ['a scalar', 'lz4', /expected a mapping/],
    ['pin with min', 'cpufreq: { all: { pin: 1GHz, min: 1GHz } }', /pin cannot be combined/],
    ['a wrong policy key', 'cpufreq: { cpu0: { governor: performance } }', /cpufreq\.cpu0: is not a cpufreq policy/],
    ['a string for a number', 'vm: { swappiness: "100" }', /vm\.swappiness/],
    ['a swap priority out of range', 'zram: { priority: 40000 }', /zram\.priority/],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parseConfigurationText(text)).toThrow(message);
  });

  // Every field of the schema, with a function that puts a value there.
  const fields: Array<[string, (v: unknown) => unknown]> = [
    ['zram.device', (v) => ({ zram: { device: v } })],
    ['zram.algorithm', (v) => ({ zram: { algorithm: v } })],
    ['zram.algorithm_params.level', (v) => ({ zram: { algorithm_params: { level: v } } })],
    ['zram.algorithm_params.dict', (v) => ({ zram: { algorithm_params: { dict: v } } })],
    ['zram.max_comp_streams', (v) => ({ zram: { max_comp_streams: v } })],
    ['zram.disksize', (v) => ({ zram: { disksize: v } })],
    ['zram.mem_limit', (v) => ({ zram: { mem_limit: v } })],
    ['zram.backing_dev', (v) => ({ zram: { backing_dev: v } })],
    ['zram.comp_mode', (v) => ({ zram: { comp_mode: v } })],
    ['zram.swap', (v) => ({ zram: { swap: v } })],
    ['zram.priority', (v) => ({ zram: { priority: v } })],
    ['zswap.enabled', (v) => ({ zswap: { enabled: v } })],
    ['zswap.compressor', (v) => ({ zswap: { compressor: v } })],
    ['zswap.zpool', (v) => ({ zswap: { zpool: v } })],
    ['zswap.max_pool_percent', (v) => ({ zswap: { max_pool_percent: v } })],
    ['zswap.accept_threshold_percent', (v) => ({ zswap: { accept_threshold_percent: v } })],
    ['zswap.shrinker', (v) => ({ zswap: { shrinker: v } })],
    ['vm.swappiness', (v) => ({ vm: { swappiness: v } })],
    ['vm.page_cluster', (v) => ({ vm: { page_cluster: v } })],
    ['vm.watermark_scale_factor', (v) => ({ vm: { watermark_scale_factor: v } })],
    ['vm.min_free_kbytes', (v) => ({ vm: { min_free_kbytes: v } })],
    ['vm.vfs_cache_pressure', (v) => ({ vm: { vfs_cache_pressure: v } })],
    ['kcompressd.queue_depth', (v) => ({ kcompressd: { queue_depth: v } })],
    ['kcompressd.threads', (v) => ({ kcompressd: { threads: v } })],
    ['cpufreq.all.governor', (v) => ({ cpufreq: { all: { governor: v } } })],
    ['cpufreq.all.min', (v) => ({ cpufreq: { all: { min: v } } })],
    ['cpufreq.all.max', (v) => ({ cpufreq: { all: { max: v } } })],
    ['cpufreq.policy0.pin', (v) => ({ cpufreq: { policy0: { pin: v } } })],
    ['cpufreq', (v) => ({ cpufreq: { [String(v)]: { governor: 'performance' } } })],
    ['devfreq.gpu.governor', (v) => ({ devfreq: { gpu: { governor: v } } })],
    ['devfreq.gpu.min', (v) => ({ devfreq: { gpu: { min: v } } })],
    ['devfreq.gpu.max', (v) => ({ devfreq: { gpu: { max: v } } })],
    ['devfreq.gpu.pin', (v) => ({ devfreq: { gpu: { pin: v } } })],
    ['devfreq', (v) => ({ devfreq: { [String(v)]: { governor: 'performance' } } })],
    ['android.lmkd', (v) => ({ android: { lmkd: v } })],
    ['android.selinux', (v) => ({ android: { selinux: v } })],
    ['', (v) => ({ [String(v)]: {} })],
  ];
  const payloads = injectionPayloads('/tmp/zlab-injected');

  it.each(fields)('refuses every injection payload in %s, naming the field', (field, place) => {
    for (const payload of payloads) {
      let caught: unknown;
      try {
        parseConfiguration(place(payload));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(UsageError);
      expect((caught as Error).message.startsWith(`configuration: ${field}`)).toBe(true);
    }
  });

  it('has a payload test for every field of the schema', () => {
    const leaves = [
      ...['device', 'algorithm', 'max_comp_streams', 'disksize', 'mem_limit', 'backing_dev', 'comp_mode', 'swap', 'priority'].map((k) => `zram.${k}`),
      'zram.algorithm_params.level', 'zram.algorithm_params.dict',
      ...['enabled', 'compressor', 'zpool', 'max_pool_percent', 'accept_threshold_percent', 'shrinker'].map((k) => `zswap.${k}`),
      ...['swappiness', 'page_cluster', 'watermark_scale_factor', 'min_free_kbytes', 'vfs_cache_pressure'].map((k) => `vm.${k}`),
      'kcompressd.queue_depth', 'kcompressd.threads', 'android.lmkd', 'android.selinux',
    ];
    const tested = new Set(fields.map(([f]) => f));
    for (const leaf of leaves) expect(tested).toContain(leaf);
    // Each accepted leaf is real: a valid value there parses.
    expect(parseConfiguration({ zram: { comp_mode: 'kcompressd' } }).zram?.comp_mode).toBe('kcompressd');
  });
});
