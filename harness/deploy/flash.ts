import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { UsageError, ZlabError } from '../util/errors.js';
import { parseBootImage } from './bootimg-reader.js';
import { FastbootClient, FastbootError } from './fastboot.js';
import type { Slot } from './fastboot-slots.js';
import { declaredTarget, type DeclaredTarget } from './image-target.js';

/**
 * Flashing a boot image with every check done before a byte of it is sent:
 * the image parses, the device is allowed, its product matches the image's
 * declared target, and the image fits max-download-size and the partition.
 */

export type FlashRefusal = 'image' | 'allowlist' | 'product' | 'size';

export class FlashRefusedError extends ZlabError {
  readonly reason: FlashRefusal;
  constructor(reason: FlashRefusal, message: string, details: Record<string, unknown> = {}) {
    super('usage', message, { reason, ...details });
    this.name = 'FlashRefusedError';
    this.reason = reason;
  }
}

export interface FlashRequest {
  /** fastboot target: tcp:HOST:PORT or a USB serial. */
  target: string;
  imagePath: string;
  /** Flash this slot instead of the current one. */
  slot?: Slot;
  /** `fastboot boot`: run the image once, flash nothing. */
  oneShot?: boolean;
  /** The lab's override of the image's declared product. */
  product?: string;
  /** When set, only these serials (the target or the bootloader's serialno) may be flashed. */
  allowedSerials?: readonly string[];
  /** Bring the device into bootloader mode (e.g. `adb reboot bootloader`); called after the offline checks. */
  enterBootloader?: () => Promise<void>;
  commandTimeoutMs?: number;
  transferTimeoutMs?: number;
}

export interface FlashResult {
  target: string;
  product: string;
  declared: DeclaredTarget;
  /** The slot written, or null for a one-shot boot. */
  slot: Slot | null;
  oneShot: boolean;
  image: { path: string; size: number; sha256: string; headerVersion: number; cmdline: string };
}

export async function flashBootImage(request: FlashRequest, client?: FastbootClient): Promise<FlashResult> {
  if (request.slot !== undefined && request.oneShot) throw new UsageError('--slot and --one-shot exclude each other: a one-shot boot writes no slot');
  if (request.slot !== undefined && request.slot !== 'a' && request.slot !== 'b') {
    throw new UsageError(`--slot: "${String(request.slot)}" is not a or b`);
  }
  // 1. The image, offline.
  let bytes: Buffer;
  try {
    bytes = readFileSync(request.imagePath);
  } catch (err) {
    throw new FlashRefusedError('image', `${request.imagePath}: cannot read the image: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let image;
  try {
    image = parseBootImage(bytes);
  } catch (err) {
    throw new FlashRefusedError('image', `${request.imagePath}: ${(err as Error).message}`, { cause: (err as ZlabError).details });
  }
  const declared = declaredTarget(image, request.imagePath, request.product);
  const fastboot = client ?? new FastbootClient({
    target: request.target,
    commandTimeoutMs: request.commandTimeoutMs,
    transferTimeoutMs: request.transferTimeoutMs,
  });
  if (request.allowedSerials && request.allowedSerials.length === 0) {
    throw new FlashRefusedError('allowlist', `${fastboot.target} is not on the lab's flashing allowlist (it is empty)`);
  }

  // 2. The device, read-only questions.
  await request.enterBootloader?.();
  if (request.allowedSerials && !request.allowedSerials.includes(fastboot.target)) {
    // The target may be a transport address (tcp:…); the bootloader's own serial may be the one listed.
    const serialno = await optionalVar(fastboot, 'serialno');
    if (!serialno || !request.allowedSerials.includes(serialno)) {
      throw new FlashRefusedError(
        'allowlist',
        `${fastboot.target}${serialno ? ` (serialno ${serialno})` : ''} is not on the lab's flashing allowlist: ${request.allowedSerials.join(', ')}`,
      );
    }
  }
  const product = await fastboot.getvar('product');
  if (product !== declared.product) {
    throw new FlashRefusedError(
      'product',
      `${request.imagePath} is for product "${declared.product}" (from its ${declared.source}), but ${fastboot.target} is "${product}"`,
      { declared: declared.product, device: product },
    );
  }
  const maxDownload = await optionalVar(fastboot, 'max-download-size');
  if (maxDownload && bytes.length > parseSize(maxDownload)) {
    throw new FlashRefusedError('size', `${request.imagePath} is ${bytes.length} bytes, above ${fastboot.target}'s max-download-size ${maxDownload}`);
  }
  let slot: Slot | null = null;
  if (!request.oneShot) {
    slot = request.slot ?? (await currentSlot(fastboot));
    const partition = slot ? `boot_${slot}` : 'boot';
    const partitionSize = await optionalVar(fastboot, `partition-size:${partition}`);
    if (partitionSize && bytes.length > parseSize(partitionSize)) {
      throw new FlashRefusedError(
        'size',
        `${request.imagePath} is ${bytes.length} bytes, larger than partition ${partition} (${parseSize(partitionSize)} bytes)`,
      );
    }
  }

  // 3. Only now does the image leave the host.
  if (request.oneShot) await fastboot.boot(request.imagePath);
  else await fastboot.flashBoot(request.imagePath, request.slot);
  return {
    target: fastboot.target,
    product,
    declared,
    slot,
    oneShot: Boolean(request.oneShot),
    image: {
      path: request.imagePath,
      size: statSync(request.imagePath).size,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      headerVersion: image.headerVersion,
      cmdline: image.cmdline,
    },
  };
}

/** A variable the device may not have: a remote FAIL means "unknown", anything else propagates. */
async function optionalVar(fastboot: FastbootClient, name: string): Promise<string | null> {
  try {
    const value = await fastboot.getvar(name);
    return value === '' ? null : value;
  } catch (err) {
    if (err instanceof FastbootError && err.reason === 'remote') return null;
    throw err;
  }
}

/** The current slot of an A/B device, or null on a device without slots. */
async function currentSlot(fastboot: FastbootClient): Promise<Slot | null> {
  const value = await optionalVar(fastboot, 'current-slot');
  if (value === null) return null;
  const slot = value.replace(/^_/, '');
  if (slot !== 'a' && slot !== 'b') throw new ZlabError('device', `${fastboot.target}: current-slot "${value}" is not a or b`);
  return slot;
}

function parseSize(text: string): number {
  const value = Number(text.trim());
  if (!Number.isFinite(value) || value <= 0) throw new ZlabError('device', `bootloader reported a size "${text}" that is not a number`);
  return value;
}
