import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseBootImage } from '../deploy/bootimg-reader.js';
import { type DeployRequest, type DeployResult, deployKernel } from '../deploy/deploy.js';
import { deviceLink } from '../deploy/device-link.js';
import { declaredTarget } from '../deploy/image-target.js';
import { type KernelIdentity, describeIdentity, identityDifferences, kernelImageIdentity } from '../deploy/kernel-identity.js';
import { type KnownGood, resolveKnownGood } from '../deploy/known-good.js';
import { readRunningIdentity } from '../deploy/verify.js';
import { type KernelBuild, buildKernel } from '../kernel/build.js';
import { loadRecipe } from '../kernel/recipe.js';
import type { Inventory } from '../lab/inventory.js';
import { kernelInDeviceImage } from './device-image.js';
import type { LoadedPlan } from '../plan/load-plan.js';
import { ZlabError, errorMessage } from '../util/errors.js';

/**
 * Kernels in a nightly: every plan kernel resolved to a checked boot image
 * before a device is touched, then per job "make this device run the cell's
 * kernel" (skipped when it already does), and at the end of the night every
 * flashed device put back on its known-good kernel.
 *
 * `{current: true}` is the kernel a device runs when the night starts. Until
 * zlab flashes that device nothing is deployed for it; once flashed, the
 * device's known-good image stands for it — which is why a device must start
 * the night on its known-good kernel when the plan also has `current`.
 */

/** A boot image and what it holds, checked offline. */
export interface CheckedImage {
  path: string;
  sha256: string;
  identity: KernelIdentity;
  cmdline: string;
  /** The product the image declares (header name or sidecar), or null: deployable only where the lab names the product. */
  product: string | null;
}

export type ResolvedKernel =
  | { name: string; kind: 'current' }
  | ({ name: string; kind: 'image' } & CheckedImage)
  | ({ name: string; kind: 'recipe'; recipe: string; inputHash: string; cached: boolean } & CheckedImage);

/** Read and check a boot image; a problem is thrown as a plain Error for the caller to place. */
export function checkBootImageFile(path: string): CheckedImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
  }
  let image;
  try {
    image = parseBootImage(bytes);
  } catch (err) {
    throw new Error(`${path}: ${errorMessage(err)}`);
  }
  let product: string | null;
  try {
    product = declaredTarget(image, path).product;
  } catch {
    product = null;
  }
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), identity: kernelImageIdentity(image.kernel), cmdline: image.cmdline, product };
}

export interface ResolveOptions {
  progress?: (line: string) => void;
  /** Builds a recipe (default: harness/kernel's cached buildKernel). */
  build?: (recipe: string, log: (line: string) => void) => Promise<KernelBuild>;
  /** The lab names the product of every device the plan may use (inventory flash.product): images need not declare one. */
  productFromLab?: boolean;
}

/** deployKernel refuses an image that declares no product; say so before the night. */
function requireProduct(image: CheckedImage, where: string, options: ResolveOptions): void {
  if (image.product !== null || options.productFromLab) return;
  throw new ZlabError(
    'plan',
    `${where}: ${image.path} declares no target product (empty header name, no ${image.path}.zlab.json), so no device would take it; write {"product": "…"} to that sidecar or set flash.product for the devices in lab.yaml`,
  );
}

const defaultBuild = (recipe: string, log: (line: string) => void) => buildKernel(loadRecipe(recipe), { log });

/** Where a plan's relative image path points: next to the plan file, else the working directory. */
function imagePathFor(loaded: LoadedPlan, path: string): string {
  if (isAbsolute(path)) return path;
  return existsSync(loaded.source) ? resolve(dirname(loaded.source), path) : resolve(path);
}

/**
 * Every plan kernel as a boot image, before any device is touched: recipes are
 * built (once each; unchanged inputs are a cache hit), images are parsed. A bad
 * image or a failed build is a plan error naming `kernels.NAME`.
 */
export async function resolvePlanKernels(loaded: LoadedPlan, options: ResolveOptions = {}): Promise<Map<string, ResolvedKernel>> {
  const say = options.progress ?? (() => undefined);
  const build = options.build ?? defaultBuild;
  const resolved = new Map<string, ResolvedKernel>();
  for (const [name, spec] of Object.entries(loaded.plan.kernels)) {
    if ('current' in spec) {
      resolved.set(name, { name, kind: 'current' });
    } else if ('image' in spec) {
      const path = imagePathFor(loaded, spec.image);
      try {
        const image = checkBootImageFile(path);
        requireProduct(image, `kernels.${name}.image`, options);
        resolved.set(name, { name, kind: 'image', ...image });
      } catch (err) {
        if (err instanceof ZlabError) throw err;
        throw new ZlabError('plan', `kernels.${name}.image: ${path === spec.image ? '' : `${spec.image} is `}${errorMessage(err)}`);
      }
    } else {
      say(`kernel ${name}: building recipe ${spec.recipe}`);
      let built: KernelBuild;
      try {
        built = await build(spec.recipe, (line) => say(`kernel ${name}: ${line}`));
      } catch (err) {
        throw new ZlabError('plan', `kernels.${name}.recipe: ${spec.recipe} does not build: ${errorMessage(err)}`, {}, { cause: err });
      }
      let image: CheckedImage;
      try {
        image = checkBootImageFile(built.bootImage);
      } catch (err) {
        throw new ZlabError('plan', `kernels.${name}.recipe: the boot image of ${spec.recipe} is not usable: ${errorMessage(err)}`);
      }
      // No product check: a recipe's kernel is placed into each device's own image (kernelInDeviceImage).
      say(`kernel ${name}: ${spec.recipe} ${built.cached ? 'cached' : `built in ${Math.round(built.buildSeconds)} s`} (${built.kernelRelease}, ${built.inputHash.slice(0, 12)})`);
      resolved.set(name, { name, kind: 'recipe', recipe: spec.recipe, inputHash: built.inputHash, cached: built.cached, ...image });
    }
  }
  return resolved;
}

/** What the deploy stage did, kept in the job's environment. */
export interface KernelDeployment {
  kernel: string;
  /** current: nothing to do; skipped: the device already ran it; deployed: flashed and verified. */
  action: 'current' | 'skipped' | 'deployed';
  image: { path: string; sha256: string; cmdline: string; knownGood: boolean } | null;
  /** What the device runs after the stage (null for `current` untouched: read in collect). */
  identity: string | null;
  deploySeconds?: number;
  bootSeconds?: number;
  /** Why the flashed slot's first boot ended by itself, when it booted on the second try. */
  firstBootFailure?: string;
}

/** A device as the deploy stage reaches it. */
export interface KernelTarget {
  serial: string;
  adbServerPort: number;
}

/** What the night's kernel handling does to devices; replaced by small fakes in unit tests. */
export interface KernelDeviceOps {
  deploy(request: DeployRequest): Promise<DeployResult>;
  running(target: KernelTarget): Promise<{ identity: KernelIdentity; cmdline: string }>;
  knownGood(target: KernelTarget, configured: string | undefined): KnownGood;
}

export const deviceOps: KernelDeviceOps = {
  deploy: deployKernel,
  async running(target) {
    const identity = await readRunningIdentity(target.serial, target.adbServerPort);
    const result = await execa('adb', ['-P', String(target.adbServerPort), '-s', target.serial, 'shell', 'cat /proc/cmdline'], { reject: false, timeout: 20_000 });
    if (result.exitCode !== 0) throw new ZlabError('device', `${target.serial}: cannot read /proc/cmdline: ${(result.stderr || result.stdout).trim()}`);
    return { identity, cmdline: result.stdout.trim() };
  },
  knownGood(target, configured) {
    const link = deviceLink({ serial: target.serial, adbServerPort: target.adbServerPort });
    return resolveKnownGood(target.serial, configured, () => link.currentImage());
  },
};

export interface RestoreOutcome {
  serial: string;
  outcome: 'already' | 'restored' | 'failed';
  detail: string;
}

const words = (cmdline: string) => cmdline.split(/\s+/).filter(Boolean);

/**
 * Whether a device that zlab has not flashed tonight runs `image`: the same
 * kernel build, and every word of the image's command line on /proc/cmdline
 * (a bootloader adds words of its own).
 */
export function runsImage(running: { identity: KernelIdentity; cmdline: string }, image: CheckedImage): boolean {
  if (identityDifferences(running.identity, image.identity).length) return false;
  const have = new Set(words(running.cmdline));
  return words(image.cmdline).every((w) => have.has(w));
}

export interface NightKernelsOptions {
  inventory?: Inventory;
  /** The whole deploy stage's budget; a boot gets a fifth of it (at least 60 s), leaving room for the recovery ladder. */
  deployTimeoutMs: number;
  ops?: KernelDeviceOps;
  progress?: (line: string) => void;
}

/** One night's kernel state per device. */
export class NightKernels {
  /** Devices zlab flashed tonight, with the image they were last left on (null: unknown, e.g. a deploy died half-way). */
  private readonly flashed = new Map<string, { target: KernelTarget; onSha: string | null }>();
  private readonly ops: KernelDeviceOps;
  private readonly say: (line: string) => void;

  constructor(readonly kernels: Map<string, ResolvedKernel>, private readonly options: NightKernelsOptions) {
    this.ops = options.ops ?? deviceOps;
    this.say = options.progress ?? (() => undefined);
  }

  get bootTimeoutMs(): number {
    return Math.max(60_000, Math.floor(this.options.deployTimeoutMs / 5));
  }

  /** Devices flashed tonight (serials). */
  get flashedSerials(): string[] {
    return [...this.flashed.keys()];
  }

  private lab(serial: string): Pick<DeployRequest, 'device' | 'allowedSerials'> {
    const devices = this.options.inventory?.devices ?? [];
    if (devices.length === 0) return {};
    const entry = devices.find((d) => d.serial === serial);
    return {
      allowedSerials: devices.filter((d) => d.flash.allowed).map((d) => d.serial),
      device: {
        ...(entry?.powerCycle ? { powerCycle: entry.powerCycle } : {}),
        ...(entry?.knownGoodImage ? { knownGoodImage: entry.knownGoodImage } : {}),
        ...(entry?.flash.product ? { product: entry.flash.product } : {}),
      },
    };
  }

  private knownGoodImage(target: KernelTarget): CheckedImage {
    const known = this.ops.knownGood(target, this.lab(target.serial).device?.knownGoodImage);
    return checkBootImageFile(known.path);
  }

  /** The recipe's kernel inside `target`'s known-good boot image (its ramdisk, command line and product). */
  private recipeImageFor(kernel: ResolvedKernel & { kind: 'recipe' }, target: KernelTarget): CheckedImage {
    const good = this.knownGoodImage(target);
    try {
      return checkBootImageFile(kernelInDeviceImage(kernel.path, good.path, good.product, target.serial));
    } catch (err) {
      throw new ZlabError('kernel', `kernel ${kernel.name}: cannot put the kernel of ${kernel.recipe} into ${target.serial}'s known-good image ${good.path}: ${errorMessage(err)}`);
    }
  }

  /**
   * Make `target` run the kernel named `kernelName`: nothing for `current` on
   * a device not flashed tonight; a skip when it already runs the image; else
   * deployKernel. A deploy that ended in recovery throws a `kernel` error
   * naming the rung (the device then runs its known-good kernel).
   */
  async ensure(kernelName: string, target: KernelTarget, progress: (line: string) => void = this.say): Promise<KernelDeployment> {
    const kernel = this.kernels.get(kernelName);
    if (!kernel) throw new ZlabError('bug', `kernel "${kernelName}" was not resolved before the night`);
    const state = this.flashed.get(target.serial);
    let image: CheckedImage;
    let knownGood = false;
    if (kernel.kind === 'current') {
      if (!state) return { kernel: kernelName, action: 'current', image: null, identity: null };
      image = this.knownGoodImage(target);
      knownGood = true;
    } else image = kernel.kind === 'recipe' ? this.recipeImageFor(kernel, target) : kernel;

    const running = await this.ops.running(target);
    const same = state && state.onSha !== null ? state.onSha === image.sha256 && identityDifferences(running.identity, image.identity).length === 0 : runsImage(running, image);
    const described = { path: image.path, sha256: image.sha256, cmdline: image.cmdline, knownGood };
    if (same) {
      progress(`kernel ${kernelName}: already running (${describeIdentity(running.identity)}), no deploy`);
      return { kernel: kernelName, action: 'skipped', image: described, identity: describeIdentity(running.identity) };
    }

    if (!state) {
      // Before the first flash: the way back must exist, and `current` must be reachable again.
      const good = this.knownGoodImage(target);
      const hasCurrent = [...this.kernels.values()].some((k) => k.kind === 'current');
      if (hasCurrent && !runsImage(running, good)) {
        throw new ZlabError(
          'kernel',
          `${target.serial} does not run its known-good image (${good.path}), so the plan's current kernel could not be returned to after a deploy: running ${describeIdentity(running.identity)}`,
        );
      }
    }
    this.flashed.set(target.serial, { target, onSha: null });
    progress(`kernel ${kernelName}: deploying ${image.path} (${describeIdentity(image.identity)})`);
    const result = await this.ops.deploy({
      serial: target.serial,
      adbServerPort: target.adbServerPort,
      imagePath: image.path,
      bootTimeoutMs: this.bootTimeoutMs,
      progress,
      ...this.lab(target.serial),
    });
    this.flashed.set(target.serial, { target, onSha: result.deployed ? image.sha256 : result.knownGood.sha256 });
    if (!result.deployed) {
      throw new ZlabError(
        'kernel',
        `kernel ${kernelName}: ${image.path} did not deploy on ${target.serial}; recovered by rung ${result.rungNumber} (${result.rung}), the device runs its known-good kernel again: ${result.failure ?? 'no reason given'}`,
        { rung: result.rung, rungNumber: result.rungNumber },
      );
    }
    progress(`kernel ${kernelName}: deployed in ${result.totalSeconds} s (boot ${result.bootSeconds} s)`);
    return {
      kernel: kernelName,
      action: 'deployed',
      image: described,
      identity: describeIdentity(result.identity),
      deploySeconds: result.totalSeconds,
      bootSeconds: result.bootSeconds,
      ...(result.firstBootFailure ? { firstBootFailure: result.firstBootFailure } : {}),
    };
  }

  /**
   * Put every device flashed tonight back on its known-good kernel. Never
   * throws: each device's outcome is returned (and said), so one stuck phone
   * does not keep the others from being restored.
   */
  async restoreAll(): Promise<RestoreOutcome[]> {
    const outcomes: RestoreOutcome[] = [];
    for (const [serial, { target, onSha }] of this.flashed) {
      try {
        const good = this.knownGoodImage(target);
        if (onSha === good.sha256) {
          outcomes.push({ serial, outcome: 'already', detail: `on its known-good image ${good.path}` });
        } else {
          this.say(`${serial}: end of night, back to the known-good image ${good.path}`);
          const result = await this.ops.deploy({ serial, adbServerPort: target.adbServerPort, imagePath: good.path, bootTimeoutMs: this.bootTimeoutMs, progress: this.say, ...this.lab(serial) });
          this.flashed.set(serial, { target, onSha: result.deployed ? good.sha256 : result.knownGood.sha256 });
          outcomes.push({
            serial,
            outcome: 'restored',
            detail: result.deployed ? `known-good kernel booted in ${result.bootSeconds} s` : `known-good kernel back by rung ${result.rungNumber} (${result.rung})`,
          });
        }
      } catch (err) {
        outcomes.push({ serial, outcome: 'failed', detail: errorMessage(err) });
      }
      const last = outcomes.at(-1)!;
      this.say(`${serial}: known-good kernel ${last.outcome === 'failed' ? 'NOT restored' : last.outcome === 'already' ? 'kept' : 'restored'}: ${last.detail}`);
    }
    return outcomes;
  }
}
