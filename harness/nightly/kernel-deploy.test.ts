import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootImage, parseBootImage } from '../deploy/bootimg.js';
import type { DeployRequest, DeployResult } from '../deploy/deploy.js';
import { parseProcVersion } from '../deploy/kernel-identity.js';
import type { KernelBuild } from '../kernel/build.js';
import { parsePlanText } from '../plan/load-plan.js';
import { useTemporaryStateDir } from '../testing/temporary-state-dir.js';
import { ZlabError } from '../util/errors.js';
import { type KernelDeviceOps, NightKernels, type ResolvedKernel, checkBootImageFile, resolvePlanKernels } from './kernel-deploy.js';

useTemporaryStateDir('zlab-kernel-deploy-state-');
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'zlab-kernel-deploy-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const banner = (build: number) => `6.12.0-zlab (dev@lab) (gcc 14.2.0) #${build} SMP PREEMPT_DYNAMIC Thu Nov 26 07:00:00 UTC 2026`;

/** A boot image whose "kernel" carries a version banner, written to a file. */
function imageFile(name: string, build: number, cmdline: string, product = 'zlab_x86_64'): string {
  const path = join(work, `${name}.img`);
  writeFileSync(path, buildBootImage({ headerVersion: 2, kernel: Buffer.from(`\0\0Linux version ${banner(build)}\n\0rest`), cmdline, name: product }));
  return path;
}

/**
 * One fake device: it runs whatever image was last deployed to it. A deploy
 * either boots the image or, when `failing` holds its path, ends recovered on
 * the known-good image by a power cycle.
 */
function fakeDevice(startOn: string, goodPath: string) {
  const state = { on: startOn, deploys: [] as string[], reads: 0, failing: new Set<string>() };
  const ops: KernelDeviceOps = {
    async running() {
      state.reads++;
      const image = checkBootImageFile(state.on);
      return { identity: parseProcVersion(`Linux version ${banner(image.identity.buildNumber)}\n`), cmdline: `${image.cmdline} added.by=bootloader` };
    },
    async deploy(request: DeployRequest) {
      state.deploys.push(request.imagePath);
      const good = checkBootImageFile(goodPath);
      const recovered = state.failing.has(request.imagePath);
      state.on = recovered ? goodPath : request.imagePath;
      return {
        serial: request.serial,
        deployed: !recovered,
        rung: recovered ? 'power-cycle' : 'none',
        rungNumber: recovered ? 2 : 0,
        bootSeconds: 1,
        totalSeconds: 2,
        identity: checkBootImageFile(state.on).identity,
        expected: checkBootImageFile(request.imagePath).identity,
        image: { path: request.imagePath, sha256: 'x' },
        knownGood: { path: goodPath, sha256: good.sha256, source: 'recorded', origin: 'slot a', recordedAt: null },
        failure: recovered ? `${request.imagePath} did not boot: no adb within 60 s` : null,
        attempts: [],
      } as unknown as DeployResult;
    },
    knownGood: () => ({ path: goodPath, sha256: checkBootImageFile(goodPath).sha256, source: 'recorded', origin: 'slot a', recordedAt: null }),
  };
  return { state, ops };
}

const target = { serial: 'emulator-5554', adbServerPort: 5037 };

function night(kernels: Record<string, string | null>, ops: KernelDeviceOps): NightKernels {
  const resolved = new Map<string, ResolvedKernel>(
    Object.entries(kernels).map(([name, path]) => [name, path === null ? { name, kind: 'current' } : { name, kind: 'image', ...checkBootImageFile(path) }]),
  );
  return new NightKernels(resolved, { deployTimeoutMs: 900_000, ops });
}

describe('the deploy stage', () => {
  it('skips a kernel the device already runs, deploys one it does not, and skips it the next time', async () => {
    const good = imageFile('good', 1, 'console=ttyS0');
    const other = imageFile('other', 2, 'console=ttyS0');
    const device = fakeDevice(good, good);
    const kernels = night({ stock: good, candidate: other }, device.ops);

    // The bootloader's extra word on /proc/cmdline does not make the kernel look different.
    expect(await kernels.ensure('stock', target)).toMatchObject({ action: 'skipped' });
    expect(device.state.deploys).toEqual([]);
    expect(await kernels.ensure('candidate', target)).toMatchObject({ action: 'deployed', identity: expect.stringContaining('#2') });
    expect(await kernels.ensure('candidate', target)).toMatchObject({ action: 'skipped' });
    expect(device.state.deploys).toEqual([other]);
  });

  it("runs a recipe's kernel inside the device's own image: its ramdisk, command line and product stay", async () => {
    const goodPath = join(work, 'device-good.img');
    writeFileSync(goodPath, buildBootImage({ headerVersion: 2, kernel: Buffer.from(`\0\0Linux version ${banner(1)}\n\0`), ramdisk: Buffer.from('device ramdisk'), cmdline: 'console=ttyS0 board=vd', name: '' }));
    writeFileSync(`${goodPath}.zlab.json`, '{"product": "zlab_vd"}');
    const recipeImage = imageFile('recipe', 5, 'console=ttyS0', '');
    const device = fakeDevice(goodPath, goodPath);
    const resolved = new Map<string, ResolvedKernel>([['patched', { name: 'patched', kind: 'recipe', recipe: 'kcompressd-6.12', inputHash: 'abc', cached: true, ...checkBootImageFile(recipeImage) }]]);
    const kernels = new NightKernels(resolved, { deployTimeoutMs: 900_000, ops: device.ops });

    const first = await kernels.ensure('patched', target);
    expect(first).toMatchObject({ action: 'deployed', identity: expect.stringContaining('#5'), image: { cmdline: 'console=ttyS0 board=vd' } });
    const flashed = parseBootImage(readFileSync(device.state.deploys[0]!));
    expect(flashed.ramdisk.toString()).toBe('device ramdisk');
    expect(flashed.kernel).toEqual(parseBootImage(readFileSync(recipeImage)).kernel);
    expect(checkBootImageFile(device.state.deploys[0]!).product).toBe('zlab_vd');
    // The same kernel on the same device is the same file: the next job skips the deploy.
    expect(await kernels.ensure('patched', target)).toMatchObject({ action: 'skipped' });
    expect(device.state.deploys).toHaveLength(1);
  });

  it('tells apart two images of one kernel build by their command lines', async () => {
    const good = imageFile('good', 1, 'console=ttyS0');
    const tagged = imageFile('tagged', 1, 'console=ttyS0 zlab.tag=b');
    const device = fakeDevice(good, good);
    const kernels = night({ a: good, b: tagged }, device.ops);
    expect(await kernels.ensure('b', target)).toMatchObject({ action: 'deployed' });
    // Back to a: its words are all on the tagged /proc/cmdline, but zlab knows which image it flashed.
    expect(await kernels.ensure('a', target)).toMatchObject({ action: 'deployed' });
    expect(device.state.deploys).toEqual([tagged, good]);
  });

  it('a recovered deploy fails the job as a kernel failure naming the rung; the device is on its known-good kernel', async () => {
    const good = imageFile('good', 1, 'console=ttyS0');
    const broken = imageFile('broken', 3, 'console=ttyS0');
    const device = fakeDevice(good, good);
    device.state.failing.add(broken);
    const kernels = night({ stock: good, broken }, device.ops);
    const error = await kernels.ensure('broken', target).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ZlabError);
    expect((error as ZlabError).kind).toBe('kernel');
    expect((error as ZlabError).message).toMatch(/broken\.img did not deploy on emulator-5554; recovered by rung 2 \(power-cycle\)/);
    expect(device.state.on).toBe(good);
    // Known to be on the known-good image: nothing left to restore at the end of the night.
    expect(await kernels.restoreAll()).toEqual([expect.objectContaining({ outcome: 'already' })]);
    expect(device.state.deploys).toEqual([broken]);
  });

  it('current: nothing before the device is flashed; its known-good image after', async () => {
    const good = imageFile('good', 1, 'console=ttyS0');
    const other = imageFile('other', 2, 'console=ttyS0');
    const device = fakeDevice(good, good);
    const kernels = night({ current: null, candidate: other }, device.ops);
    expect(await kernels.ensure('current', target)).toMatchObject({ action: 'current', image: null });
    expect(device.state.reads).toBe(0);
    await kernels.ensure('candidate', target);
    expect(await kernels.ensure('current', target)).toMatchObject({ action: 'deployed', image: { path: good, knownGood: true } });
    expect(device.state.deploys).toEqual([other, good]);
  });

  it('refuses to flash a device that does not start on its known-good kernel when the plan has current', async () => {
    const good = imageFile('good', 1, 'console=ttyS0');
    const elsewhere = imageFile('elsewhere', 5, 'console=ttyS0');
    const other = imageFile('other', 2, 'console=ttyS0');
    const device = fakeDevice(elsewhere, good);
    const kernels = night({ current: null, candidate: other }, device.ops);
    await expect(kernels.ensure('candidate', target)).rejects.toThrow(/does not run its known-good image .*could not be returned to/);
    expect(device.state.deploys).toEqual([]);
    expect(await kernels.restoreAll()).toEqual([]);
  });
});

describe('the end of the night', () => {
  it('puts a flashed device back on its known-good image and leaves untouched devices alone', async () => {
    const good = imageFile('good', 1, 'console=ttyS0');
    const other = imageFile('other', 2, 'console=ttyS0');
    const device = fakeDevice(good, good);
    const kernels = night({ candidate: other }, device.ops);
    expect(await kernels.restoreAll()).toEqual([]);
    await kernels.ensure('candidate', target);
    expect(await kernels.restoreAll()).toEqual([expect.objectContaining({ serial: 'emulator-5554', outcome: 'restored' })]);
    expect(device.state.on).toBe(good);
    expect(device.state.deploys).toEqual([other, good]);
  });

  it('a deploy that died half-way still gets the device restored, and a failed restore is reported, not thrown', async () => {
    const good = imageFile('good', 1, 'console=ttyS0');
    const other = imageFile('other', 2, 'console=ttyS0');
    const device = fakeDevice(good, good);
    const deploy = device.ops.deploy;
    let calls = 0;
    device.ops.deploy = async (request) => {
      calls++;
      if (calls === 1) throw new Error('fastboot: connection reset');
      if (calls === 2) throw new Error('bootloader gone');
      return deploy(request);
    };
    const kernels = night({ candidate: other }, device.ops);
    await expect(kernels.ensure('candidate', target)).rejects.toThrow(/connection reset/);
    expect(await kernels.restoreAll()).toEqual([{ serial: 'emulator-5554', outcome: 'failed', detail: 'bootloader gone' }]);
    expect(await kernels.restoreAll()).toEqual([expect.objectContaining({ outcome: 'restored' })]);
    expect(device.state.on).toBe(good);
  });
});

describe('plan kernels before the night', () => {
  const planText = (kernels: string) => `
name: k
devices: [{ virtual: {} }]
kernels: ${kernels}
configurations: { base: { vm: { swappiness: 100 } } }
workloads: { w: { size: 10% } }
`;

  it('builds each recipe once, checks each image, leaves current alone', async () => {
    const built = imageFile('built', 7, 'console=ttyS0');
    const given = imageFile('given', 8, 'console=ttyS0 x=1');
    const loaded = parsePlanText(planText(`{ now: { current: true }, stock: { recipe: stock }, mine: { image: ${given} } }`), 'plan.yaml');
    const builds: string[] = [];
    const lines: string[] = [];
    const resolved = await resolvePlanKernels(loaded, {
      progress: (line) => lines.push(line),
      build: async (recipe, log) => {
        builds.push(recipe);
        log('make -j2');
        return { recipe, inputHash: 'abcdef0123456789', bootImage: built, kernelRelease: '6.12.0-zlab', cached: false, buildSeconds: 61 } as KernelBuild;
      },
    });
    expect(builds).toEqual(['stock']);
    expect(resolved.get('now')).toEqual({ name: 'now', kind: 'current' });
    expect(resolved.get('stock')).toMatchObject({ kind: 'recipe', recipe: 'stock', path: built, identity: { buildNumber: 7 } });
    expect(resolved.get('mine')).toMatchObject({ kind: 'image', path: given, cmdline: 'console=ttyS0 x=1' });
    expect(lines).toEqual(['kernel stock: building recipe stock', 'kernel stock: make -j2', 'kernel stock: stock built in 61 s (6.12.0-zlab, abcdef012345)']);
  });

  it('a bad image is a plan error naming kernels.NAME.image; a failed build names the recipe', async () => {
    const bad = join(work, 'bad.img');
    writeFileSync(bad, Buffer.alloc(4096, 7));
    await expect(resolvePlanKernels(parsePlanText(planText(`{ b: { image: ${bad} } }`), 'plan.yaml'))).rejects.toThrow(/^kernels\.b\.image: .*bad\.img.*magic/i);
    await expect(resolvePlanKernels(parsePlanText(planText(`{ b: { image: ${join(work, 'none.img')} } }`), 'plan.yaml'))).rejects.toThrow(/kernels\.b\.image: .*none\.img: cannot read it: ENOENT/);
    const failing = resolvePlanKernels(parsePlanText(planText('{ k: { recipe: kcompressd } }'), 'plan.yaml'), {
      build: async () => {
        throw new Error('make failed');
      },
    });
    await expect(failing).rejects.toMatchObject({ kind: 'plan', message: expect.stringMatching(/^kernels\.k\.recipe: kcompressd does not build: make failed/) });
  });

  it('an image that declares no product is a plan error, unless the lab names every product', async () => {
    const anonymous = imageFile('anonymous', 1, 'console=ttyS0', '');
    const loaded = parsePlanText(planText(`{ a: { image: ${anonymous} } }`), 'plan.yaml');
    await expect(resolvePlanKernels(loaded)).rejects.toMatchObject({ kind: 'plan', message: expect.stringMatching(/^kernels\.a\.image: .*anonymous\.img declares no target product/) });
    // A recipe's kernel goes into each device's own image, which carries the product: no product needed.
    const built = await resolvePlanKernels(parsePlanText(planText('{ r: { recipe: stock } }'), 'plan.yaml'), {
      build: async (recipe) => ({ recipe, inputHash: 'abcdef0123456789', bootImage: anonymous, kernelRelease: 'x', cached: true, buildSeconds: 0 }) as KernelBuild,
    });
    expect(built.get('r')).toMatchObject({ kind: 'recipe', product: null });
    expect((await resolvePlanKernels(loaded, { productFromLab: true })).get('a')).toMatchObject({ kind: 'image', product: null });
    writeFileSync(`${anonymous}.zlab.json`, '{"product": "zlab_x86_64"}');
    expect((await resolvePlanKernels(loaded)).get('a')).toMatchObject({ product: 'zlab_x86_64' });
  });
});
