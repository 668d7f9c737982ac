/**
 * The fastboot client and the checked flashing procedure, against the real
 * `fastboot` tool talking to zlab's own bootloader server.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../device/adb-server.js';
import { UsageError } from '../util/errors.js';
import { buildBootImage, parseBootImage } from './bootimg.js';
import { FastbootClient, FastbootError, parseFastbootTarget } from './fastboot.js';
import { startFastbootServer, type FastbootServer, type FastbootServerOptions } from './fastboot-server.js';
import { FlashRefusedError, flashBootImage } from './flash.js';

let dir: string;
let server: FastbootServer | undefined;
const booted: string[] = [];

async function start(extra: Partial<FastbootServerOptions> = {}) {
  server = await startFastbootServer({
    dir: join(dir, 'slots'),
    product: 'zlab_vd',
    serialno: 'vd-0001',
    onBoot: (img) => booted.push(img.cmdline),
    ...extra,
  });
  return `tcp:127.0.0.1:${server.port}`;
}

function writeImage(name: string, spec: { cmdline?: string; board?: string; kernelSize?: number; headerVersion?: 0 | 3 } = {}) {
  const path = join(dir, name);
  writeFileSync(
    path,
    buildBootImage({
      headerVersion: spec.headerVersion ?? 0,
      kernel: Buffer.alloc(spec.kernelSize ?? 20_000, 0x4b),
      cmdline: spec.cmdline ?? 'console=ttyS0',
      name: spec.headerVersion === 3 ? undefined : (spec.board ?? 'zlab_vd'),
    }),
  );
  return path;
}

const downloads = () => server!.commands.filter((c) => c.startsWith('download:'));

async function refusal(promise: Promise<unknown>): Promise<FlashRefusedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlashRefusedError);
  return err as FlashRefusedError;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-flash-'));
  booted.length = 0;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('FastbootClient', () => {
  it('reads variables, switches slots, flashes, boots once and reboots', async () => {
    const client = new FastbootClient({ target: await start() });
    expect(await client.getvar('product')).toBe('zlab_vd');
    expect(await client.getvar('current-slot')).toBe('a');
    const all = await client.getvarAll();
    expect(all['has-slot:boot']).toBe('yes');
    expect(all['partition-size:boot_b']).toBe('0x4000000');
    expect(all['max-download-size']).toBe('0x10000000');
    await client.setActive('b');
    expect(await client.getvar('current-slot')).toBe('b');
    await client.flashBoot(writeImage('one.img', { cmdline: 'one' }));
    await client.flashBoot(writeImage('two.img', { cmdline: 'two' }), 'a');
    const state = server!.slotState();
    expect(parseBootImage(readFileSync(state.slots.b!.path)).cmdline).toBe('one');
    expect(parseBootImage(readFileSync(state.slots.a!.path)).cmdline).toBe('two');
    await client.boot(writeImage('three.img', { cmdline: 'three' }));
    await client.reboot();
    await client.rebootBootloader();
    await client.continueBoot();
    expect(server!.commands.slice(-3)).toEqual(['reboot', 'reboot-bootloader', 'continue']);
  });

  it('turns a device FAIL into a typed error, even where fastboot exits 0', async () => {
    const client = new FastbootClient({ target: await start() });
    const err = await client.getvar('no-such-var').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FastbootError);
    expect((err as FastbootError).reason).toBe('remote');
    expect((err as Error).message).toContain("the device refused: unknown variable no-such-var");
  });

  it('gives up on an absent TCP target after its timeout', async () => {
    const port = await freeLoopbackPort();
    const client = new FastbootClient({ target: `tcp:127.0.0.1:${port}`, commandTimeoutMs: 1_500 });
    const err = await client.getvar('product').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FastbootError);
    expect((err as FastbootError).reason).toBe('timeout');
    expect((err as Error).message).toMatch(new RegExp(`fastboot tcp:127.0.0.1:${port} getvar product: `));
  });

  it('refuses malformed targets, slots and variable names', () => {
    expect(() => parseFastbootTarget('tcp:127.0.0.1:99999')).toThrow(UsageError);
    expect(() => parseFastbootTarget('dev;rm -rf /')).toThrow(/neither tcp:HOST:PORT nor a USB serial/);
    expect(parseFastbootTarget('0123456789ABCDEF')).toBe('0123456789ABCDEF');
    const client = new FastbootClient({ target: 'tcp:127.0.0.1:1' });
    return Promise.all([
      expect(client.getvar('product; reboot')).rejects.toThrow(/not a variable name/),
      expect(client.setActive('c' as 'a')).rejects.toThrow(/slot "c" is not a or b/),
    ]);
  });
});

describe('flashBootImage', () => {
  it('flashes the current slot after its checks, with the product taken from the image name', async () => {
    const target = await start();
    const order: string[] = [];
    const result = await flashBootImage({
      target,
      imagePath: writeImage('ok.img', { cmdline: 'flashed' }),
      enterBootloader: async () => {
        order.push(`bootloader entered after ${server!.connections} connections`);
      },
    });
    expect(order).toEqual(['bootloader entered after 0 connections']);
    expect(result).toMatchObject({ product: 'zlab_vd', declared: { product: 'zlab_vd', source: 'name' }, slot: 'a', oneShot: false });
    expect(result.image.cmdline).toBe('flashed');
    expect(parseBootImage(readFileSync(server!.slotState().slots.a!.path)).cmdline).toBe('flashed');
    // Every question comes before the one download.
    const firstDownload = server!.commands.findIndex((c) => c.startsWith('download:'));
    expect(server!.commands.slice(0, firstDownload)).toEqual(
      expect.arrayContaining(['getvar:product', 'getvar:max-download-size', 'getvar:current-slot', 'getvar:partition-size:boot_a']),
    );
  });

  it('flashes a given slot, boots once, and takes the target from a manifest or an override', async () => {
    const target = await start();
    const v3 = writeImage('gki.img', { headerVersion: 3, cmdline: 'gki' });
    await expect(flashBootImage({ target, imagePath: v3 })).rejects.toThrow(/declares no target product: boot image v3 has no name field/);
    writeFileSync(`${v3}.zlab.json`, JSON.stringify({ product: 'zlab_vd' }));
    const viaManifest = await flashBootImage({ target, imagePath: v3, slot: 'b' });
    expect(viaManifest).toMatchObject({ slot: 'b', declared: { source: 'manifest' } });
    expect(parseBootImage(readFileSync(server!.slotState().slots.b!.path)).cmdline).toBe('gki');
    expect(server!.slotState().slots.a).toBeNull();

    const other = writeImage('other.img', { board: 'other_board', cmdline: 'once' });
    const once = await flashBootImage({ target, imagePath: other, oneShot: true, product: 'zlab_vd' });
    expect(once).toMatchObject({ slot: null, oneShot: true, declared: { source: 'override' } });
    for (let i = 0; i < 100 && booted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(booted).toEqual(['once']);
    expect(server!.slotState().slots.a).toBeNull();
  });

  it('rejects a truncated image or a wrong magic without contacting the device', async () => {
    const target = await start();
    const good = readFileSync(writeImage('good.img'));
    writeFileSync(join(dir, 'cut.img'), good.subarray(0, 6000));
    const cut = await refusal(flashBootImage({ target, imagePath: join(dir, 'cut.img') }));
    expect(cut.reason).toBe('image');
    expect(cut.message).toMatch(/cut\.img: boot image truncated: kernel \(20000 bytes at offset 2048\) runs past the end/);
    const bad = Buffer.from(good);
    bad.write('NOTANDRD', 0, 'latin1');
    writeFileSync(join(dir, 'magic.img'), bad);
    const magic = await refusal(flashBootImage({ target, imagePath: join(dir, 'magic.img') }));
    expect(magic.message).toMatch(/magic is "NOTANDRD", expected "ANDROID!"/);
    const missing = await refusal(flashBootImage({ target, imagePath: join(dir, 'missing.img') }));
    expect(missing.message).toMatch(/cannot read the image: ENOENT/);
    expect(server!.connections).toBe(0);
  });

  it('rejects a product mismatch before any byte of the image is sent', async () => {
    const target = await start();
    const err = await refusal(flashBootImage({ target, imagePath: writeImage('p.img', { board: 'walleye' }) }));
    expect(err.reason).toBe('product');
    expect(err.message).toMatch(/is for product "walleye" \(from its name\), but tcp:127\.0\.0\.1:\d+ is "zlab_vd"/);
    expect(downloads()).toEqual([]);
    const override = await refusal(flashBootImage({ target, imagePath: writeImage('q.img'), product: 'sargo', oneShot: true }));
    expect(override.message).toMatch(/"sargo" \(from its override\)/);
    expect(downloads()).toEqual([]);
  });

  it('rejects an image larger than the partition or max-download-size before sending it', async () => {
    const target = await start({ partitionSize: 16 * 1024, maxDownloadSize: 64 * 1024 });
    const big = await refusal(flashBootImage({ target, imagePath: writeImage('big.img', { kernelSize: 30_000 }) }));
    expect(big.reason).toBe('size');
    expect(big.message).toMatch(/larger than partition boot_a \(16384 bytes\)/);
    const huge = await refusal(flashBootImage({ target, imagePath: writeImage('huge.img', { kernelSize: 100_000 }), oneShot: true }));
    expect(huge.message).toMatch(/above tcp:127\.0\.0\.1:\d+'s max-download-size 0x10000/);
    expect(downloads()).toEqual([]);
    expect(server!.slotState().slots.a).toBeNull();
  });

  it('flashes only devices on the allowlist, by target or by the bootloader serialno', async () => {
    const target = await start();
    const image = writeImage('al.img');
    const empty = await refusal(flashBootImage({ target, imagePath: image, allowedSerials: [] }));
    expect(empty.reason).toBe('allowlist');
    expect(server!.connections).toBe(0);
    const notListed = await refusal(flashBootImage({ target, imagePath: image, allowedSerials: ['phone-17'] }));
    expect(notListed.message).toMatch(/\(serialno vd-0001\) is not on the lab's flashing allowlist: phone-17/);
    expect(downloads()).toEqual([]);
    expect((await flashBootImage({ target, imagePath: image, allowedSerials: ['vd-0001'] })).slot).toBe('a');
    expect((await flashBootImage({ target, imagePath: image, allowedSerials: [target], slot: 'b' })).slot).toBe('b');
  });

  it('refuses --slot with --one-shot', async () => {
    await expect(flashBootImage({ target: 'tcp:127.0.0.1:1', imagePath: 'x', slot: 'a', oneShot: true })).rejects.toThrow(/exclude each other/);
  });
});
