import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { UsageError, ZlabError } from '../util/errors.js';

/**
 * Boot a kernel under QEMU with a throw-away busybox initramfs whose /init
 * checks what the virtual device needs (zram, swap, sysctl, kcompressd
 * threads and knobs), optionally runs the memory eater with integrity
 * verification, prints `ZLAB key value` lines on the serial console and
 * powers off. A build check that needs no adb and no VM manager.
 */
export const bootCheckOptionsSchema = z.strictObject({
  bzImage: z.string().min(1),
  memMib: z.number().int().min(256).max(16384).default(1024),
  cpus: z.number().int().min(1).max(8).default(2),
  zramMib: z.number().int().min(64).max(65536).default(2048),
  /** Path of a static memeater binary; with eaterMib > 0 it fills that much and reads it back. */
  eater: z.string().min(1).optional(),
  eaterMib: z.number().int().min(0).max(65536).default(0),
  /** memeater --ratio: how compressible the eater's pages are. */
  eaterRatio: z.number().min(1).max(16).default(3),
  timeoutMs: z.number().int().positive().default(600_000),
});
export type BootCheckOptions = z.input<typeof bootCheckOptionsSchema>;

export interface BootCheckReport {
  /** The console reached the end of /init. */
  completed: boolean;
  seconds: number;
  release?: string;
  zram: boolean;
  compAlgorithms?: string;
  swapKib?: number;
  /** kcompressd* thread names at boot. */
  kcompressdThreads: string[];
  /** Present only on a kernel with the kcompressd series. */
  knobs?: { depth: number; threads: number; threadsAfter: Record<string, string[]> };
  counters: Record<string, number>;
  vmstat: Record<string, number>;
  eater?: { corruptPages: number; verifiedPages: number; writtenPages: number; raw: unknown };
  /** The last lines of the serial console, for diagnosis. */
  consoleTail: string;
}

const listThreads = `threads() { l=; for c in /proc/[0-9]*/comm; do read -r n < "$c" 2>/dev/null || continue; case "$n" in kcompressd*) l="$l $n";; esac; done; echo $l; }`;

/** The /init script; every value in it is a validated number. */
export function initScript(o: z.output<typeof bootCheckOptionsSchema>): string {
  const eater =
    o.eater && o.eaterMib > 0
      ? `echo -1000 > /proc/self/oom_score_adj
/bin/memeater --size-mib ${o.eaterMib} --ratio ${o.eaterRatio} --retouch 1 --no-oom-adj > /eater.json 2>/eater.err
r eater_exit $?
r eater "$(tr -d '\\n' < /eater.json)"
tail -n 3 /eater.err`
      : '';
  return `#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
r() { echo "ZLAB $1 $2"; }
${listThreads}
r release "$(uname -r)"
[ -e /sys/block/zram0 ] || cat /sys/class/zram-control/hot_add > /dev/null 2>&1
if [ -e /sys/block/zram0 ]; then
  r zram yes
  r comp_algorithms "$(cat /sys/block/zram0/comp_algorithm)"
  echo lz4 > /sys/block/zram0/comp_algorithm
  echo ${o.zramMib}M > /sys/block/zram0/disksize
  mkswap /dev/zram0 > /dev/null && swapon /dev/zram0
fi
r swap_kib "$(awk '/^SwapTotal/ {print $2}' /proc/meminfo)"
r threads "$(threads)"
if [ -e /proc/sys/vm/kcompressd ]; then
  r depth "$(cat /proc/sys/vm/kcompressd)"
  r nthreads "$(cat /proc/sys/vm/kcompressd_threads)"
  for n in 3 0 1; do echo $n > /proc/sys/vm/kcompressd_threads; r threads_after_$n "$(threads)"; done
fi
${eater}
# Let the last queued folios finish before the counters are read.
sleep 1
r vmstat "$(grep -E '^(pswpin|pswpout|pgsteal_anon|pgsteal_kswapd|pgsteal_direct|allocstall_normal|allocstall_movable|swpout_zero|swpin_zero) ' /proc/vmstat | tr '\\n' ' ')"
for f in /sys/kernel/mm/kcompressd/*; do [ -e "$f" ] && r "counter_\${f##*/}" "$(cat "$f")"; done
r mm_stat "$(cat /sys/block/zram0/mm_stat 2>/dev/null)"
r done 1
poweroff -f
`;
}

/** Pull the `ZLAB key value` lines out of the console. */
export function parseConsole(text: string): Map<string, string> {
  const facts = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^ZLAB (\S+) ?(.*)$/.exec(line.trim());
    if (m) facts.set(m[1]!, m[2]!.trim());
  }
  return facts;
}

function numbers(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const words = (text ?? '').split(/\s+/).filter(Boolean);
  for (let i = 0; i + 1 < words.length; i += 2) out[words[i]!] = Number(words[i + 1]);
  return out;
}

const names = (text: string | undefined): string[] => (text ?? '').split(/\s+/).filter(Boolean).sort();

/** Turn the console facts into a report; exported for tests. */
export function reportFrom(facts: Map<string, string>, consoleText: string, seconds: number): BootCheckReport {
  const report: BootCheckReport = {
    completed: facts.get('done') === '1',
    seconds,
    release: facts.get('release'),
    zram: facts.get('zram') === 'yes',
    compAlgorithms: facts.get('comp_algorithms'),
    swapKib: facts.has('swap_kib') ? Number(facts.get('swap_kib')) : undefined,
    kcompressdThreads: names(facts.get('threads')),
    counters: {},
    vmstat: numbers(facts.get('vmstat')),
    consoleTail: consoleText.split('\n').slice(-40).join('\n'),
  };
  if (facts.has('depth')) {
    const threadsAfter: Record<string, string[]> = {};
    for (const [k, v] of facts) if (k.startsWith('threads_after_')) threadsAfter[k.slice('threads_after_'.length)] = names(v);
    report.knobs = { depth: Number(facts.get('depth')), threads: Number(facts.get('nthreads')), threadsAfter };
  }
  for (const [k, v] of facts) if (k.startsWith('counter_')) report.counters[k.slice('counter_'.length)] = Number(v);
  const eater = facts.get('eater');
  if (eater !== undefined) {
    let raw: { corruptPages?: number; pages?: { verified?: number; written?: number } };
    try {
      raw = JSON.parse(eater) as typeof raw;
    } catch {
      throw new ZlabError('kernel', `boot check: the eater printed no JSON summary (exit ${facts.get('eater_exit') ?? '?'}):\n${report.consoleTail}`);
    }
    report.eater = {
      corruptPages: Number(raw.corruptPages),
      verifiedPages: Number(raw.pages?.verified),
      writtenPages: Number(raw.pages?.written),
      raw,
    };
  }
  return report;
}

async function makeInitramfs(dir: string, script: string, eater: string | undefined): Promise<string> {
  const root = join(dir, 'root');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  await execa('ln', ['-s', 'busybox', join(root, 'bin', 'sh')]);
  if (eater) copyFileSync(eater, join(root, 'bin', 'memeater'));
  writeFileSync(join(root, 'init'), script);
  chmodSync(join(root, 'init'), 0o755);
  const out = join(dir, 'initramfs.cpio.gz');
  await execa('sh', ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 > "$1"', 'sh', out], { cwd: root });
  return out;
}

export async function checkBoot(input: BootCheckOptions): Promise<BootCheckReport> {
  const parsed = bootCheckOptionsSchema.safeParse(input);
  if (!parsed.success) throw new UsageError(`boot check: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  if (!existsSync(o.bzImage)) throw new UsageError(`boot check: no kernel at ${o.bzImage}`);
  if (o.eaterMib > 0 && !(o.eater && existsSync(o.eater))) {
    throw new UsageError(`boot check: eaterMib ${o.eaterMib} needs the memeater binary (make -C device-scripts); not found at ${o.eater ?? '(none given)'}`);
  }
  if (!existsSync('/bin/busybox')) throw new ZlabError('infrastructure', 'boot check: /bin/busybox is missing; install busybox-static');

  const dir = mkdtempSync(join(tmpdir(), 'zlab-bootcheck-'));
  try {
    const initrd = await makeInitramfs(dir, initScript(o), o.eaterMib > 0 ? o.eater : undefined);
    const started = Date.now();
    const qemu = await execa(
      'qemu-system-x86_64',
      [
        '-accel', 'tcg', '-m', String(o.memMib), '-smp', String(o.cpus),
        '-kernel', o.bzImage, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1 no_timer_check quiet',
        '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot',
      ],
      { reject: false, timeout: o.timeoutMs, stdin: 'ignore', all: true },
    );
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const consoleText = qemu.all ?? '';
    if (qemu.timedOut) {
      throw new ZlabError('kernel', `boot check: ${o.bzImage} did not finish within ${o.timeoutMs / 1000} s; console tail:\n${consoleText.split('\n').slice(-30).join('\n')}`);
    }
    return reportFrom(parseConsole(consoleText), consoleText, seconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
