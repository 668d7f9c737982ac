/**
 * One shell script, one adb round trip, that reads everything the doctor
 * judges. Each section starts with a `@@name` line so the output parses
 * without guessing; a missing source just leaves its section empty.
 */
export const PROBE_SCRIPT = String.raw`
section() { echo "@@$1"; }
section uid; id -u
section uname; uname -r
section version; cat /proc/version 2>/dev/null
section abi; getprop ro.product.cpu.abi 2>/dev/null
section model; getprop ro.product.model 2>/dev/null
section meminfo; grep -E '^(MemTotal|MemAvailable|SwapTotal|SwapFree):' /proc/meminfo 2>/dev/null
section zram
for d in /sys/block/zram*; do
  [ -e "$d/comp_algorithm" ] || continue
  echo "$(basename "$d")	$(cat "$d/comp_algorithm" 2>/dev/null)	$(cat "$d/disksize" 2>/dev/null)	$(cat "$d/comp_mode" 2>/dev/null)"
done
section swaps; cat /proc/swaps 2>/dev/null
section psi; cat /proc/pressure/memory 2>/dev/null
section thermal
for z in /sys/class/thermal/thermal_zone*; do
  [ -e "$z/temp" ] || continue
  echo "$(basename "$z")	$(cat "$z/type" 2>/dev/null)	$(cat "$z/temp" 2>/dev/null)"
done
section cpufreq
for p in /sys/devices/system/cpu/cpufreq/policy*; do
  [ -e "$p/scaling_governor" ] || continue
  echo "$(basename "$p")	$(cat "$p/scaling_governor" 2>/dev/null)	$(cat "$p/scaling_cur_freq" 2>/dev/null)	$(cat "$p/related_cpus" 2>/dev/null)"
done
section threads
for c in /proc/[0-9]*/comm; do
  read -r name < "$c" 2>/dev/null || continue
  case "$name" in kswapd*|kcompressd*) echo "$name";; esac
done
for c in /proc/[0-9]*/task/[0-9]*/comm; do
  read -r name < "$c" 2>/dev/null || continue
  case "$name" in kcompressd*) echo "$name";; esac
done
section knobs
for f in /proc/sys/vm/kcompressd* /sys/module/*/parameters/*kcompressd* /sys/block/zram*/comp_mode; do
  [ -e "$f" ] && echo "$f	$(cat "$f" 2>/dev/null)"
done
section end
`;

export type ProbeSections = Record<string, string[]>;

export function parseProbeOutput(output: string): ProbeSections {
  const sections: ProbeSections = {};
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const header = /^@@(\w+)$/.exec(line);
    if (header) {
      current = sections[header[1]!] = [];
    } else if (current && line.trim() !== '') {
      current.push(line);
    }
  }
  return sections;
}
