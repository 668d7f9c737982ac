import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError, ZlabError } from '../util/errors.js';
import { parseBootImage } from './bootimg-reader.js';
import { type DeviceLink, deviceLink } from './device-link.js';
import { FastbootClient } from './fastboot.js';
import type { Slot } from './fastboot-slots.js';
import { FlashRefusedError, type FlashResult, flashBootImage } from './flash.js';
import { declaredTarget } from './image-target.js';
import { type KnownGood, resolveKnownGood } from './known-good.js';
import { type KernelIdentity, describeIdentity, kernelImageIdentity } from './kernel-identity.js';
import { checkIdentity, readRunningIdentity } from './verify.js';

/**
 * The nightly deploy stage: put a kernel on a device and prove it runs, or
 * bring the device back on its known-good kernel.
 *
 * reboot to bootloader → checked flash → reboot → wait for adb and
 * sys.boot_completed → compare /proc/version with the image's kernel. When the
 * boot times out, the recovery ladder runs, each rung ending in a boot of the
 * known-good kernel that is verified the same way:
 *   1. adb answers: `adb reboot bootloader`, restore the known-good image, reboot;
 *   2. the power-cycle command (lab relay; the virtual device's power cycle);
 *   3. into the bootloader without adb (relay with the bootloader key; the
 *      virtual device's power-cycle to bootloader), restore, reboot.
 */

export type Rung = 'none' | 'adb-reboot-bootloader' | 'power-cycle' | 'known-good-flash';
const RUNG_NUMBER: Record<Rung, number> = { none: 0, 'adb-reboot-bootloader': 1, 'power-cycle': 2, 'known-good-flash': 3 };

export interface DeployRequest {
  /** The device's adb serial. */
  serial: string;
  adbServerPort: number;
  imagePath: string;
  slot?: Slot;
  oneShot?: boolean;
  /** How long the new kernel gets to reach sys.boot_completed. */
  bootTimeoutMs: number;
  /** How long each recovery boot gets (default: bootTimeoutMs). */
  recoveryBootTimeoutMs?: number;
  /** The device's inventory entry (harness/lab/inventory.ts). */
  device?: { powerCycle?: readonly string[]; knownGoodImage?: string; product?: string };
  /** When set, only these serials may be flashed. */
  allowedSerials?: readonly string[];
  bootloaderTimeoutMs?: number;
  progress?: (line: string) => void;
}

export interface RungAttempt {
  rung: Rung;
  outcome: 'recovered' | 'failed' | 'skipped';
  detail: string;
  seconds: number;
}

export interface DeployResult {
  serial: string;
  /** True when the requested image runs; false when the device was recovered to its known-good image. */
  deployed: boolean;
  /** What brought the device up: `none` when the new image booted by itself. */
  rung: Rung;
  rungNumber: number;
  /** Seconds from the final boot request to sys.boot_completed. */
  bootSeconds: number;
  /** Seconds for the whole deploy, recovery included. */
  totalSeconds: number;
  /** The kernel that runs now. */
  identity: KernelIdentity;
  /** The kernel in the requested image. */
  expected: KernelIdentity;
  image: { path: string; sha256: string };
  knownGood: KnownGood;
  flash: FlashResult;
  /** Why the requested image did not deploy, when recovered. */
  failure: string | null;
  /** Why the first boot of the flashed slot ended by itself, when it was booted once more (see deployKernel). */
  firstBootFailure: string | null;
  attempts: RungAttempt[];
}

export class DeployFailedError extends ZlabError {
  constructor(message: string, readonly attempts: RungAttempt[]) {
    super('device', message, { attempts });
    this.name = 'DeployFailedError';
  }
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** Wait for adb to list the serial as `device` with sys.boot_completed=1; seconds, or null on timeout or a device that is down for good. */
async function waitForBoot(link: DeviceLink, timeoutMs: number): Promise<{ seconds: number } | { seconds: null; why: string; endedByItself: boolean }> {
  const started = Date.now();
  let lastConnect = 0;
  for (;;) {
    const state = await link.adbState();
    if (state === 'device') {
      const prop = await execa('adb', ['-P', String(link.adbServerPort), '-s', link.serial, 'shell', 'getprop sys.boot_completed'], { reject: false, timeout: 10_000 });
      if (prop.exitCode === 0 && prop.stdout.trim() === '1') return { seconds: seconds(Date.now() - started) };
    } else if (Date.now() - lastConnect > 3_000) {
      await link.reconnect();
      lastConnect = Date.now();
    }
    // A power-off seen in the first seconds may be the previous boot's, not yet replaced.
    const failure = Date.now() - started > 3_000 ? link.bootFailure() : null;
    if (failure) return { seconds: null, why: failure, endedByItself: true };
    if (Date.now() - started > timeoutMs) {
      return { seconds: null, why: `no adb with sys.boot_completed=1 within ${timeoutMs / 1000} s (adb state: ${state ?? 'not listed'})`, endedByItself: false };
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function deployKernel(request: DeployRequest): Promise<DeployResult> {
  const progress = request.progress ?? (() => undefined);
  const started = Date.now();
  if (!(request.bootTimeoutMs >= 1_000)) throw new UsageError(`bootTimeoutMs: ${request.bootTimeoutMs} is not a timeout of at least 1000 ms`);
  const recoveryTimeoutMs = request.recoveryBootTimeoutMs ?? request.bootTimeoutMs;
  const bootloaderTimeoutMs = request.bootloaderTimeoutMs ?? 90_000;

  // Offline: the image and its kernel's identity, before the device is touched.
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
    throw new FlashRefusedError('image', `${request.imagePath}: ${(err as Error).message}`);
  }
  declaredTarget(image, request.imagePath, request.device?.product);
  const expected = kernelImageIdentity(image.kernel);

  const link = deviceLink({ serial: request.serial, adbServerPort: request.adbServerPort, powerCycle: request.device?.powerCycle });
  // Never without a way back: the known-good image is settled before anything is flashed.
  const knownGood = resolveKnownGood(request.serial, request.device?.knownGoodImage, () => link.currentImage());
  const knownGoodIdentity = kernelImageIdentity(parseBootImage(readFileSync(knownGood.path)).kernel);
  progress(`${request.serial}: known-good image ${knownGood.path} (${describeIdentity(knownGoodIdentity)})`);

  const flashTo = async (target: string, path: string, options: { slot?: Slot; oneShot?: boolean }): Promise<FlashResult> => {
    const result = await flashBootImage({
      target,
      imagePath: path,
      slot: options.slot,
      oneShot: options.oneShot,
      product: request.device?.product,
      allowedSerials: request.allowedSerials,
    });
    const fastboot = new FastbootClient({ target });
    if (options.slot) await fastboot.setActive(options.slot);
    if (!options.oneShot) await fastboot.reboot();
    return result;
  };

  progress(`${request.serial}: adb reboot bootloader`);
  if ((await link.adbState()) !== 'device') await link.reconnect();
  if ((await link.adbState()) !== 'device') {
    throw new ZlabError('device', `${request.serial} is not online in adb (${(await link.adbState()) ?? 'not listed'}); a deploy starts from a booted device`);
  }
  await link.rebootToBootloader();
  const target = await link.waitForBootloader(bootloaderTimeoutMs);
  progress(`${request.serial}: bootloader at ${target}; flashing ${request.imagePath}`);
  const flash = await flashTo(target, request.imagePath, { slot: request.slot, oneShot: request.oneShot });

  let boot = await waitForBoot(link, request.bootTimeoutMs);
  // An A/B bootloader gives a newly flashed slot more than one try before it
  // falls back; so does this, once, when the first boot ended by itself. A
  // kernel that panics panics again and goes to the recovery ladder; the
  // first failure is kept in the result either way.
  let firstBootFailure: string | null = null;
  if (boot.seconds === null && boot.endedByItself && !request.oneShot && link.powerCycle) {
    firstBootFailure = boot.why;
    progress(`${request.serial}: the first boot of ${request.imagePath} ended by itself (${boot.why}); booting the slot once more`);
    await link.powerCycle();
    boot = await waitForBoot(link, request.bootTimeoutMs);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (boot.seconds !== null) {
    const running = await readRunningIdentity(request.serial, request.adbServerPort);
    checkIdentity(running, expected);
    progress(`${request.serial}: booted ${describeIdentity(running)} in ${boot.seconds} s`);
    return {
      serial: request.serial,
      deployed: true,
      rung: 'none',
      rungNumber: 0,
      bootSeconds: boot.seconds,
      totalSeconds: seconds(Date.now() - started),
      identity: running,
      expected,
      image: { path: request.imagePath, sha256 },
      knownGood,
      flash,
      failure: null,
      firstBootFailure,
      attempts: [],
    };
  }

  const failure = `${request.imagePath} did not boot on ${request.serial}: ${boot.why}`;
  progress(`${failure}; recovering`);
  const attempts: RungAttempt[] = [];

  /** Boot, then check that the known-good kernel is what runs. */
  const recovered = async (rung: Rung, rungStarted: number): Promise<DeployResult | null> => {
    const result = await waitForBoot(link, recoveryTimeoutMs);
    if (result.seconds === null) {
      attempts.push({ rung, outcome: 'failed', detail: result.why, seconds: seconds(Date.now() - rungStarted) });
      return null;
    }
    const running = await readRunningIdentity(request.serial, request.adbServerPort);
    try {
      checkIdentity(running, knownGoodIdentity);
    } catch (err) {
      attempts.push({ rung, outcome: 'failed', detail: `booted, but not the known-good kernel: ${(err as Error).message}`, seconds: seconds(Date.now() - rungStarted) });
      return null;
    }
    attempts.push({ rung, outcome: 'recovered', detail: `known-good kernel booted in ${result.seconds} s`, seconds: seconds(Date.now() - rungStarted) });
    progress(`${request.serial}: recovered by ${rung} (rung ${RUNG_NUMBER[rung]})`);
    return {
      serial: request.serial,
      deployed: false,
      rung,
      rungNumber: RUNG_NUMBER[rung],
      bootSeconds: result.seconds,
      totalSeconds: seconds(Date.now() - started),
      identity: running,
      expected,
      image: { path: request.imagePath, sha256 },
      knownGood,
      flash,
      failure,
      firstBootFailure,
      attempts,
    };
  };
  const attempt = async (rung: Rung, run: () => Promise<DeployResult | null>): Promise<DeployResult | null> => {
    const rungStarted = Date.now();
    try {
      return await run();
    } catch (err) {
      attempts.push({ rung, outcome: 'failed', detail: (err as Error).message, seconds: seconds(Date.now() - rungStarted) });
      return null;
    }
  };
  const restoreKnownGood = async (rung: Rung, rungStarted: number): Promise<DeployResult | null> => {
    const where = await link.waitForBootloader(bootloaderTimeoutMs);
    progress(`${request.serial}: flashing the known-good image at ${where}`);
    await flashTo(where, knownGood.path, {});
    return recovered(rung, rungStarted);
  };

  // Rung 1: the kernel got as far as adb.
  let result: DeployResult | null = null;
  if ((await link.adbState()) === 'device') {
    result = await attempt('adb-reboot-bootloader', async () => {
      const rungStarted = Date.now();
      await link.rebootToBootloader();
      return restoreKnownGood('adb-reboot-bootloader', rungStarted);
    });
  } else attempts.push({ rung: 'adb-reboot-bootloader', outcome: 'skipped', detail: 'adb does not answer', seconds: 0 });
  // Rung 2: power cycle; the active slot boots (a one-shot image is gone).
  if (!result) {
    if (link.powerCycle) {
      const cycle = link.powerCycle;
      progress(`${request.serial}: power cycle`);
      result = await attempt('power-cycle', async () => {
        const rungStarted = Date.now();
        await cycle();
        return recovered('power-cycle', rungStarted);
      });
    } else attempts.push({ rung: 'power-cycle', outcome: 'skipped', detail: 'no power-cycle command configured (inventory powerCycle)', seconds: 0 });
  }
  // Rung 3: into the bootloader without the kernel's help, restore the known-good image.
  if (!result) {
    result = await attempt('known-good-flash', async () => {
      const rungStarted = Date.now();
      if (link.powerCycleToBootloader) await link.powerCycleToBootloader();
      else if ((await link.adbState()) === 'device') await link.rebootToBootloader();
      // Otherwise a bootloader that stops in fastboot after failed boots is the only way in.
      return restoreKnownGood('known-good-flash', rungStarted);
    });
  }
  if (result) return result;
  throw new DeployFailedError(
    `${failure}; recovery failed on every rung:\n${attempts.map((a) => `  ${RUNG_NUMBER[a.rung]}. ${a.rung}: ${a.outcome}: ${a.detail}`).join('\n')}`,
    attempts,
  );
}
