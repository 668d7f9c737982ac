import { type Command, Option } from 'commander';
import { fastbootTargetAsIs, type BootloaderResolver } from '../../deploy/bootloader.js';
import { flashBootImage, type FlashResult } from '../../deploy/flash.js';
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
function labPolicy(serial: string): { allowedSerials?: string[]; product?: string } {
  const inventory = loadInventory();
  if (inventory.devices.length === 0) return {};
  return {
    allowedSerials: inventory.devices.filter((d) => d.flash.allowed).map((d) => d.serial),
    product: inventory.devices.find((d) => d.serial === serial)?.flash.product,
  };
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
    .requiredOption('-s, --serial <serial>', 'the device: a fastboot target, tcp:HOST:PORT or a USB serial')
    .addOption(new Option('--slot <slot>', 'flash this slot instead of the current one').choices(['a', 'b']))
    .option('--one-shot', 'boot the image once (fastboot boot); nothing is flashed')
    .option('--product <name>', "the product the image is for, overriding its name field or IMAGE.zlab.json")
    .option('--timeout <seconds>', 'give up on fastboot after this long', parseSeconds, 300)
    .option('--json', 'print one JSON document')
    .action(async (image: string, options: FlashOptions) => {
      const result = await flashCommand(image, options);
      if (options.json) return printJson(result);
      const where = result.oneShot ? 'booted once on' : `flashed to slot ${result.slot ?? '(none)'} of`;
      process.stdout.write(`${image}: ${where} ${result.target} (product ${result.product}, ${result.image.size} bytes)\n`);
    });
}
