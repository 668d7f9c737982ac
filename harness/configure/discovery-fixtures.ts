/** Discovery output as a phone-like kernel prints it, for tests that need no device. */

const rec = (...fields: string[]) => fields.join('\t');

// What a phone-like kernel prints: /dev/block names, a vendor comp_mode,
// kcompressd as read-only module parameters, SELinux and lmkd.
export const phoneDiscoveryOutput = [
  rec('f', '/proc/sys/kernel/osrelease', '6.1.75-android14-11'),
  rec('f', '/proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority'),
  rec('f', '/proc/swaps', '/dev/block/zram0                        partition\t4194300\t\t123456\t\t32758'),
  rec('f', '/proc/meminfo', 'MemTotal:        7812345 kB'),
  rec('f', '/sys/block/zram0/comp_algorithm', 'lzo lzo-rle [lz4] zstd'),
  rec('f', '/sys/block/zram0/disksize', '4294967296'),
  rec('f', '/sys/block/zram0/mm_stat', '  1000  500  600  0  700  12  0  0  0'),
  rec('f', '/sys/block/zram0/backing_dev', 'none'),
  rec('f', '/sys/block/zram0/comp_mode', '[sync] kcompressd'),
  rec('u', '/sys/block/zram0/mem_limit'),
  rec('f', '/sys/module/zram/parameters/nr_kcompressd', '4'),
  rec('m', '/sys/module/zram/parameters/nr_kcompressd', '444'),
  rec('f', '/sys/module/zram/parameters/queue_size_per_kcompressd', '4096'),
  rec('m', '/sys/module/zram/parameters/queue_size_per_kcompressd', '644'),
  rec('f', '/sys/devices/system/cpu/cpufreq/policy4/scaling_governor', 'walt'),
  rec('f', '/sys/devices/system/cpu/cpufreq/policy4/scaling_available_governors', 'walt performance'),
  rec('f', '/sys/devices/system/cpu/cpufreq/policy4/scaling_min_freq', '600000'),
  rec('f', '/sys/devices/system/cpu/cpufreq/policy4/scaling_max_freq', '2400000'),
  rec('f', '/sys/devices/system/cpu/cpufreq/policy4/scaling_available_frequencies', '600000 2400000 1200000 '),
  rec('f', '/sys/devices/system/cpu/cpufreq/policy0/scaling_governor', 'walt'),
  rec('f', '/sys/class/devfreq/soc:qcom,cpu-llcc-bw/governor', 'bw_hwmon'),
  rec('f', '/sys/class/devfreq/soc:qcom,cpu-llcc-bw/min_freq', '762'),
  rec('f', '/sys/class/devfreq/soc:qcom,cpu-llcc-bw/max_freq', '8136'),
  rec('t', 'kcompressd:0'),
  rec('t', 'kcompressd:0'),
  rec('c', 'getenforce', 'Enforcing'),
  rec('c', 'lmkd', 'running'),
  'some stray line from a chatty shell',
  'end',
  '',
].join('\n');
