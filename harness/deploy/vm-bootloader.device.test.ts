/**
 * The virtual device as an A/B phone: `adb reboot bootloader`, the real
 * fastboot tool against its bootloader, a flashed command line that shows in
 * /proc/cmdline, `zlab flash` end to end, power cycles, and bad images refused
 * before any byte is sent.
 */
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { slotDirFor } from '../vm/bootloader-mode.js';
import { powerCycleVirtualDevice, virtualDeviceStatus } from '../vm/api.js';
import { buildBootImage, parseBootImage, repackBootImage } from './bootimg.js';
import { readSlotState } from './fastboot-slots.js';
import { FlashRefusedError, flashBootImage } from './flash.js';
import { kernelImageIdentity } from './kernel-identity.js';
import { verifyBootedKernel } from './verify.js';
import { usePrivateLab } from '../testing/private-lab.js';

const BOOT_MS = 240_000;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const lab = usePrivateLab('zlab-deploy-vm-', { virtualDevice: true });

const adb = (...args: string[]) => execa('adb', ['-P', String(lab.server.port), ...args], { reject: false, timeout: 60_000 });
const fastboot = (target: string, ...args: string[]) => execa('fastboot', ['-s', target, ...args], { reject: false, timeout: 120_000 });
const zlab = (...args: string[]) =>
  execa('node', [join(repoRoot, 'bin/zlab.js'), ...args], { reject: false, timeout: BOOT_MS, env: { ZLAB_STATE_DIR: process.env.ZLAB_STATE_DIR } });

async function waitFor<T>(what: string, probe: () => Promise<T | null> | T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function toBootloader(): Promise<string> {
  const reboot = await adb('-s', lab.vm.serial, 'reboot', 'bootloader');
  expect(reboot.exitCode).toBe(0);
  const port = await waitFor('the bootloader', () => {
    const status = virtualDeviceStatus(lab.vm.serial);
    return status.state === 'bootloader' && status.fastbootPort ? status.fastbootPort : null;
  }, 90_000);
  return `tcp:127.0.0.1:${port}`;
}

async function bootedCmdline(): Promise<string> {
  return waitFor('boot_completed over adb', async () => {
    const devices = await adb('devices');
    if (!devices.stdout.split('\n').some((line) => line.startsWith(`${lab.vm.serial}\tdevice`))) {
      await adb('connect', lab.vm.serial);
      return null;
    }
    const result = await adb('-s', lab.vm.serial, 'shell', 'getprop sys.boot_completed; cat /proc/cmdline');
    const [completed, cmdline] = result.stdout.split('\n');
    return completed?.trim() === '1' && cmdline ? cmdline.trim() : null;
  }, BOOT_MS);
}

const seeded = () => parseBootImage(readFileSync(join(slotDirFor(lab.vm.vmDir), 'boot_a.img')));
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('the virtual device bootloader', () => {
  it('is an A/B device from the start: both slots hold its own kernel, slot a active', () => {
    const slots = readSlotState(slotDirFor(lab.vm.vmDir));
    expect(slots.active).toBe('a');
    expect(slots.slots.a?.sha256).toBe(slots.slots.b?.sha256);
    const image = seeded();
    expect(image.name).toBe('zlab_x86_64');
    expect(image.kernel.equals(readFileSync(lab.vm.kernel))).toBe(true);
    expect(image.cmdline).toContain('zlab.zram_size=');
  });

  let target: string;
  it('adb reboot bootloader stops the VM in its bootloader; vm status --json reports the fastboot port', async () => {
    target = await toBootloader();
    const status = await zlab('vm', 'status', lab.vm.serial, '--json');
    expect(status.exitCode).toBe(0);
    const json = JSON.parse(status.stdout) as { state: string; fastbootPort: number; serial: string };
    expect(json).toMatchObject({ state: 'bootloader', serial: lab.vm.serial });
    expect(`tcp:127.0.0.1:${json.fastbootPort}`).toBe(target);
    const product = await fastboot(target, 'getvar', 'product');
    expect(product.stderr).toMatch(/^product: zlab_x86_64$/m);
  }, 120_000);

  it('refuses a truncated image, a wrong magic, an image above the partition and another product before sending a byte', async () => {
    const before = readSlotState(slotDirFor(lab.vm.vmDir));
    const good = buildBootImage({ headerVersion: 2, kernel: seeded().kernel, cmdline: 'console=ttyS0', name: 'zlab_x86_64' });
    const cases: Array<[string, Buffer, string]> = [
      ['truncated.img', good.subarray(0, good.length - 4096), 'image'],
      ['magic.img', Buffer.concat([Buffer.from('NOTANDRD'), good.subarray(8)]), 'image'],
      ['huge.img', buildBootImage({ headerVersion: 2, kernel: randomBytes(65 * 1024 * 1024), name: 'zlab_x86_64' }), 'size'],
      ['other.img', buildBootImage({ headerVersion: 2, kernel: seeded().kernel, name: 'other_board' }), 'product'],
    ];
    for (const [name, bytes, reason] of cases) {
      const path = join(lab.work, name);
      writeFileSync(path, bytes);
      const error = await flashBootImage({ target, imagePath: path }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FlashRefusedError);
      expect({ name, reason: (error as FlashRefusedError).reason }).toEqual({ name, reason });
    }
    expect(readSlotState(slotDirFor(lab.vm.vmDir))).toEqual(before);
  }, 120_000);

  const token = `zlab.deploy_test=${randomBytes(4).toString('hex')}`;
  it('real fastboot: flash slot b with a new command line, set_active b, reboot; /proc/cmdline shows it', async () => {
    const image = seeded();
    const path = join(lab.work, 'cmdline.img');
    writeFileSync(path, repackBootImage(image, { cmdline: `${image.cmdline} ${token}` }));
    expect((await fastboot(target, 'getvar', 'current-slot')).stderr).toMatch(/^current-slot: a$/m);
    const flash = await fastboot(target, '--slot', 'b', 'flash', 'boot', path);
    expect(flash.exitCode).toBe(0);
    expect((await fastboot(target, 'getvar', 'current-slot')).stderr).toMatch(/^current-slot: a$/m);
    expect((await fastboot(target, 'set_active', 'b')).exitCode).toBe(0);
    expect((await fastboot(target, 'getvar', 'current-slot')).stderr).toMatch(/^current-slot: b$/m);
    expect(readSlotState(slotDirFor(lab.vm.vmDir)).slots.b?.sha256).toBe(sha(readFileSync(path)));
    expect((await fastboot(target, 'reboot')).exitCode).toBe(0);
    const cmdline = await bootedCmdline();
    expect(cmdline.split(' ')).toContain(token);
    // The same adb serial as before, and the kernel is the image's build.
    await verifyBootedKernel(lab.vm.serial, lab.server.port, kernelImageIdentity(image.kernel));
  }, BOOT_MS + 60_000);

  it('a power cycle boots the active slot again, on the same adb serial', async () => {
    const boots = virtualDeviceStatus(lab.vm.serial).boots;
    await powerCycleVirtualDevice(lab.vm.serial);
    await waitFor('a new boot', () => (virtualDeviceStatus(lab.vm.serial).boots > boots ? true : null), 60_000);
    expect((await bootedCmdline()).split(' ')).toContain(token);
  }, BOOT_MS + 60_000);

  it('zlab flash -s SERIAL IMAGE: reboot to bootloader, checked flash, reboot, wait, verify', async () => {
    const image = seeded();
    const second = `zlab.deploy_test2=${randomBytes(4).toString('hex')}`;
    const path = join(lab.work, 'cmdline2.img');
    writeFileSync(path, repackBootImage(image, { cmdline: `${image.cmdline} ${second}` }));
    const result = await zlab('flash', '-s', lab.vm.serial, path, '--json');
    expect(result.stderr).not.toMatch(/error/);
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout) as {
      deployed: boolean;
      rung: string;
      bootSeconds: number;
      identity: { release: string };
      flash: { slot: string };
      failure: string | null;
      firstBootFailure: string | null;
    };
    if (json.firstBootFailure) process.stderr.write(`zlab flash: the first boot ended by itself: ${json.firstBootFailure}\n`);
    // The reason first, so that a failed deploy says why.
    expect(json.failure).toBeNull();
    expect(json).toMatchObject({ deployed: true, rung: 'none', flash: { slot: 'b' } });
    expect(json.identity.release).toBe(lab.vm.kernelRelease);
    expect(json.bootSeconds).toBeGreaterThan(0);
    expect((await bootedCmdline()).split(' ')).toContain(second);
    // The slot image that booted before was recorded as known-good first.
    const knownGood = readFileSync(join(process.env.ZLAB_STATE_DIR!, 'known-good', lab.vm.serial.replace(/:/g, '_'), 'boot.img'));
    expect(parseBootImage(knownGood).cmdline.split(' ')).toContain(token);
  }, BOOT_MS * 2);
});
