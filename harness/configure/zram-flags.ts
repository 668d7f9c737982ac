import { UsageError } from '../util/errors.js';
import { parseConfiguration, type Configuration } from './config-schema.js';

/** `zlab zram set` flags as commander hands them over: strings, and --swap/--no-swap. */
export interface ZramFlags {
  device?: string;
  algorithm?: string;
  level?: string;
  disksize?: string;
  memLimit?: string;
  streams?: string;
  backingDev?: string;
  priority?: string;
  swap?: boolean;
  compMode?: string;
}

function wholeNumber(flag: string, text: string): number {
  if (!/^-?\d{1,9}$/.test(text)) throw new UsageError(`${flag}: ${JSON.stringify(text.slice(0, 40))} is not a whole number`);
  return Number(text);
}

/** The configuration the flags describe, validated by the same schema as a file. */
export function zramSetConfiguration(flags: ZramFlags): Configuration {
  const zram: Record<string, unknown> = {};
  if (flags.device !== undefined) zram.device = wholeNumber('--device', flags.device);
  if (flags.algorithm !== undefined) zram.algorithm = flags.algorithm;
  if (flags.level !== undefined) zram.algorithm_params = { level: wholeNumber('--level', flags.level) };
  if (flags.disksize !== undefined) zram.disksize = flags.disksize;
  if (flags.memLimit !== undefined) zram.mem_limit = flags.memLimit;
  if (flags.streams !== undefined) zram.max_comp_streams = wholeNumber('--streams', flags.streams);
  if (flags.backingDev !== undefined) zram.backing_dev = flags.backingDev;
  if (flags.priority !== undefined) zram.priority = wholeNumber('--priority', flags.priority);
  if (flags.swap !== undefined) zram.swap = flags.swap;
  if (flags.compMode !== undefined) zram.comp_mode = flags.compMode;
  if (Object.keys(zram).filter((k) => k !== 'device').length === 0) {
    throw new UsageError(
      'zram set: nothing to set; give at least one of --algorithm, --disksize, --mem-limit, --streams, --level, --backing-dev, --priority, --comp-mode, --swap/--no-swap',
    );
  }
  return parseConfiguration({ zram }, 'zram set');
}
