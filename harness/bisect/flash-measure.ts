import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployKernel, type DeployRequest, type DeployResult } from '../deploy/deploy.js';
import { describeIdentity } from '../deploy/kernel-identity.js';
import { defaultAdbPort } from '../device/adb-server.js';
import { Device } from '../device/device.js';
import { loadInventory } from '../lab/inventory.js';
import { writeBootImage } from '../kernel/boot-image.js';
import { kernelInDeviceImage } from '../nightly/device-image.js';
import { checkBootImageFile, deviceOps, runsImage, type CheckedImage, type KernelDeviceOps, type KernelTarget } from '../nightly/kernel-deploy.js';
import { errorMessage, UsageError, ZlabError } from '../util/errors.js';
import { readAllVmStates } from '../vm/vm-state.js';
import { buildWorkloadBinaries } from '../workload/device-binaries.js';
import { parseEatOptions } from '../workload/eat-options.js';
import { headlineMetric } from './metrics.js';
import { eaterRunner, imageFor } from './device-measure.js';
import { BisectAbort, CommitSkip, type FlashTarget, type Measurer, type MeasureSource } from './measure-source.js';

type DeviceSource = Extract<MeasureSource, { kind: 'device' }>;
type Log = (line: string) => void;

/** What flashing a device takes; the real ones by default, small fakes in unit tests. */
export interface FlashOps extends Pick<KernelDeviceOps, 'running' | 'knownGood'> {
  deploy(request: DeployRequest): Promise<DeployResult>;
  /** The device to run the eater on once it runs a commit's kernel. */
  open(target: FlashTarget): Promise<Device>;
  /** The kernel of a commit (default: the measure source's --build, --images or --image-command). */
  kernelFor?(commit: string): Promise<string>;
  /** The runs on the device (default: eater runs, eaterRunner). */
  runs?(device: Device, commit: string, count: number): Promise<number[]>;
}

export const flashOps: FlashOps = {
  deploy: deployKernel,
  running: (target) => deviceOps.running(target),
  knownGood: (target, configured) => deviceOps.knownGood(target, configured),
  open: (target) => Device.open(target.serial, { server: { host: '127.0.0.1', port: target.adbServerPort } }),
};

const kernelTarget = (t: FlashTarget): KernelTarget => ({ serial: t.serial, adbServerPort: t.adbServerPort });

function lab(t: FlashTarget): Pick<DeployRequest, 'device' | 'allowedSerials'> {
  return {
    ...(t.allowedSerials ? { allowedSerials: t.allowedSerials } : {}),
    device: {
      ...(t.product ? { product: t.product } : {}),
      ...(t.powerCycle ? { powerCycle: t.powerCycle } : {}),
      ...(t.knownGoodImage ? { knownGoodImage: t.knownGoodImage } : {}),
    },
  };
}

/** The device's known-good boot image, checked. */
export function knownGoodImage(target: FlashTarget, ops: FlashOps = flashOps): CheckedImage {
  return checkBootImageFile(ops.knownGood(kernelTarget(target), target.knownGoodImage).path);
}

/**
 * A commit's kernel (a bzImage) inside the device's own known-good boot
 * image — its ramdisk, command line and product kept, as the nightly does
 * with a recipe's kernel (kernelInDeviceImage).
 */
export function commitImage(kernel: string, target: FlashTarget, scratch: string, ops: FlashOps = flashOps): CheckedImage {
  const good = knownGoodImage(target, ops);
  const wrapped = join(scratch, 'kernel-only.img');
  writeBootImage(kernel, '', wrapped);
  try {
    return checkBootImageFile(kernelInDeviceImage(wrapped, good.path, target.product ?? good.product, target.serial));
  } catch (err) {
    throw new CommitSkip(`cannot put ${kernel} into ${target.serial}'s known-good image ${good.path}: ${errorMessage(err)}`);
  }
}

/**
 * Measure each commit on one device (a phone, or a virtual device started
 * with zlab vm start) flashed with that commit's kernel: deployKernel
 * (reboot to the bootloader, checked flash, boot, /proc/version checked;
 * the recovery ladder when the kernel does not boot, which makes the commit
 * a skip). A device that already runs the commit's image is not flashed
 * again. The device is left on the last kernel; restoreKnownGood puts it
 * back at the end of the bisect.
 */
export async function flashedDeviceMeasurer(source: DeviceSource, log: Log = () => {}, ops: FlashOps = flashOps): Promise<Measurer> {
  const target = source.target;
  if (!target) throw new ZlabError('bug', 'flashedDeviceMeasurer needs a target device');
  headlineMetric(source.metric);
  parseEatOptions(source.eat);
  const scratch = mkdtempSync(join(tmpdir(), 'zlab-bisect-flash-'));
  let runs = ops.runs;
  if (!runs) {
    await buildWorkloadBinaries();
    const runner = eaterRunner(source, scratch, log);
    runs = (device, commit, count) => runner.run(device, commit, count);
  }
  let current: { commit: string; device: Device } | null = null;

  async function onCommit(commit: string): Promise<Device> {
    if (current?.commit === commit) return current.device;
    current = null;
    const kernel = ops.kernelFor ? await ops.kernelFor(commit) : await imageFor(source, commit, log);
    const image = commitImage(kernel, target!, scratch, ops);
    const running = await ops.running(kernelTarget(target!));
    if (runsImage(running, image)) {
      log(`${target!.serial} already runs the kernel of ${commit.slice(0, 12)} (${describeIdentity(image.identity)})`);
    } else {
      log(`${target!.serial}: flashing the kernel of ${commit.slice(0, 12)}: ${image.path}`);
      let result: DeployResult;
      try {
        result = await ops.deploy({
          serial: target!.serial,
          adbServerPort: target!.adbServerPort,
          imagePath: image.path,
          bootTimeoutMs: source.vm.bootTimeoutSeconds * 1000,
          progress: log,
          ...lab(target!),
        });
      } catch (err) {
        // A refused flash (wrong product, serial not allowed) is the caller's to fix; a device recovery that failed stops the bisect.
        if (err instanceof UsageError || (err instanceof ZlabError && err.kind === 'usage')) throw err;
        throw new BisectAbort(`deploying the kernel of ${commit.slice(0, 12)} to ${target!.serial} failed and the device was not brought back: ${errorMessage(err)}`, {}, { cause: err });
      }
      if (!result.deployed) {
        throw new CommitSkip(
          `the kernel of ${commit.slice(0, 12)} did not boot on ${target!.serial} (${result.failure ?? 'no reason given'}); recovered by rung ${result.rungNumber} (${result.rung}), the device runs its known-good kernel`,
        );
      }
      log(`${target!.serial}: booted the kernel of ${commit.slice(0, 12)} in ${result.bootSeconds} s`);
    }
    const device = await ops.open(target!);
    current = { commit, device };
    return device;
  }

  return {
    async measure(commit, count) {
      return runs(await onCommit(commit), commit, count);
    },
    async close() {
      current = null;
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Put the device back on its known-good kernel (nothing when it already runs it). */
export async function restoreKnownGood(target: FlashTarget, bootTimeoutSeconds: number, log: Log = () => {}, ops: FlashOps = flashOps): Promise<'already' | 'restored'> {
  const good = knownGoodImage(target, ops);
  const running = await ops.running(kernelTarget(target));
  if (runsImage(running, good)) {
    log(`${target.serial} runs its known-good kernel (${describeIdentity(good.identity)})`);
    return 'already';
  }
  log(`${target.serial}: back to the known-good image ${good.path}`);
  const result = await ops.deploy({
    serial: target.serial,
    adbServerPort: target.adbServerPort,
    imagePath: good.path,
    bootTimeoutMs: bootTimeoutSeconds * 1000,
    progress: log,
    ...lab(target),
  });
  if (!result.deployed) {
    log(`${target.serial}: the known-good image did not boot by itself; recovered by rung ${result.rungNumber} (${result.rung})`);
  }
  return 'restored';
}

/**
 * The device -s SERIAL names: a virtual device from zlab vm start (by serial
 * or name; its own adb server) or a device on the given adb server, with the
 * lab's flashing rules from the inventory. A device the inventory does not
 * allow to be flashed, or that adb does not list as online, is refused
 * before anything is built.
 */
export async function flashTargetFor(serial: string, adbServerPort: number | undefined, ops: Pick<FlashOps, 'running'> = flashOps): Promise<FlashTarget> {
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(serial)) throw new UsageError(`--serial: "${serial}" is not a device serial`);
  const vm = readAllVmStates().find((s) => s.serial === serial || s.name === serial);
  const target: FlashTarget = vm ? { serial: vm.serial, adbServerPort: vm.adbServerPort } : { serial, adbServerPort: adbServerPort ?? defaultAdbPort() };
  const devices = loadInventory().devices;
  if (devices.length > 0) {
    const allowed = devices.filter((d) => d.flash.allowed).map((d) => d.serial);
    if (!allowed.includes(target.serial)) throw new UsageError(`--serial: the lab inventory does not allow ${target.serial} to be flashed (flash.allowed)`);
    const entry = devices.find((d) => d.serial === target.serial);
    Object.assign(target, {
      allowedSerials: allowed,
      ...(entry?.flash.product ? { product: entry.flash.product } : {}),
      ...(entry?.powerCycle ? { powerCycle: [...entry.powerCycle] } : {}),
      ...(entry?.knownGoodImage ? { knownGoodImage: entry.knownGoodImage } : {}),
    });
  }
  try {
    await ops.running(kernelTarget(target));
  } catch (err) {
    throw new UsageError(`--serial: ${target.serial} does not answer on the adb server at port ${target.adbServerPort}: ${errorMessage(err)}`);
  }
  return target;
}
