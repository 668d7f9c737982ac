import { type Command, Option } from 'commander';
import { fastbootTargetAsIs, type BootloaderResolver } from '../../deploy/bootloader.js';
import { deployKernel, type DeployResult } from '../../deploy/deploy.js';
import { flashBootImage, type FlashResult } from '../../deploy/flash.js';
import { describeIdentity } from '../../deploy/kernel-identity.js';
import { readAllVmStates } from '../../vm/vm-state.js';
import type { Slot } from '../../deploy/fastboot-slots.js';
import { loadInventory } from '../../lab/inventory.js';
import { UsageError } from '../../util/errors.js';
import { printJson } from '../output.js';

interface FlashOptions {
  serial: string;
  slot?: Slot;
  oneShot?: boolean;
  product?: string;
  timeout: number;
  bootTimeout?: number;
  json?: boolean;
}

function parseSeconds(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 3600) throw new UsageError(`--timeout: "${text}" is not a whole number of seconds from 1 to 3600`);
  return n;
}

/**
 * The lab's flashing policy for SERIAL: when the inventory lists devices, only
 * those with `flash.allowed` may be flashed, and a device's `flash.product`
 * overrides the product an image declares.
 */
function labPolicy(serial: string): { allowedSerials?: string[]; product?: string; powerCycle?: string[]; knownGoodImage?: string } {
  const inventory = loadInventory();
  if (inventory.devices.length === 0) return {};
  const entry = inventory.devices.find((d) => d.serial === serial);
  return {
    allowedSerials: inventory.devices.filter((d) => d.flash.allowed).map((d) => d.serial),
    product: entry?.flash.product,
    powerCycle: entry?.powerCycle,
    knownGoodImage: entry?.knownGoodImage,
  };
}

/**
 * A virtual device (by adb serial or name) is deployed to end to end: adb
 * reboot bootloader, its fastboot port from its state, checked flash, reboot,
 * wait for boot, verify /proc/version, and the recovery ladder on a timeout.
 */
export async function deployToVirtualDevice(image: string, options: FlashOptions, progress: (line: string) => void): Promise<DeployResult | null> {
  const vm = readAllVmStates().find((s) => s.serial === options.serial || s.name === options.serial);
  if (!vm) return null;
  const policy = labPolicy(vm.serial);
  return deployKernel({
    serial: vm.serial,
    adbServerPort: vm.adbServerPort,
    imagePath: image,
    slot: options.slot,
    oneShot: options.oneShot,
    bootTimeoutMs: (options.bootTimeout ?? 180) * 1000,
    device: { product: options.product ?? policy.product, powerCycle: policy.powerCycle, knownGoodImage: policy.knownGoodImage },
    allowedSerials: policy.allowedSerials,
    progress,
  });
}

export async function flashCommand(image: string, options: FlashOptions, resolveBootloader: BootloaderResolver = fastbootTargetAsIs): Promise<FlashResult> {
  const policy = labPolicy(options.serial);
  const access = await resolveBootloader(options.serial);
  return flashBootImage({
    target: access.target,
    enterBootloader: access.enterBootloader,
    imagePath: image,
    slot: options.slot,
    oneShot: options.oneShot,
    product: options.product ?? policy.product,
    allowedSerials: policy.allowedSerials,
    commandTimeoutMs: Math.min(options.timeout, 30) * 1000,
    transferTimeoutMs: options.timeout * 1000,
  });
}

export function register(program: Command): void {
  program
    .command('flash')
    .description('flash a boot image to a device in bootloader mode, after checking image, product, size and the lab allowlist')
    .argument('<image>', 'Android boot image')
    .requiredOption('-s, --serial <serial>', 'the device: a virtual device (adb serial or name), or a fastboot target (tcp:HOST:PORT or a USB serial)')
    .addOption(new Option('--slot <slot>', 'flash this slot instead of the current one').choices(['a', 'b']))
    .option('--one-shot', 'boot the image once (fastboot boot); nothing is flashed')
    .option('--product <name>', "the product the image is for, overriding its name field or IMAGE.zlab.json")
    .option('--timeout <seconds>', 'give up on fastboot after this long', parseSeconds, 300)
    .option('--boot-timeout <seconds>', 'a virtual device: how long the new kernel gets to boot before recovery', parseSeconds, 180)
    .option('--json', 'print one JSON document')
    .action(async (image: string, options: FlashOptions) => {
      const deployed = await deployToVirtualDevice(image, options, (line) => process.stderr.write(`${line}\n`));
      if (deployed) {
        if (options.json) return printJson(deployed);
        if (deployed.deployed) {
          process.stdout.write(`${image}: runs on ${deployed.serial} (${describeIdentity(deployed.identity)}), booted in ${deployed.bootSeconds} s\n`);
          return;
        }
        process.stdout.write(`${deployed.failure}\nrecovered by rung ${deployed.rungNumber} (${deployed.rung}) to the known-good image in ${deployed.totalSeconds} s\n`);
        process.exitCode = 1;
        return;
      }
      const result = await flashCommand(image, options);
      if (options.json) return printJson(result);
      const where = result.oneShot ? 'booted once on' : `flashed to slot ${result.slot ?? '(none)'} of`;
      process.stdout.write(`${image}: ${where} ${result.target} (product ${result.product}, ${result.image.size} bytes)\n`);
    });
}
