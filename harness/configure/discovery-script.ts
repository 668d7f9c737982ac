import { shellQuote } from '../device/shell-quote.js';
import type { ScriptOptions } from './device-shell.js';

/*
 * Discovery reads everything configuration may touch in one script, one round
 * trip. Output is one record per line, fields separated by tabs:
 *   f <path> <line>      a line of a readable file (one record per line of it)
 *   u <path>             a file that exists but cannot be read (write-only attributes)
 *   m <path> <mode>      octal permissions of a module parameter (is it writable?)
 *   t <name>             a kernel thread whose name contains "kcompressd"
 *   c <name> <output>    output of a probe command (getenforce, lmkd service state)
 *   end                  the script ran to completion
 * Paths are printed without the root prefix.
 */

/** Shell functions the discovery body and the settings scripts share. */
export function scriptPrelude(options: ScriptOptions = {}): string {
  return [
    `R=${shellQuote(options.root ?? '')}`,
    // f PATH...: print readable files line by line, mark unreadable ones.
    `f() { for p in "$@"; do`,
    `  [ -f "$R$p" ] || continue`,
    `  if v=$(cat "$R$p" 2>/dev/null); then`,
    `    printf '%s\\n' "$v" | while IFS= read -r l || [ -n "$l" ]; do printf 'f\\t%s\\t%s\\n' "$p" "$l"; done`,
    `  else printf 'u\\t%s\\n' "$p"; fi`,
    `done; }`,
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

/** For a glob over directories: run f on the given files of each match. */
function eachDir(glob: string, files: string[]): string {
  return [
    `for d in "$R"${glob}; do`,
    `  [ -d "$d" ] || continue; p=\${d#"$R"}`,
    `  f ${files.map((name) => `"$p"/${shellQuote(name)}`).join(' ')}`,
    `done`,
  ].join('\n');
}

/** The body that prints the records; needs scriptPrelude() before it. */
export function discoveryBody(): string {
  return [
    `f /proc/sys/kernel/osrelease /proc/swaps /sys/fs/selinux/enforce`,
    `grep -E '^MemTotal:' "$R/proc/meminfo" 2>/dev/null | while IFS= read -r l; do printf 'f\\t/proc/meminfo\\t%s\\n' "$l"; done`,
    `grep -E '^(name|type) ' "$R/proc/crypto" 2>/dev/null | while IFS= read -r l; do printf 'f\\t/proc/crypto\\t%s\\n' "$l"; done`,
    `f ${VM_SYSCTLS.map((name) => `/proc/sys/vm/${name}`).join(' ')}`,
    eachDir('/sys/block/zram*', ZRAM_FILES),
    `for p in "$R"/sys/module/zswap/parameters/*; do [ -f "$p" ] && f "\${p#"$R"}"; done`,
    `for m in ${ZPOOLS.join(' ')}; do [ -d "$R/sys/module/$m" ] && printf 'c\\tzpool\\t%s\\n' "$m"; done`,
    `for p in "$R"/proc/sys/vm/*kcompressd*; do [ -f "$p" ] && f "\${p#"$R"}"; done`,
    `for p in "$R"/sys/module/*/parameters/*kcompressd*; do`,
    `  [ -f "$p" ] || continue; q=\${p#"$R"}; f "$q"`,
    `  printf 'm\\t%s\\t%s\\n' "$q" "$(stat -c %a "$p" 2>/dev/null)"`,
    `done`,
    eachDir('/sys/devices/system/cpu/cpufreq/policy*', CPUFREQ_FILES),
    eachDir('/sys/class/devfreq/*', DEVFREQ_FILES),
    `for c in "$R"/proc/[0-9]*/comm; do`,
    `  { IFS= read -r n < "$c"; } 2>/dev/null || continue`,
    `  case $n in *kcompressd*) printf 't\\t%s\\n' "$n";; esac`,
    `done`,
    `if command -v getenforce >/dev/null 2>&1; then printf 'c\\tgetenforce\\t%s\\n' "$(getenforce 2>/dev/null)"; fi`,
    `if command -v getprop >/dev/null 2>&1; then printf 'c\\tlmkd\\t%s\\n' "$(getprop init.svc.lmkd 2>/dev/null)"; fi`,
    `printf 'end\\n'`,
  ].join('\n');
}

/** The whole discovery script. */
export function discoveryScript(options: ScriptOptions = {}): string {
  return `${scriptPrelude(options)}\n${discoveryBody()}\n`;
}
