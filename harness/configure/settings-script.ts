import { shellCommand, shellQuote } from '../device/shell-quote.js';
import { ZlabError } from '../util/errors.js';
import type { ScriptOptions } from './device-shell.js';
import { discoveryBody, scriptPrelude } from './discovery-script.js';
import { parseDiscovery, type DeviceState } from './device-state.js';
import { sortSettings, type Setting, type ZramSetup } from './settings.js';

/*
 * One script writes a list of settings and then reads everything back, so
 * that apply (and restore) cost one round trip. It stops at the first
 * failure. Records, besides discovery's (see discovery-script.ts):
 *   step <label>            about to write this setting
 *   fail <label> <detail>   that write failed; the script exits 3
 *   applied                 every setting was written; the readback follows
 * Every value and path is quoted by shellQuote; nothing else reaches the shell.
 */

export const MAX_SCRIPT_LENGTH = 60_000;

const HELPERS = [
  `S=''`,
  `step() { S=$1; printf 'step\\t%s\\n' "$1"; }`,
  `fail() { printf 'fail\\t%s\\t%s\\n' "$S" "$1"; exit 3; }`,
  // w PATH VALUE: one sysfs/procfs write, failing loudly.
  `w() { printf '%s\\n' "$2" > "$R$1" || fail "cannot write $2 to $1"; }`,
].join('\n');

function write(path: string, value: string | number): string {
  return shellCommand(['w', path, value]);
}

function zramLines(index: number, setup: ZramSetup): string[] {
  const dir = `/sys/block/zram${index}`;
  const name = `zram${index}`;
  const lines = [
    // Android names the node /dev/block/zramN, Linux /dev/zramN.
    `node=${shellQuote(`/dev/${name}`)}; [ -e "$R"${shellQuote(`/dev/block/${name}`)} ] && node=${shellQuote(`/dev/block/${name}`)}`,
    // Swap off whatever /proc/swaps lists for this device, under its listed name.
    `while read -r n _; do case $n in */${name}) swapoff "$R$n" </dev/null 2>&1 || fail "swapoff $n failed (not enough free memory?)";; esac; done < "$R/proc/swaps"`,
    write(`${dir}/reset`, 1),
    write(`${dir}/comp_algorithm`, setup.algorithm),
  ];
  if (setup.params) {
    const words = [`algo=${setup.algorithm}`];
    if (setup.params.level !== undefined) words.push(`level=${setup.params.level}`);
    if (setup.params.dict !== undefined) words.push(`dict=${setup.params.dict}`);
    lines.push(write(`${dir}/algorithm_params`, words.join(' ')));
  }
  if (setup.maxCompStreams !== null) lines.push(write(`${dir}/max_comp_streams`, setup.maxCompStreams));
  if (setup.backingDev !== null && setup.backingDev !== 'none') lines.push(write(`${dir}/backing_dev`, setup.backingDev));
  if (setup.memLimit > 0) lines.push(write(`${dir}/mem_limit`, setup.memLimit));
  if (setup.disksize > 0) lines.push(write(`${dir}/disksize`, setup.disksize));
  if (setup.swap && setup.disksize > 0) {
    lines.push(`out=$(mkswap "$R$node" 2>&1) || fail "mkswap $node: $out"`);
    const priority = setup.swap.priority;
    const swapon = typeof priority === 'number' && priority >= 0 ? `swapon -p ${shellQuote(priority)}` : 'swapon';
    lines.push(`out=$(${swapon} "$R$node" 2>&1) || fail "swapon $node: $out"`);
  }
  return lines;
}

function settingLines(s: Setting): string[] {
  const lines = [shellCommand(['step', s.label])];
  switch (s.kind) {
    case 'file':
      lines.push(write(s.path, s.value));
      break;
    case 'zram':
      lines.push(...zramLines(s.index, s.setup));
      break;
    case 'range':
      if (s.ceiling !== null) lines.push(write(`${s.dir}/${s.maxFile}`, s.ceiling));
      lines.push(write(`${s.dir}/${s.minFile}`, s.min), write(`${s.dir}/${s.maxFile}`, s.max));
      break;
    case 'selinux':
      lines.push(`setenforce ${s.mode === 'Enforcing' ? 1 : 0} 2>&1 || fail 'setenforce failed'`);
      break;
    case 'lmkd':
      lines.push(`${s.state === 'stopped' ? 'stop' : 'start'} lmkd 2>&1 || fail 'could not ${s.state === 'stopped' ? 'stop' : 'start'} lmkd'`);
      break;
  }
  return lines;
}

/** The script that writes `settings` (in phase order) and reads the device back. */
export function settingsScript(settings: Setting[], options: ScriptOptions = {}): string {
  const script = [
    scriptPrelude(options),
    HELPERS,
    ...sortSettings(settings).flatMap(settingLines),
    `printf 'applied\\n'`,
    discoveryBody(),
    '',
  ].join('\n');
  // adb carries a command in one request of at most 64 KiB.
  if (script.length > MAX_SCRIPT_LENGTH) {
    throw new ZlabError('bug', `the generated script is ${script.length} bytes, too long for one adb command (${MAX_SCRIPT_LENGTH})`);
  }
  return script;
}

export interface SettingsOutcome {
  /** Labels of the settings the script started, in order. */
  started: string[];
  failure: { label: string; detail: string } | null;
  /** The device as read back after every setting was written (null after a failure). */
  readback: DeviceState | null;
}

export function parseSettingsOutput(stdout: string, stderr = ''): SettingsOutcome {
  const started: string[] = [];
  let failure: SettingsOutcome['failure'] = null;
  const marker = stdout.indexOf('\napplied\n');
  const head = marker >= 0 ? stdout.slice(0, marker) : stdout.startsWith('applied\n') ? '' : stdout;
  for (const line of head.split('\n')) {
    const [tag, label = '', ...rest] = line.split('\t');
    if (tag === 'step') started.push(label);
    else if (tag === 'fail') failure = { label, detail: rest.join('\t') || stderr.trim().split('\n').pop() || 'failed' };
  }
  const appliedAt = stdout.startsWith('applied\n') ? 0 : marker >= 0 ? marker + 1 : -1;
  if (failure || appliedAt < 0) {
    if (!failure) {
      failure = {
        label: started.at(-1) ?? '(start)',
        detail: `the script stopped without reporting why${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`,
      };
    }
    return { started, failure, readback: null };
  }
  const tail = stdout.slice(appliedAt + 'applied\n'.length);
  try {
    return { started, failure: null, readback: parseDiscovery(tail) };
  } catch (err) {
    throw new ZlabError('device', 'the device was changed but could not be read back (output cut short)', { cause: String(err) });
  }
}
