import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ZlabError } from '../util/errors.js';

/**
 * The A/B boot slots of the virtual device's bootloader, kept as files in one
 * directory so that they outlive the bootloader process: boot_a.img,
 * boot_b.img and slots.json (the active slot).
 */
export type Slot = 'a' | 'b';
export const SLOTS: readonly Slot[] = ['a', 'b'];

export interface SlotImage {
  path: string;
  size: number;
  sha256: string;
}

export interface SlotState {
  active: Slot;
  slots: Record<Slot, SlotImage | null>;
}

const stateSchema = z.object({ active: z.enum(['a', 'b']) });

export class SlotStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  imagePath(slot: Slot): string {
    return join(this.dir, `boot_${slot}.img`);
  }

  get active(): Slot {
    const file = join(this.dir, 'slots.json');
    if (!existsSync(file)) return 'a';
    const parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new ZlabError('infrastructure', `${file}: not a slot state file`);
    return parsed.data.active;
  }

  setActive(slot: Slot): void {
    this.writeAtomic(join(this.dir, 'slots.json'), Buffer.from(`${JSON.stringify({ active: slot })}\n`));
  }

  store(slot: Slot, image: Buffer): void {
    this.writeAtomic(this.imagePath(slot), image);
  }

  erase(slot: Slot): void {
    rmSync(this.imagePath(slot), { force: true });
  }

  read(slot: Slot): Buffer | null {
    const path = this.imagePath(slot);
    return existsSync(path) ? readFileSync(path) : null;
  }

  state(): SlotState {
    const describe = (slot: Slot): SlotImage | null => {
      const path = this.imagePath(slot);
      if (!existsSync(path)) return null;
      const data = readFileSync(path);
      return { path, size: statSync(path).size, sha256: createHash('sha256').update(data).digest('hex') };
    };
    return { active: this.active, slots: { a: describe('a'), b: describe('b') } };
  }

  /** Write then rename, so a crash never leaves half an image in a slot. */
  private writeAtomic(path: string, data: Buffer): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  }
}

/** The slot state kept in `dir`, readable while no bootloader is serving it. */
export function readSlotState(dir: string): SlotState {
  return new SlotStore(dir).state();
}
