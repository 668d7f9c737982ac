import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, ZlabError } from '../util/errors.js';
import { buildBootImage } from './bootimg.js';
import { deployKernel } from './deploy.js';
import { FlashRefusedError } from './flash.js';

/** Checks a deploy makes before it touches any device (the serial below answers nothing). */
let work: string;
const saved = process.env.ZLAB_STATE_DIR;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'zlab-deploy-'));
  process.env.ZLAB_STATE_DIR = work;
});
afterEach(() => {
  if (saved === undefined) delete process.env.ZLAB_STATE_DIR;
  else process.env.ZLAB_STATE_DIR = saved;
  rmSync(work, { recursive: true, force: true });
});

function bzImage(version: string): Buffer {
  const buf = Buffer.alloc(0x1000);
  buf.write('HdrS', 0x202, 'latin1');
  buf.writeUInt16LE(0x400, 0x20e);
  buf.write(`${version}\0`, 0x600, 'latin1');
  return buf;
}

const request = (imagePath: string) => ({ serial: 'no-such-phone', adbServerPort: 1, imagePath, bootTimeoutMs: 60_000 });

describe('deployKernel before the device', () => {
  it('refuses an image that does not parse', async () => {
    const path = join(work, 'bad.img');
    writeFileSync(path, Buffer.from('ANDROID!'));
    await expect(deployKernel(request(path))).rejects.toBeInstanceOf(FlashRefusedError);
  });

  it('refuses an image whose kernel has no version to verify against', async () => {
    const path = join(work, 'nokernel.img');
    writeFileSync(path, buildBootImage({ headerVersion: 2, kernel: Buffer.alloc(8192, 1), name: 'board' }));
    const error = await deployKernel(request(path)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZlabError);
    expect((error as ZlabError).kind).toBe('kernel');
  });

  it('refuses a device with no known-good image to fall back on', async () => {
    const path = join(work, 'good.img');
    writeFileSync(path, buildBootImage({ headerVersion: 2, kernel: bzImage('6.12.1 (u@h) #1 SMP now'), name: 'board' }));
    const error = await deployKernel(request(path)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/no-such-phone has no known-good boot image/);
  });

  it('refuses a timeout that is not one', async () => {
    await expect(deployKernel({ ...request('x'), bootTimeoutMs: 0 })).rejects.toThrow(/bootTimeoutMs/);
  });
});
