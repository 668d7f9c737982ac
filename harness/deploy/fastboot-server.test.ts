/**
 * The virtual device's bootloader, driven by Debian's real `fastboot` tool
 * over TCP, plus a few raw-protocol cases the tool cannot produce.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootImage, parseBootImage, type BootImage } from './bootimg.js';
import { startFastbootServer, type FastbootServer, type FastbootServerOptions, type RebootTarget } from './fastboot-server.js';
import { readSlotState } from './fastboot-slots.js';

let dir: string;
let server: FastbootServer | undefined;
const events: string[] = [];
const booted: BootImage[] = [];

function image(name: string, cmdline: string, kernelSize = 50_000): string {
  const path = join(dir, name);
  writeFileSync(path, buildBootImage({ kernel: Buffer.alloc(kernelSize, 0x4b), ramdisk: Buffer.from('ramdisk'), cmdline, name: 'zlab_vd' }));
  return path;
}

async function start(extra: Partial<FastbootServerOptions> = {}): Promise<FastbootServer> {
  server = await startFastbootServer({
    dir: join(dir, 'slots'),
    product: 'zlab_vd',
    serialno: 'emulator-zlab',
    onReboot: (target: RebootTarget) => events.push(`reboot:${target}`),
    onBoot: (img) => {
      events.push('boot');
      booted.push(img);
    },
    onContinue: () => events.push('continue'),
    ...extra,
  });
  return server;
}

/** One fastboot invocation, always under a timeout. */
async function fastboot(...args: string[]) {
  if (!server) throw new Error('server not started');
  const result = await execa('fastboot', ['-s', `tcp:127.0.0.1:${server.port}`, ...args], { reject: false, timeout: 20_000, all: true });
  return { code: result.exitCode, out: result.all ?? '' };
}

/** Give callbacks queued after an OKAY a chance to run (used where none must). */
const settle = () => new Promise((r) => setTimeout(r, 50));

/** Wait until `n` callbacks have been reported. */
async function eventsReach(n: number): Promise<void> {
  for (let i = 0; i < 200 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-fbserver-'));
  events.length = 0;
  booted.length = 0;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('fastboot server with the real fastboot tool', () => {
  it('answers getvar product, current-slot and all', async () => {
    await start();
    expect(await fastboot('getvar', 'product')).toMatchObject({ code: 0, out: expect.stringContaining('product: zlab_vd') });
    expect((await fastboot('getvar', 'current-slot')).out).toContain('current-slot: a');
    const all = await fastboot('getvar', 'all');
    expect(all.code).toBe(0);
    for (const line of [
      'product:zlab_vd',
      'serialno:emulator-zlab',
      'current-slot:a',
      'slot-count:2',
      'has-slot:boot:yes',
      'max-download-size:0x10000000',
      'is-userspace:no',
      'is-logical:boot_a:no',
      'partition-size:boot_a:0x4000000',
      'version-bootloader:',
    ]) {
      expect(all.out).toContain(`(bootloader) ${line}`);
    }
    const unknown = await fastboot('getvar', 'no-such-var');
    expect(unknown.out).toMatch(/FAILED \(remote: 'unknown variable no-such-var'\)/);
  });

  it('flashes boot into the active slot, follows set_active, and flashes a given slot', async () => {
    await start();
    const first = image('first.img', 'console=ttyS0 first');
    const flashed = await fastboot('flash', 'boot', first);
    expect(flashed.code).toBe(0);
    expect(flashed.out).toContain("Writing 'boot_a'");
    expect(server!.slotState().active).toBe('a');
    expect(readFileSync(server!.slotState().slots.a!.path).equals(readFileSync(first))).toBe(true);
    expect(server!.slotState().slots.b).toBeNull();

    expect((await fastboot('set_active', 'b')).code).toBe(0);
    expect((await fastboot('getvar', 'current-slot')).out).toContain('current-slot: b');
    const second = image('second.img', 'console=ttyS0 second');
    expect((await fastboot('flash', 'boot', second)).out).toContain("Writing 'boot_b'");
    expect(parseBootImage(readFileSync(server!.slotState().slots.b!.path)).cmdline).toBe('console=ttyS0 second');

    const third = image('third.img', 'console=ttyS0 third');
    expect((await fastboot('flash', '--slot', 'a', 'boot', third)).code).toBe(0);
    const state = server!.slotState();
    expect(state.active).toBe('b');
    expect(parseBootImage(readFileSync(state.slots.a!.path)).cmdline).toBe('console=ttyS0 third');
    expect(parseBootImage(readFileSync(state.slots.b!.path)).cmdline).toBe('console=ttyS0 second');
  });

  it('keeps slots and the active slot across a restart of the bootloader', async () => {
    await start();
    await fastboot('flash', 'boot', image('a.img', 'keep me'));
    await fastboot('set_active', 'b');
    await server!.close();
    await start();
    expect((await fastboot('getvar', 'current-slot')).out).toContain('current-slot: b');
    expect(server!.slotState().slots.a).not.toBeNull();
  });

  it('boots an image once without flashing it and reports it', async () => {
    await start();
    const result = await fastboot('boot', image('once.img', 'console=ttyS0 once'));
    expect(result.code).toBe(0);
    await eventsReach(1);
    expect(events).toEqual(['boot']);
    expect(booted[0]?.cmdline).toBe('console=ttyS0 once');
    expect(server!.slotState().slots.a).toBeNull();
  });

  it('reports reboot, reboot-bootloader and continue after answering OKAY', async () => {
    await start();
    expect((await fastboot('reboot')).code).toBe(0);
    expect((await fastboot('reboot-bootloader')).code).toBe(0);
    expect((await fastboot('continue')).code).toBe(0);
    await eventsReach(3);
    expect(events).toEqual(['reboot:system', 'reboot:bootloader', 'continue']);
  });

  it('survives a callback that throws and reports it', async () => {
    const errors: string[] = [];
    await start({
      onContinue: () => {
        throw new Error('supervisor busy');
      },
      onError: (err) => errors.push((err as Error).message),
    });
    expect((await fastboot('continue')).code).toBe(0);
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(errors).toEqual(['supervisor busy']);
    expect((await fastboot('getvar', 'product')).code).toBe(0);
  });

  it('erases a slot', async () => {
    await start();
    await fastboot('flash', 'boot', image('e.img', 'erase me'));
    expect(server!.slotState().slots.a).not.toBeNull();
    expect((await fastboot('erase', 'boot')).code).toBe(0);
    expect(server!.slotState().slots.a).toBeNull();
  });

  it('refuses a download larger than max-download-size', async () => {
    await start({ maxDownloadSize: 16 * 1024 });
    const big = image('big.img', 'too big', 40_000);
    const result = await fastboot('boot', big);
    expect(result.code).toBe(1);
    expect(result.out).toContain(`download: ${readFileSync(big).length} bytes exceeds max-download-size 0x4000`);
    // For flash, fastboot splits an oversize image into sparse chunks; those are refused whole.
    const flash = await fastboot('flash', 'boot', big);
    expect(flash.code).toBe(1);
    expect(flash.out).toContain('sparse images are not accepted');
    await settle();
    expect(events).toEqual([]);
    expect(server!.slotState().slots.a).toBeNull();
  });

  it('refuses an image larger than the partition', async () => {
    await start({ partitionSize: 32 * 1024 });
    const result = await fastboot('flash', 'boot', image('big.img', 'too big', 40_000));
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/larger than partition boot_a \(32768 bytes\)/);
    expect(server!.slotState().slots.a).toBeNull();
  });

  it('refuses what is not a boot image with a clear FAIL', async () => {
    await start();
    const junk = join(dir, 'junk.img');
    writeFileSync(junk, Buffer.alloc(5000, 7));
    const result = await fastboot('flash', 'boot', junk);
    expect(result.code).toBe(1);
    expect(result.out).toContain('not a valid boot image: boot image: magic is 0x0707070707070707, expected "ANDROID!"');
    const truncated = join(dir, 'truncated.img');
    writeFileSync(truncated, readFileSync(image('t.img', 'cut', 50_000)).subarray(0, 20_000));
    const cut = await fastboot('flash', 'boot', truncated);
    expect(cut.code).toBe(1);
    expect(cut.out).toMatch(/kernel \(50000 bytes at offset 2048\) runs past the end of the file \(20000 bytes\)/);
    const wrongPartition = await fastboot('flash', 'system', image('s.img', 'x'));
    expect(wrongPartition.out).toContain('partition "system" does not exist');
    expect(server!.slotState().slots.a).toBeNull();
  });

  it('takes one connection per fastboot invocation', async () => {
    await start();
    await fastboot('getvar', 'product');
    await fastboot('getvar', 'current-slot');
    await fastboot('flash', 'boot', image('c.img', 'x'));
    expect(server!.connections).toBe(3);
    expect(server!.commands).toEqual([
      'getvar:product',
      'getvar:current-slot',
      'getvar:has-slot:boot',
      'getvar:current-slot',
      'getvar:max-download-size',
      'getvar:is-logical:boot_a',
      expect.stringMatching(/^download:[0-9a-f]{8}$/),
      'flash:boot_a',
    ]);
  });
});

/** A minimal host side of the TCP transport, for cases the fastboot tool never produces. */
class RawHost {
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async open(port: number, hello = 'FB01'): Promise<RawHost> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const host = new RawHost(socket);
    socket.write(hello);
    return host;
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  async read(n: number): Promise<Buffer | null> {
    while (this.buffer.length < n) {
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  frame(payload: string | Buffer): void {
    const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const header = Buffer.alloc(8);
    header.writeBigUInt64BE(BigInt(data.length));
    this.socket.write(Buffer.concat([header, data]));
  }

  async reply(): Promise<string | null> {
    const header = await this.read(8);
    if (!header) return null;
    const body = await this.read(Number(header.readBigUInt64BE()));
    return body ? body.toString('latin1') : null;
  }

  close() {
    this.socket.destroy();
  }
}

describe('fastboot server wire protocol', () => {
  it('answers the FB01 handshake and accepts a download split over several frames', async () => {
    await start();
    const host = await RawHost.open(server!.port);
    expect((await host.read(4))?.toString()).toBe('FB01');
    const img = readFileSync(image('raw.img', 'split frames'));
    host.frame(`download:${img.length.toString(16).padStart(8, '0')}`);
    expect(await host.reply()).toBe(`DATA${img.length.toString(16).padStart(8, '0')}`);
    host.frame(img.subarray(0, 1000));
    host.frame(img.subarray(1000, 30_000));
    host.frame(img.subarray(30_000));
    expect(await host.reply()).toBe('OKAY');
    host.frame('flash:boot_b');
    expect(await host.reply()).toBe('OKAY');
    host.close();
    expect(readFileSync(server!.slotState().slots.b!.path).equals(img)).toBe(true);
  });

  it('keeps no download between connections', async () => {
    await start();
    const first = await RawHost.open(server!.port);
    await first.read(4);
    const img = readFileSync(image('raw.img', 'x'));
    first.frame(`download:${img.length.toString(16).padStart(8, '0')}`);
    await first.reply();
    first.frame(img);
    expect(await first.reply()).toBe('OKAY');
    first.close();
    const second = await RawHost.open(server!.port);
    await second.read(4);
    second.frame('flash:boot_a');
    expect(await second.reply()).toBe('FAILflash: no image downloaded on this connection');
    second.close();
  });

  it('refuses bad sizes and closes on a bad handshake or an over-long frame', async () => {
    await start({ maxDownloadSize: 4096 });
    const host = await RawHost.open(server!.port);
    await host.read(4);
    host.frame('download:00001001');
    expect(await host.reply()).toBe('FAILdownload: 4097 bytes exceeds max-download-size 0x1000');
    host.frame('download:zz');
    expect(await host.reply()).toBe('FAILdownload: "zz" is not an 8-digit hex size');
    host.frame('download:00000010');
    expect(await host.reply()).toBe('DATA00000010');
    host.frame(Buffer.alloc(17));
    expect(await host.reply()).toBe('FAILdownload: 17 more bytes than announced');
    expect(await host.read(1)).toBeNull();

    const stranger = await RawHost.open(server!.port, 'HELO');
    expect(await stranger.read(4)).toBeNull();
  });

  it('listens on loopback only', async () => {
    await expect(startFastbootServer({ dir, product: 'x', host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/127\.0\.0\.1 only/);
    await expect(startFastbootServer({ dir, product: 'bad product' })).rejects.toThrow(/product "bad product"/);
  });
});

describe('slot state on disk', () => {
  it('is readable without a running server', async () => {
    await start();
    await fastboot('flash', 'boot', image('disk.img', 'on disk'));
    await fastboot('set_active', 'b');
    await server!.close();
    server = undefined;
    const state = readSlotState(join(dir, 'slots'));
    expect(state.active).toBe('b');
    expect(state.slots.a?.size).toBe(readFileSync(join(dir, 'disk.img')).length);
    expect(state.slots.b).toBeNull();
  });
});
