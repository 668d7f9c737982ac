import { shellQuote } from '../device/shell-quote.js';
import type { ScriptOptions } from './device-shell.js';

/*
 * Discovery reads everything configuration may touch in one script, one round
 * trip. Output is one record per line, fields separated by tabs:
 *   e <path>             this file exists
 *   g … G                file contents between these two lines, as `grep -H`
 *                        prints them: ./<path>:<line>, one per line of each file
 *                        (an existing file with no lines there is empty or
 *                        write-only)
 *   m <path> <mode>      octal permissions of a module parameter (is it writable?)
 *   t <name>             a kernel thread whose name contains "kcompressd"
 *   c <name> <output>    output of a probe (zpool modules, swapon -p support, getenforce, lmkd)
 *   end                  the script ran to completion
 * Paths are printed without the root prefix. Files are read by one grep per
 * group, not one process per file: forks cost milliseconds on an emulated
 * CPU, and sysctl files must be read in one read() (they return nothing at a
 * non-zero offset, so the shell's byte-wise `read` would truncate them).
 */

/** Shell functions the discovery body and the settings scripts share. */
export function scriptPrelude(options: ScriptOptions = {}): string {
  return [
    `R=${shellQuote(options.root ?? '')}`,
    `cd "$R/" || exit 1`,
    // g PATTERN PATH...: mark the files that exist, then print their lines matching PATTERN.
    `g() { pat=$1; shift; n=$#`,
    `  for p in "$@"; do [ -f "$R$p" ] && printf 'e\\t%s\\n' "$p"; set -- "$@" ".$p"; done; shift $n`,
    `  printf 'g\\n'; grep -H -E -e "$pat" "$@" 2>/dev/null; printf 'G\\n'; }`,
    `f() { g '' "$@"; }`,
  ].join('\n');
}

const VM_SYSCTLS = ['swappiness', 'page-cluster', 'watermark_scale_factor', 'min_free_kbytes', 'vfs_cache_pressure'];
const ZRAM_FILES = [
  'comp_algorithm', 'disksize', 'max_comp_streams', 'mm_stat', 'backing_dev', 'comp_mode', 'initstate',
  'algorithm_params', 'mem_limit', 'reset',
];
const CPUFREQ_FILES = [
  'scaling_governor', 'scaling_available_governors', 'scaling_min_freq', 'scaling_max_freq',
  'cpuinfo_min_freq', 'cpuinfo_max_freq', 'scaling_available_frequencies', 'related_cpus',
];
const DEVFREQ_FILES = ['governor', 'available_governors', 'min_freq', 'max_freq', 'available_frequencies'];
const ZPOOLS = ['zsmalloc', 'z3fold', 'zbud'];

/** For a glob over directories (relative to the root): run f on the given files of each match. */
function eachDir(glob: string, files: string[]): string {
  return [
    `for d in ${glob}; do`,
    `  [ -d "$d" ] || continue`,
    `  f ${files.map((name) => `"/$d"/${shellQuote(name)}`).join(' ')}`,
    `done`,
  ].join('\n');
}

/** The body that prints the records; needs scriptPrelude() before it. */
export function discoveryBody(): string {
  return [
    `set --; for p in proc/sys/vm/*kcompressd*; do [ -f "$p" ] && set -- "$@" "/$p"; done`,
    `f /proc/sys/kernel/osrelease /proc/swaps /sys/fs/selinux/enforce ${VM_SYSCTLS.map((name) => `/proc/sys/vm/${name}`).join(' ')} "$@"`,
    `g '^MemTotal:' /proc/meminfo`,
    `g '^(name|type) ' /proc/crypto`,
    eachDir('sys/block/zram*', ZRAM_FILES),
    `set --; for p in sys/module/zswap/parameters/*; do [ -f "$p" ] && set -- "$@" "/$p"; done; [ $# -gt 0 ] && f "$@"`,
    `for m in ${ZPOOLS.join(' ')}; do [ -d "sys/module/$m" ] && printf 'c\\tzpool\\t%s\\n' "$m"; done`,
    `set --; for p in sys/module/*/parameters/*kcompressd*; do`,
    `  [ -f "$p" ] || continue; set -- "$@" "/$p"`,
    `  printf 'm\\t/%s\\t%s\\n' "$p" "$(stat -c %a "$p" 2>/dev/null)"`,
    `done; [ $# -gt 0 ] && f "$@"`,
    eachDir('sys/devices/system/cpu/cpufreq/policy*', CPUFREQ_FILES),
    eachDir('sys/class/devfreq/*', DEVFREQ_FILES),
    `for c in proc/[0-9]*/comm; do`,
    `  { IFS= read -r n < "$c"; } 2>/dev/null || continue`,
    `  case $n in *kcompressd*) printf 't\\t%s\\n' "$n";; esac`,
    `done`,
    // busybox may be built without swapon -p.
    `if swapon --help 2>&1 | grep -q -e '-p'; then printf 'c\\tswapon-priority\\tyes\\n'; else printf 'c\\tswapon-priority\\tno\\n'; fi`,
    `if command -v getenforce >/dev/null 2>&1; then printf 'c\\tgetenforce\\t%s\\n' "$(getenforce 2>/dev/null)"; fi`,
    `if command -v getprop >/dev/null 2>&1; then printf 'c\\tlmkd\\t%s\\n' "$(getprop init.svc.lmkd 2>/dev/null)"; fi`,
    `printf 'end\\n'`,
  ].join('\n');
}

/** The whole discovery script. */
export function discoveryScript(options: ScriptOptions = {}): string {
  return `${scriptPrelude(options)}\n${discoveryBody()}\n`;
}
