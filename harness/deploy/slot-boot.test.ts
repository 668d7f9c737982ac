import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootImage } from './bootimg.js';
import { SlotStore } from './fastboot-slots.js';
import { bootFilesForSlot } from './slot-boot.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-slotboot-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('bootFilesForSlot', () => {
  it('extracts kernel, ramdisk and cmdline of the active slot, or of a given one', () => {
    const store = new SlotStore(join(dir, 'slots'));
    store.store('a', buildBootImage({ kernel: Buffer.alloc(5000, 1), ramdisk: Buffer.alloc(300, 2), cmdline: 'slot a' }));
    store.store('b', buildBootImage({ headerVersion: 2, kernel: Buffer.alloc(6000, 3), cmdline: 'slot b' }));
    store.setActive('b');
    const active = bootFilesForSlot(join(dir, 'slots'), join(dir, 'out-b'));
    expect(active).toMatchObject({ slot: 'b', cmdline: 'slot b', ramdisk: null });
    expect(readFileSync(active.kernel).equals(Buffer.alloc(6000, 3))).toBe(true);
    const a = bootFilesForSlot(join(dir, 'slots'), join(dir, 'out-a'), 'a');
    expect(a.cmdline).toBe('slot a');
    expect(readFileSync(a.ramdisk!).equals(Buffer.alloc(300, 2))).toBe(true);
  });

  it('says so when a slot is empty or holds something unreadable', () => {
    const store = new SlotStore(join(dir, 'slots'));
    expect(() => bootFilesForSlot(store.dir, join(dir, 'out'))).toThrow(/slot a holds no boot image/);
    writeFileSync(store.imagePath('b'), Buffer.from('garbage garbage'));
    expect(() => bootFilesForSlot(store.dir, join(dir, 'out'), 'b')).toThrow(/slot b holds an unreadable boot image: boot image: magic is "garbage "/);
  });
});
