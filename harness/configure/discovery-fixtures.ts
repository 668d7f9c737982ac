/** Discovery output as a phone-like kernel prints it, for tests that need no device. */

const rec = (...fields: string[]) => fields.join('\t');

/** The e/g/G records discovery prints for these files (null: exists, shows nothing). */
export function fileRecords(files: Record<string, string[] | null>): string[] {
  const paths = Object.keys(files);
  const lines = paths.flatMap((p) => (files[p] ?? []).map((line) => `.${p}:${line}`));
  return [...paths.map((p) => rec('e', p)), 'g', ...lines, 'G'];
}

// What a phone-like kernel prints: /dev/block names, a vendor comp_mode,
// kcompressd as module parameters (one read-only), SELinux and lmkd.
export const phoneDiscoveryOutput = [
  ...fileRecords({
    '/proc/sys/kernel/osrelease': ['6.1.75-android14-11'],
    '/proc/swaps': ['Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority', '/dev/block/zram0                        partition\t4194300\t\t123456\t\t32758'],
  }),
  ...fileRecords({ '/proc/meminfo': ['MemTotal:        7812345 kB'] }),
  ...fileRecords({
    '/sys/block/zram0/comp_algorithm': ['lzo lzo-rle [lz4] zstd'],
    '/sys/block/zram0/disksize': ['4294967296'],
    '/sys/block/zram0/mm_stat': ['  1000  500  600  0  700  12  0  0  0'],
    '/sys/block/zram0/backing_dev': ['none'],
    '/sys/block/zram0/comp_mode': ['[sync] kcompressd'],
    '/sys/block/zram0/mem_limit': null,
  }),
  rec('m', '/sys/module/zram/parameters/nr_kcompressd', '444'),
  rec('m', '/sys/module/zram/parameters/queue_size_per_kcompressd', '644'),
  ...fileRecords({
    '/sys/module/zram/parameters/nr_kcompressd': ['4'],
    '/sys/module/zram/parameters/queue_size_per_kcompressd': ['4096'],
  }),
  ...fileRecords({
    '/sys/devices/system/cpu/cpufreq/policy0/scaling_governor': ['walt'],
  }),
  ...fileRecords({
    '/sys/devices/system/cpu/cpufreq/policy4/scaling_governor': ['walt'],
    '/sys/devices/system/cpu/cpufreq/policy4/scaling_available_governors': ['walt performance'],
    '/sys/devices/system/cpu/cpufreq/policy4/scaling_min_freq': ['600000'],
    '/sys/devices/system/cpu/cpufreq/policy4/scaling_max_freq': ['2400000'],
    '/sys/devices/system/cpu/cpufreq/policy4/scaling_available_frequencies': ['600000 2400000 1200000 '],
  }),
  ...fileRecords({
    '/sys/class/devfreq/soc:qcom,cpu-llcc-bw/governor': ['bw_hwmon'],
    '/sys/class/devfreq/soc:qcom,cpu-llcc-bw/min_freq': ['762'],
    '/sys/class/devfreq/soc:qcom,cpu-llcc-bw/max_freq': ['8136'],
  }),
  rec('t', 'kcompressd:0'),
  rec('t', 'kcompressd:0'),
  rec('c', 'getenforce', 'Enforcing'),
  rec('c', 'lmkd', 'running'),
  'some stray line from a chatty shell',
  'end',
  '',
].join('\n');
