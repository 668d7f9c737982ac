import { UsageError } from '../util/errors.js';

/**
 * Frequencies in a configuration: a bare number in the unit of the sysfs file
 * it goes to (kHz for cpufreq, Hz for devfreq), or a number with a unit
 * ("1.8GHz", "800MHz", "1804800kHz", "200000000Hz").
 */
export type Frequency = { raw: number } | { hz: number };

const FREQ = /^(\d{1,12}(?:\.\d{1,6})?)\s?(Hz|kHz|MHz|GHz)$/i;
const SCALE: Record<string, number> = { hz: 1, khz: 1e3, mhz: 1e6, ghz: 1e9 };
const MAX_HZ = 1e12;

export function parseFrequency(value: string | number, field: string): Frequency {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0 || value > MAX_HZ) {
      throw new UsageError(`${field}: ${value} is not a frequency; use a positive whole number or e.g. 1.8GHz`);
    }
    return { raw: value };
  }
  const match = FREQ.exec(value.trim());
  if (!match) {
    throw new UsageError(`${field}: ${JSON.stringify(value.slice(0, 80))} is not a frequency; use e.g. 1804800, 1.8GHz or 800MHz`);
  }
  const hz = Math.round(Number(match[1]) * SCALE[match[2]!.toLowerCase()]!);
  if (hz <= 0 || hz > MAX_HZ) throw new UsageError(`${field}: "${value}" is out of range`);
  return { hz };
}

/** The value in the unit of the target file (unitHz = 1000 for cpufreq's kHz). */
export function frequencyIn(freq: Frequency, unitHz: number): number {
  return 'raw' in freq ? freq.raw : Math.round(freq.hz / unitHz);
}
