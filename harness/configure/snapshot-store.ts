import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ZlabError } from '../util/errors.js';
import { stateDir } from '../util/state-dir.js';
import { settingId, sortSettings, type Setting } from './settings.js';

/*
 * The snapshot of every knob an apply touches, kept on the host before the
 * device changes so that restore works after a crash, a kill or a lost
 * connection. One pending snapshot per device; it is removed once restored.
 */

export interface Snapshot {
  version: 1;
  serial: string;
  takenAt: string;
  kernel: string | null;
  settings: Setting[];
}

// What a snapshot file may hold: values go back into a device shell, so the
// file is validated as strictly as a configuration (and quoted like one).
const text = z.string().max(4096).regex(/^[^\0\n\r]*$/, 'must be one line of text');
const sysPath = z.string().max(512).regex(/^\/(?:sys|proc)\/[A-Za-z0-9_.,:@+/-]+$/, 'is not a /sys or /proc path').refine((p) => !p.split('/').includes('..'));
const fileName = z.string().max(64).regex(/^[A-Za-z0-9_]+$/);
const count = z.number().int().min(0).max(2 ** 50);

const settingSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('file'), label: text, path: sysPath, value: text }),
  z.strictObject({
    kind: z.literal('zram'),
    label: text,
    index: z.number().int().min(0).max(31),
    setup: z.strictObject({
      algorithm: z.string().max(32).regex(/^[a-z0-9][a-z0-9_-]*$/),
      params: z.null(),
      maxCompStreams: z.number().int().min(1).max(256).nullable(),
      disksize: count,
      memLimit: count,
      backingDev: z.union([z.literal('none'), z.string().max(255).regex(/^\/[A-Za-z0-9_.+/-]+$/)]).nullable(),
      swap: z.strictObject({ priority: z.union([z.number().int().min(-32768).max(32767), z.literal('auto')]) }).nullable(),
    }),
  }),
  z.strictObject({
    kind: z.literal('range'),
    label: text,
    dir: sysPath,
    minFile: fileName,
    maxFile: fileName,
    ceiling: count.nullable(),
    min: count,
    max: count,
  }),
  z.strictObject({ kind: z.literal('selinux'), label: text, mode: z.enum(['Enforcing', 'Permissive']) }),
  z.strictObject({ kind: z.literal('lmkd'), label: text, state: z.enum(['running', 'stopped']) }),
]);

const snapshotSchema = z.strictObject({
  version: z.literal(1),
  serial: z.string().max(256),
  takenAt: z.string().max(64),
  kernel: z.string().max(256).nullable(),
  settings: z.array(settingSchema).max(4096),
});

/** A folder name for a serial: readable, and distinct even when two serials differ only in odd characters. */
export function serialDirName(serial: string): string {
  const readable = serial.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  const hash = createHash('sha256').update(serial).digest('hex').slice(0, 8);
  return `${readable}-${hash}`;
}

export function snapshotPath(serial: string): string {
  return join(stateDir('snapshots', serialDirName(serial)), 'pending.json');
}

/** Write atomically: a reader sees the old file or the new one, never half of one. */
export function saveSnapshot(snapshot: Snapshot): string {
  const path = snapshotPath(snapshot.serial);
  // Refuse now, before the device changes, what could not be loaded back later.
  const valid = snapshotSchema.safeParse(snapshot);
  if (!valid.success) {
    const problems = valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ZlabError('device', `cannot keep a snapshot of these knobs (${problems}); nothing was changed`, { path });
  }
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(snapshot, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  return path;
}

export function loadSnapshot(serial: string): Snapshot | null {
  const path = snapshotPath(serial);
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ZlabError('infrastructure', `snapshot ${path} is not valid JSON; inspect it and remove it to continue`, { path });
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ZlabError('infrastructure', `snapshot ${path} is not a valid snapshot (${problems}); inspect it and remove it to continue`, { path });
  }
  if (parsed.data.serial !== serial) {
    throw new ZlabError('infrastructure', `snapshot ${path} belongs to ${parsed.data.serial}, not ${serial}`, { path });
  }
  return parsed.data as Snapshot;
}

export function removeSnapshot(serial: string): void {
  rmSync(snapshotPath(serial), { force: true });
}

/**
 * Add knobs to a pending snapshot. A knob already in it keeps its older
 * value: that is what the device had before zlab touched it.
 */
export function mergeSnapshot(pending: Snapshot | null, fresh: Snapshot): Snapshot {
  if (!pending) return fresh;
  const known = new Set(pending.settings.map(settingId));
  return {
    ...pending,
    settings: sortSettings([...pending.settings, ...fresh.settings.filter((s) => !known.has(settingId(s)))]),
  };
}
