import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { DeviceShell } from './device-shell.js';

/*
 * For unit tests: a temporary folder shaped like a device's /sys, /proc and
 * /dev, plus stand-ins for the few commands the scripts run (swapon, swapoff,
 * mkswap, getenforce, setenforce, getprop, start, stop) that act on that
 * folder. Generated scripts run on it in the host's real `sh`, through a
 * DeviceShell that counts its round trips.
 */

export interface FakeDeviceRoot {
  /** The fixture folder: root/, bin/ and the shell's working directory. */
  base: string;
  root: string;
  /** PATH folder with the stand-in commands. */
  bin: string;
  device: DeviceShell & { calls: string[] };
  read(path: string): string;
  write(path: string, content: string): void;
  /** Make the next stand-in call of `command` fail (e.g. swapon). */
  failNext(command: string): void;
  /** Every stand-in command call that changes something, one line each: "swapon -p 5 /dev/zram0". */
  commandLog(): string[];
  cleanup(): void;
}

export interface FakeDeviceShape {
  cpufreq?: boolean;
  devfreq?: boolean;
  kcompressdSysctl?: boolean;
  kcompressdModule?: { mode: string } | null;
  selinux?: boolean;
  lmkd?: boolean;
  zswap?: boolean;
  /** zram0 starts as swap with this priority (null: not swap). */
  swapPriority?: number | null;
  /** swapon without -p, like Debian's busybox. */
  swaponWithoutPriority?: boolean;
}

const FILES: Record<string, string> = {
  'proc/sys/kernel/osrelease': '6.12.0-fake',
  'proc/meminfo': 'MemTotal:        1000000 kB\nMemFree:          500000 kB',
  'proc/crypto': 'name         : lz4\ndriver       : lz4-scomp\ntype         : scomp\n\nname         : deflate\ntype         : scomp',
  'proc/sys/vm/swappiness': '60',
  'proc/sys/vm/page-cluster': '3',
  'proc/sys/vm/watermark_scale_factor': '10',
  'proc/sys/vm/min_free_kbytes': '4096',
  'proc/sys/vm/vfs_cache_pressure': '100',
  'sys/block/zram0/comp_algorithm': 'lzo lzo-rle [lz4] zstd',
  'sys/block/zram0/disksize': '1073741824',
  'sys/block/zram0/max_comp_streams': '2',
  'sys/block/zram0/mm_stat': '4096 1024 8192 0 8192 0 0 0 0',
  'sys/block/zram0/backing_dev': 'none',
  'sys/block/zram0/initstate': '1',
  'sys/block/zram0/algorithm_params': '',
  'sys/block/zram0/mem_limit': '',
  'sys/block/zram0/reset': '',
  'dev/zram0': '',
  'proc/1/comm': 'init',
  'proc/17/comm': 'kswapd0',
};

const ZSWAP: Record<string, string> = {
  'sys/module/zswap/parameters/enabled': 'N',
  'sys/module/zswap/parameters/compressor': 'lzo',
  'sys/module/zswap/parameters/zpool': 'zsmalloc',
  'sys/module/zswap/parameters/max_pool_percent': '20',
  'sys/module/zswap/parameters/accept_threshold_percent': '90',
  'sys/module/zswap/parameters/shrinker_enabled': 'N',
};

const CPUFREQ: Record<string, string> = {
  'sys/devices/system/cpu/cpufreq/policy0/scaling_governor': 'schedutil',
  'sys/devices/system/cpu/cpufreq/policy0/scaling_available_governors': 'performance schedutil powersave',
  'sys/devices/system/cpu/cpufreq/policy0/scaling_min_freq': '300000',
  'sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq': '1800000',
  'sys/devices/system/cpu/cpufreq/policy0/cpuinfo_min_freq': '300000',
  'sys/devices/system/cpu/cpufreq/policy0/cpuinfo_max_freq': '1800000',
  'sys/devices/system/cpu/cpufreq/policy0/scaling_available_frequencies': '300000 1000000 1800000 ',
  'sys/devices/system/cpu/cpufreq/policy0/related_cpus': '0 1',
};

const DEVFREQ: Record<string, string> = {
  'sys/class/devfreq/gpu/governor': 'simple_ondemand',
  'sys/class/devfreq/gpu/available_governors': 'simple_ondemand performance',
  'sys/class/devfreq/gpu/min_freq': '100000000',
  'sys/class/devfreq/gpu/max_freq': '500000000',
  'sys/class/devfreq/gpu/available_frequencies': '100000000 300000000 500000000',
};

/** Stand-in commands: each logs its call and acts on $FAKE_ROOT. */
const COMMANDS: Record<string, string> = {
  swapon: `prio=-2
if [ "$1" = -p ]; then prio=$2; shift 2; fi
dev=\${1#"$FAKE_ROOT"}
printf '%s\\t\\tpartition\\t1048572\\t0\\t%s\\n' "$dev" "$prio" >> "$FAKE_ROOT/proc/swaps"`,
  swapoff: `dev=\${1#"$FAKE_ROOT"}
grep -v "^$dev	" "$FAKE_ROOT/proc/swaps" > "$FAKE_ROOT/proc/swaps.new"; mv "$FAKE_ROOT/proc/swaps.new" "$FAKE_ROOT/proc/swaps"`,
  mkswap: `[ -e "$1" ] || { echo "mkswap: $1: no such device" >&2; exit 1; }`,
  getenforce: `cat "$FAKE_ROOT/.selinux"`,
  setenforce: `case $1 in 1) echo Enforcing;; 0) echo Permissive;; *) exit 1;; esac > "$FAKE_ROOT/.selinux"`,
  getprop: `[ "$1" = init.svc.lmkd ] && [ -f "$FAKE_ROOT/.lmkd" ] && cat "$FAKE_ROOT/.lmkd"; true`,
  start: `[ "$1" = lmkd ] && echo running > "$FAKE_ROOT/.lmkd"`,
  stop: `[ "$1" = lmkd ] && echo stopped > "$FAKE_ROOT/.lmkd"`,
};

export function createFakeDeviceRoot(shape: FakeDeviceShape = {}): FakeDeviceRoot {
  const base = mkdtempSync(join(tmpdir(), 'zlab-fake-device-'));
  const root = join(base, 'root');
  const bin = join(base, 'bin');
  mkdirSync(bin, { recursive: true });
  const write = (path: string, content: string) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content.endsWith('\n') || content === '' ? content : `${content}\n`);
  };
  const files = { ...FILES };
  if (shape.zswap !== false) Object.assign(files, ZSWAP);
  if (shape.cpufreq) Object.assign(files, CPUFREQ);
  if (shape.devfreq) Object.assign(files, DEVFREQ);
  if (shape.kcompressdSysctl) {
    files['proc/sys/vm/kcompressd'] = '24';
    files['proc/sys/vm/kcompressd_threads'] = '1';
    files['proc/42/comm'] = 'kcompressd0';
  }
  for (const [path, content] of Object.entries(files)) write(path, content);
  if (shape.zswap !== false) mkdirSync(join(root, 'sys/module/zsmalloc'), { recursive: true });
  if (shape.kcompressdModule) {
    write('sys/module/zram/parameters/nr_kcompressd', '4');
    write('sys/module/zram/parameters/queue_size_per_kcompressd', '4096');
    chmodSync(join(root, 'sys/module/zram/parameters/nr_kcompressd'), parseInt(shape.kcompressdModule.mode, 8));
    chmodSync(join(root, 'sys/module/zram/parameters/queue_size_per_kcompressd'), parseInt(shape.kcompressdModule.mode, 8));
  }
  const priority = shape.swapPriority === undefined ? -2 : shape.swapPriority;
  write('proc/swaps', `Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n${priority === null ? '' : `/dev/zram0\t\tpartition\t1048572\t0\t${priority}\n`}`);
  if (shape.selinux) write('.selinux', 'Enforcing');
  if (shape.swaponWithoutPriority) write('.swapon-no-p', '');
  if (shape.lmkd) write('.lmkd', 'running');

  const log = join(base, 'commands.log');
  writeFileSync(log, '');
  for (const [name, body] of Object.entries(COMMANDS)) {
    if ((name === 'getenforce' || name === 'setenforce') && !shape.selinux) continue;
    // Usage text answers before logging and failure injection: discovery asks for it.
    const help = name === 'swapon' ? `if [ "$1" = --help ]; then [ -f "$FAKE_ROOT/.swapon-no-p" ] && echo 'usage: swapon [-a] DEVICE' || echo 'usage: swapon [-p PRIORITY] DEVICE'; exit 1; fi\n` : '';
    const script = `#!/bin/sh
${help}printf '%s\\n' "${name} $*" >> ${JSON.stringify(log)}
if [ -f "$FAKE_ROOT/.fail-${name}" ]; then rm -f "$FAKE_ROOT/.fail-${name}"; echo "${name}: injected failure" >&2; exit 1; fi
${body}
`;
    writeFileSync(join(bin, name), script, { mode: 0o755 });
  }

  const calls: string[] = [];
  const device = {
    serial: `fake-${base.slice(-6)}`,
    calls,
    async shell(command: string) {
      calls.push(command);
      const result = await execa('sh', ['-c', command], {
        reject: false,
        // Relative paths (e.g. an injected "touch pwned") land in the fixture, not the checkout.
        cwd: base,
        env: { FAKE_ROOT: root, PATH: `${bin}:/usr/bin:/bin` },
        extendEnv: false,
        stripFinalNewline: false,
      });
      return { stdout: result.stdout as string, stderr: result.stderr as string, exitCode: result.exitCode ?? 1 };
    },
  };

  return {
    base,
    root,
    bin,
    device,
    read: (path) => readFileSync(join(root, path), 'utf8'),
    write,
    failNext: (command) => writeFileSync(join(root, `.fail-${command}`), ''),
    commandLog: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line && !/^(getprop|getenforce) /.test(line)),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}
