import type { Device } from '../device/device.js';
import { shellQuote } from '../device/shell-quote.js';

/** What a device suite needs of a device before it means anything to run it. */
export interface DeviceRequirements {
  root?: boolean;
  zram?: boolean;
  /** zram compression algorithms that must be on offer. */
  algorithms?: string[];
  /** true: kcompressd must be present; false: must be absent (stock). */
  kcompressd?: boolean;
  minMemoryMiB?: number;
}

/**
 * One round trip that reads what the requirements ask about; returns a
 * sentence per requirement the device does not meet.
 */
export async function unmetRequirements(device: Pick<Device, 'shell'>, requires: DeviceRequirements): Promise<string[]> {
  const probe = await device.shell(
    [
      'echo "uid=$(id -u)"',
      'echo "mem=$(sed -n "s/^MemTotal: *\\([0-9]*\\) kB/\\1/p" /proc/meminfo)"',
      `echo "algs=$(cat /sys/block/zram0/comp_algorithm 2>/dev/null)"`,
      `echo "kcompressd=$(ls /proc/sys/vm/ 2>/dev/null | grep -c '^kcompressd'; ls /sys/module/*/parameters/ 2>/dev/null | grep -c kcompressd)"`,
      `echo "kthreads=$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c ${shellQuote('^kcompressd')})"`,
    ].join('; '),
    { timeoutMs: 20_000 },
  );
  const facts = Object.fromEntries(
    probe.stdout
      .split('\n')
      .map((line) => line.split('='))
      .filter((parts) => parts.length >= 2)
      .map(([key, ...rest]) => [key!, rest.join('=').trim()]),
  );
  const unmet: string[] = [];
  if (requires.root && facts.uid !== '0') unmet.push(`root (shell uid is ${facts.uid ?? '?'})`);
  const algorithms = (facts.algs ?? '').replace(/[[\]]/g, '').split(/\s+/).filter(Boolean);
  if ((requires.zram || requires.algorithms?.length) && algorithms.length === 0) unmet.push('zram (no /sys/block/zram0)');
  for (const algorithm of requires.algorithms ?? []) {
    if (algorithms.length && !algorithms.includes(algorithm)) unmet.push(`zram algorithm ${algorithm} (offers ${algorithms.join(', ')})`);
  }
  const kcompressdEvidence = (facts.kcompressd ?? '').split(/\s+/).some((n) => Number(n) > 0) || Number(facts.kthreads) > 0;
  if (requires.kcompressd === true && !kcompressdEvidence) unmet.push('kcompressd (a stock kernel)');
  if (requires.kcompressd === false && kcompressdEvidence) unmet.push('a stock kernel (kcompressd is present)');
  const memMiB = Number(facts.mem) / 1024;
  if (requires.minMemoryMiB && !(memMiB >= requires.minMemoryMiB)) unmet.push(`${requires.minMemoryMiB} MiB of RAM (has ${Math.round(memMiB)} MiB)`);
  return unmet;
}
