import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError, ZlabError } from '../util/errors.js';
import { stateDir } from '../util/state-dir.js';
import { parseBootImage } from './bootimg-reader.js';

/**
 * The boot image each device is known to boot, kept so that a kernel that
 * does not boot can always be replaced by one that does. The lab may name one
 * (inventory `knownGoodImage`); otherwise it is recorded under
 * stateDir()/known-good/SERIAL/ from what the device booted before zlab first
 * flashed it.
 */
export interface KnownGood {
  path: string;
  sha256: string;
  source: 'inventory' | 'recorded';
  /** How a recorded image was obtained (e.g. "slot a of the virtual device"). */
  origin: string | null;
  recordedAt: string | null;
}

const recordSchema = z.object({ sha256: z.string(), origin: z.string(), recordedAt: z.string() });

export function knownGoodDir(serial: string): string {
  return stateDir('known-good', serial.replace(/[^A-Za-z0-9._-]/g, '_'));
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The image recorded for `serial`, or null. A record whose image changed is an error, not silently trusted. */
export function recordedKnownGood(serial: string): KnownGood | null {
  const dir = knownGoodDir(serial);
  const meta = join(dir, 'known-good.json');
  if (!existsSync(meta)) return null;
  const parsed = recordSchema.safeParse(JSON.parse(readFileSync(meta, 'utf8')));
  if (!parsed.success) throw new ZlabError('infrastructure', `${meta}: not a known-good record`);
  const path = join(dir, 'boot.img');
  if (!existsSync(path) || sha256(readFileSync(path)) !== parsed.data.sha256) {
    throw new ZlabError('infrastructure', `${path}: the recorded known-good image is missing or changed since it was recorded`);
  }
  return { path, sha256: parsed.data.sha256, source: 'recorded', origin: parsed.data.origin, recordedAt: parsed.data.recordedAt };
}

/** Record `image` as `serial`'s known-good boot image (it must parse as a boot image). */
export function recordKnownGood(serial: string, image: Buffer, origin: string): KnownGood {
  try {
    parseBootImage(image);
  } catch (err) {
    throw new ZlabError('device', `${serial}: ${origin} is not a boot image, so it cannot be kept as known-good: ${(err as Error).message}`);
  }
  const dir = knownGoodDir(serial);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'boot.img');
  const digest = sha256(image);
  const recordedAt = new Date().toISOString();
  writeFileSync(`${path}.tmp`, image);
  renameSync(`${path}.tmp`, path);
  writeFileSync(`${join(dir, 'known-good.json')}.tmp`, `${JSON.stringify({ sha256: digest, origin, recordedAt }, null, 2)}\n`);
  renameSync(`${join(dir, 'known-good.json')}.tmp`, join(dir, 'known-good.json'));
  return { path, sha256: digest, source: 'recorded', origin, recordedAt };
}

/**
 * The known-good image to fall back on: the lab's, else the recorded one, else
 * the device's current image captured now. With none of them a deploy is
 * refused: it could leave the device with nothing to return to.
 */
export function resolveKnownGood(
  serial: string,
  configured: string | undefined,
  captureCurrent: (() => { image: Buffer; origin: string } | null) | undefined,
): KnownGood {
  if (configured !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(configured);
    } catch (err) {
      throw new UsageError(`knownGoodImage ${configured} for ${serial}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      parseBootImage(bytes);
    } catch (err) {
      throw new UsageError(`knownGoodImage ${configured} for ${serial}: ${(err as Error).message}`);
    }
    return { path: configured, sha256: sha256(bytes), source: 'inventory', origin: null, recordedAt: null };
  }
  const recorded = recordedKnownGood(serial);
  if (recorded) return recorded;
  const current = captureCurrent?.();
  if (current) return recordKnownGood(serial, current.image, current.origin);
  throw new UsageError(
    `${serial} has no known-good boot image: set knownGoodImage for it in lab.yaml (zlab would have nothing to restore if the new kernel does not boot)`,
  );
}
