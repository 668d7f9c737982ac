import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTemporaryStateDir } from '../testing/temporary-state-dir.js';
import { UsageError } from '../util/errors.js';
import { buildBootImage } from './bootimg.js';
import { knownGoodDir, recordKnownGood, recordedKnownGood, resolveKnownGood } from './known-good.js';

const stateDir = useTemporaryStateDir('zlab-known-good-');

const image = (cmdline: string) => buildBootImage({ headerVersion: 2, kernel: Buffer.from('kernel'), cmdline, name: 'board' });

describe('known-good images', () => {
  it('captures the current image once and keeps it, later captures not asked for', () => {
    const first = resolveKnownGood('127.0.0.1:5555', undefined, () => ({ image: image('one'), origin: 'slot a' }));
    expect(first).toMatchObject({ source: 'recorded', origin: 'slot a' });
    expect(first.path.startsWith(knownGoodDir('127.0.0.1:5555'))).toBe(true);
    const again = resolveKnownGood('127.0.0.1:5555', undefined, () => {
      throw new Error('must not capture again');
    });
    expect(again.sha256).toBe(first.sha256);
  });

  it("the lab's image wins over a recorded one, and must be a boot image", () => {
    recordKnownGood('dev1', image('recorded'), 'slot a');
    const path = join(stateDir(), 'lab.img');
    writeFileSync(path, image('lab'));
    expect(resolveKnownGood('dev1', path, undefined)).toMatchObject({ source: 'inventory', path });
    writeFileSync(path, Buffer.from('not an image at all, not at all'));
    expect(() => resolveKnownGood('dev1', path, undefined)).toThrow(/knownGoodImage .*lab\.img for dev1: /);
  });

  it('refuses a device with nothing to fall back on', () => {
    expect(() => resolveKnownGood('phone1', undefined, () => null)).toThrow(UsageError);
    expect(() => resolveKnownGood('phone1', undefined, () => null)).toThrow(/no known-good boot image: set knownGoodImage/);
  });

  it('a recorded image that changed on disk is an error, not trusted', () => {
    const recorded = recordKnownGood('dev2', image('x'), 'slot b');
    writeFileSync(recorded.path, image('tampered'));
    expect(() => recordedKnownGood('dev2')).toThrow(/missing or changed/);
  });

  it('refuses to record what is not a boot image', () => {
    expect(() => recordKnownGood('dev3', Buffer.from('garbage'), 'slot a')).toThrow(/not a boot image/);
  });
});
