import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, ZlabError } from '../util/errors.js';
import { stateDir } from '../util/state-dir.js';
import { CALIBRATION_VERSION, CalibrationSchema, READABLE_CALIBRATION_VERSIONS, type Calibration } from './calibration.js';
import { describeZodIssues } from './model-input.js';

/**
 * Calibrations on disk, one JSON file per device + kernel release under
 * stateDir('calibrations'). A newer calibration for the same pair replaces
 * the older one; a file of another version is refused, not guessed at.
 */
export function calibrationPath(device: string, kernelRelease: string): string {
  return join(stateDir('calibrations'), `${fileKey(device)}@${fileKey(kernelRelease)}.json`);
}

export function saveCalibration(calibration: Calibration): string {
  const valid = CalibrationSchema.parse(calibration);
  const path = calibrationPath(valid.device, valid.kernelRelease);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(valid, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

/** The stored calibration for a device and kernel, or undefined when there is none. */
export function findCalibration(device: string, kernelRelease: string): Calibration | undefined {
  const path = calibrationPath(device, kernelRelease);
  return existsSync(path) ? readCalibrationFile(path) : undefined;
}

export function listCalibrations(): Calibration[] {
  const dir = stateDir('calibrations');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => readCalibrationFile(join(dir, name)));
}

export function readCalibrationFile(path: string): Calibration {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`calibration ${path}: not readable JSON (${(err as Error).message})`);
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && !READABLE_CALIBRATION_VERSIONS.includes(version)) {
    throw new ZlabError('usage', `calibration ${path}: version ${version} is not supported (this zlab reads versions ${READABLE_CALIBRATION_VERSIONS.join(', ')}; it writes ${CALIBRATION_VERSION}); recalibrate`);
  }
  const parsed = CalibrationSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`calibration ${path}: ${describeZodIssues(parsed.error)}`);
  return parsed.data;
}

/** A name safe as one path component: anything outside [A-Za-z0-9._-] becomes %XX. */
function fileKey(value: string): string {
  if (value.length === 0) throw new UsageError('calibration key must not be empty');
  return value.replace(/[^A-Za-z0-9._-]/g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/^\.+/, (dots) => '%2e'.repeat(dots.length));
}
