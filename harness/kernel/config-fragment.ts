import { ZlabError, UsageError } from '../util/errors.js';

/** A Kconfig value as .config writes it: y, m, a number, a quoted string, or n for "is not set". */
export type KconfigValue = string;

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/**
 * Parse .config text or a fragment into option → value ("n" for "is not set").
 * Other comments and blank lines are skipped; anything else is an error that
 * names the line, so a typo in a fragment cannot pass silently.
 */
export function parseKconfig(text: string, name = 'config'): Map<string, KconfigValue> {
  const options = new Map<string, KconfigValue>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const set = SET.exec(line);
    const unset = UNSET.exec(line);
    let option: string;
    let value: string;
    if (set) [, option, value] = set as unknown as [string, string, string];
    else if (unset) [option, value] = [unset[1] as string, 'n'];
    else if (line.startsWith('#')) continue;
    else throw new UsageError(`${name}:${i + 1}: not a Kconfig line: "${line}"`);
    if (value === '') throw new UsageError(`${name}:${i + 1}: ${option} has no value`);
    const previous = options.get(option);
    if (previous !== undefined && previous !== value) {
      throw new UsageError(`${name}:${i + 1}: ${option} is set twice (${previous}, then ${value})`);
    }
    options.set(option, value);
  }
  return options;
}

export interface ConfigMismatch {
  option: string;
  wanted: KconfigValue;
  /** What the configured tree has; "n" when the option is absent. */
  got: KconfigValue;
}

/**
 * Every option a fragment asks for, compared with the configured .config.
 * Kconfig drops an option silently when a dependency is missing; this is how
 * zlab notices. An absent option counts as "n".
 */
export function checkFragment(wanted: Map<string, KconfigValue>, configured: Map<string, KconfigValue>): ConfigMismatch[] {
  const mismatches: ConfigMismatch[] = [];
  for (const [option, value] of wanted) {
    const got = configured.get(option) ?? 'n';
    if (got !== value) mismatches.push({ option, wanted: value, got });
  }
  return mismatches;
}

/** Throw a kernel error naming every option that did not end up as asked. */
export function assertFragmentApplied(wanted: Map<string, KconfigValue>, configured: Map<string, KconfigValue>, where: string): void {
  const mismatches = checkFragment(wanted, configured);
  if (!mismatches.length) return;
  const list = mismatches.map((m) => `${m.option} (wanted ${m.wanted}, got ${m.got})`).join(', ');
  throw new ZlabError('kernel', `${where}: ${mismatches.length} config option(s) did not end up as asked: ${list}; a dependency is probably missing from the fragment`, {
    mismatches,
  });
}
