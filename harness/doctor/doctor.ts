import type { Device } from '../device/device.js';
import { PROBE_SCRIPT, parseProbeOutput, type ProbeSections } from './probe.js';

export type Verdict = 'ok' | 'warn' | 'fail' | 'info';

export interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
}

export interface KcompressdFinding {
  present: boolean;
  threads: string[];
  knobs: Record<string, string>;
  /** Which public design the evidence points at, when it points at one. */
  design: 'none' | 'per-node-sysctl' | 'zram-module-params' | 'vendor-comp-mode' | 'unknown';
}

export interface DoctorReport {
  serial: string;
  kernel: string;
  checks: Check[];
  kcompressd: KcompressdFinding;
  healthy: boolean;
}

type DeviceLike = Pick<Device, 'serial' | 'shell'>;

/** Judge a device's fitness for reclaim experiments from one probe round trip. */
export async function runDoctor(device: DeviceLike): Promise<DoctorReport> {
  const probe = await device.shell(PROBE_SCRIPT, { timeoutMs: 30_000 });
  return judge(device.serial, parseProbeOutput(probe.stdout));
}

export function judge(serial: string, s: ProbeSections): DoctorReport {
  const checks: Check[] = [];
  const add = (name: string, verdict: Verdict, detail: string) => checks.push({ name, verdict, detail });
  const first = (key: string) => s[key]?.[0]?.trim() ?? '';

  add('adb', 'ok', `shell answers (${first('model') || 'unknown model'}, ${first('abi') || 'unknown ABI'})`);
  const uid = first('uid');
  add('root', uid === '0' ? 'ok' : 'fail', uid === '0' ? 'shell runs as root' : `shell runs as uid ${uid || '?'}; run \`adb root\` (zram and sysctls need root)`);
  const kernel = first('uname');
  add('kernel', kernel ? 'info' : 'warn', kernel ? `${kernel} — ${first('version')}` : 'could not read the kernel release');

  const zram = (s.zram ?? []).map((line) => {
    const [name, algorithms = '', disksize = '0'] = line.split('\t');
    const selected = /\[([^\]]+)\]/.exec(algorithms)?.[1] ?? '?';
    return { name: name ?? '?', selected, algorithms: algorithms.replace(/[[\]]/g, '').trim(), disksize: Number(disksize) };
  });
  add(
    'zram',
    zram.length ? 'ok' : 'fail',
    zram.length ? zram.map((z) => `${z.name}: ${z.selected} of {${z.algorithms}}, disksize ${formatBytes(z.disksize)}`).join('; ') : 'no zram device (is the zram module loaded?)',
  );

  const swaps = (s.swaps ?? []).slice(1).map((l) => l.split(/\s+/));
  add('swap', swaps.length ? 'ok' : 'warn', swaps.length ? swaps.map((f) => `${f[0]} ${f[2] ?? '?'} KiB prio ${f[4] ?? '?'}`).join('; ') : 'no active swap');

  const psi = s.psi ?? [];
  add('psi', psi.some((l) => l.startsWith('some')) ? 'ok' : 'fail', psi.length ? psi.join(' | ') : 'no /proc/pressure/memory (CONFIG_PSI off or psi=0)');

  const thermal = s.thermal ?? [];
  add('thermal', thermal.length ? 'ok' : 'info', thermal.length ? `${thermal.length} zone(s): ${thermal.map((t) => t.split('\t')[1]).join(', ')}` : 'no thermal zones (normal for a VM)');

  const cpufreq = s.cpufreq ?? [];
  add('cpufreq', cpufreq.length ? 'ok' : 'info', cpufreq.length ? cpufreq.map((p) => p.split('\t').slice(0, 2).join(' ')).join('; ') : 'no cpufreq policies (normal for a VM)');

  const threads = [...new Set(s.threads ?? [])];
  const kswapd = threads.filter((t) => t.startsWith('kswapd'));
  add('kswapd', kswapd.length ? 'ok' : 'warn', kswapd.length ? kswapd.join(', ') : 'no kswapd thread found');

  const kcompressd = findKcompressd(threads, s.knobs ?? []);
  add(
    'kcompressd',
    'info',
    kcompressd.present
      ? `present (${kcompressd.design}): threads ${kcompressd.threads.join(', ') || 'none yet'}; knobs ${Object.entries(kcompressd.knobs).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`
      : 'absent (no kcompressd threads, module parameters or sysctls)',
  );

  return { serial, kernel, checks, kcompressd, healthy: checks.every((c) => c.verdict !== 'fail') };
}

function findKcompressd(threads: string[], knobLines: string[]): KcompressdFinding {
  const kthreads = threads.filter((t) => t.startsWith('kcompressd'));
  const knobs: Record<string, string> = {};
  for (const line of knobLines) {
    const [path, value = ''] = line.split('\t');
    if (path) knobs[path] = value.trim();
  }
  const paths = Object.keys(knobs);
  let design: KcompressdFinding['design'] = 'none';
  if (paths.some((p) => p.startsWith('/proc/sys/vm/kcompressd'))) design = 'per-node-sysctl';
  else if (paths.some((p) => p.startsWith('/sys/module/'))) design = 'zram-module-params';
  else if (paths.some((p) => p.endsWith('/comp_mode') && /kcompressd/.test(knobs[p] ?? ''))) design = 'vendor-comp-mode';
  else if (kthreads.length) design = 'unknown';
  // comp_mode alone (without kcompressd among its modes) is not evidence.
  const present = design !== 'none';
  return { present, threads: kthreads, knobs: present ? knobs : {}, design };
}

function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`;
}
