import { afterEach, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeDeviceRoot, type FakeDeviceRoot, type FakeDeviceShape } from '../configure/fake-device-root.js';
import { ReclaimDesignSchema } from './reclaim-design.js';
import { describeKnobs, kcompressdKnobsFrom, offloads, readKcompressdKnobs, readKcompressdQueued, reclaimDesignFor } from './kcompressd-design.js';

let fake: FakeDeviceRoot | undefined;
const setup = (shape: FakeDeviceShape = {}) => (fake = createFakeDeviceRoot(shape));
afterEach(() => fake?.cleanup());

describe("reading a kernel's kcompressd knobs", () => {
  it('gives null on a stock kernel (neither file)', async () => {
    const f = setup();
    expect(await readKcompressdKnobs(f.device, { root: f.root })).toBeNull();
    expect(await readKcompressdQueued(f.device, { root: f.root })).toBeNull();
  });

  it('reads vm.kcompressd and vm.kcompressd_threads', async () => {
    const f = setup({ kcompressdSysctl: true });
    expect(await readKcompressdKnobs(f.device, { root: f.root })).toEqual({ queueDepthPerThread: 24, threads: 1 });
    f.write('proc/sys/vm/kcompressd', '256');
    f.write('proc/sys/vm/kcompressd_threads', '4');
    expect(await readKcompressdKnobs(f.device, { root: f.root })).toEqual({ queueDepthPerThread: 256, threads: 4 });
  });

  it('reads the queued counter', async () => {
    const f = setup({ kcompressdSysctl: true });
    f.write('sys/kernel/mm/kcompressd/queued', '12345');
    expect(await readKcompressdQueued(f.device, { root: f.root })).toBe(12345);
    f.write('sys/kernel/mm/kcompressd/queued', 'lots');
    await expect(readKcompressdQueued(f.device, { root: f.root })).rejects.toThrow(/\/sys\/kernel\/mm\/kcompressd\/queued reads "lots", not a count/);
  });

  it('names a knob that is missing or does not read as a number', async () => {
    const f = setup({ kcompressdSysctl: true });
    f.write('proc/sys/vm/kcompressd', 'on');
    await expect(readKcompressdKnobs(f.device, { root: f.root })).rejects.toThrow(/\/proc\/sys\/vm\/kcompressd reads "on", not a whole number/);
    rmSync(join(f.root, 'proc/sys/vm/kcompressd_threads'));
    await expect(readKcompressdKnobs(f.device, { root: f.root })).rejects.toThrow(/has \/proc\/sys\/vm\/kcompressd but not \/proc\/sys\/vm\/kcompressd_threads/);
    expect(() => kcompressdKnobsFrom('R58M', null, '2')).toThrow(/R58M: the kernel has \/proc\/sys\/vm\/kcompressd_threads but not \/proc\/sys\/vm\/kcompressd:/);
    expect(() => kcompressdKnobsFrom('R58M', '-1', '2')).toThrow(/kcompressd reads "-1"/);
  });
});

describe("the model's design for the knobs", () => {
  it('is the stock design without knobs, with offload off or without a thread', () => {
    for (const knobs of [null, { queueDepthPerThread: 0, threads: 1 }, { queueDepthPerThread: 256, threads: 0 }]) {
      expect(offloads(knobs)).toBe(false);
      expect(ReclaimDesignSchema.parse(reclaimDesignFor(knobs)).threads).toBe(0);
    }
    expect(describeKnobs(null)).toMatch(/stock kernel/);
    expect(describeKnobs({ queueDepthPerThread: 0, threads: 1 })).toMatch(/kcompressd off \(vm\.kcompressd = 0/);
  });

  it("is the series' design: depth × threads in one queue, sync fallback, same-filled folios kept by kswapd", () => {
    expect(ReclaimDesignSchema.parse(reclaimDesignFor({ queueDepthPerThread: 256, threads: 1 }))).toEqual({
      threads: 1,
      queueDepth: 256,
      fallback: 'sync',
      sameFilledInline: true,
    });
    expect(reclaimDesignFor({ queueDepthPerThread: 256, threads: 4 })).toMatchObject({ threads: 4, queueDepth: 1024 });
    // the kernel's ring holds 8192 folios per node at most
    expect(reclaimDesignFor({ queueDepthPerThread: 4096, threads: 4 })).toMatchObject({ queueDepth: 8192 });
    expect(describeKnobs({ queueDepthPerThread: 256, threads: 2 })).toBe('kcompressd: 2 thread(s), queue 512 folios (vm.kcompressd = 256), sync fallback, same-filled inline');
  });
});
