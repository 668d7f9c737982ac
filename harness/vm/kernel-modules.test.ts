import { describe, expect, it } from '@jest/globals';
import { ZlabError } from '../util/errors.js';
import { WANTED_MODULES, moduleName, parseModuleIndex, readModuleIndex, resolveLoadOrder } from './kernel-modules.js';
import { selectKernel } from './kernel.js';

const dep = [
  'kernel/drivers/block/zram/zram.ko.xz: kernel/lib/lz4/lz4hc_compress.ko.xz kernel/lib/lz4/lz4_compress.ko.xz',
  'kernel/lib/lz4/lz4_compress.ko.xz:',
  'kernel/lib/lz4/lz4hc_compress.ko.xz:',
  'kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz',
  'kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz',
  'kernel/net/core/failover.ko.xz:',
  'kernel/drivers/virtio/virtio-rng.ko.xz: kernel/drivers/virtio/virtio.ko',
].join('\n');
const builtin = 'kernel/mm/zsmalloc.ko\nkernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_pci.ko\n';

const names = (files: { name: string }[]) => files.map((f) => f.name);

describe('module load order', () => {
  const index = parseModuleIndex(dep, builtin);

  it('loads dependencies before the modules that need them, each once', () => {
    const order = names(resolveLoadOrder(index, ['zram', 'virtio_net', 'lz4_compress']));
    expect(order).toEqual(['lz4hc_compress', 'lz4_compress', 'zram', 'failover', 'net_failover', 'virtio_net']);
  });

  it('skips built-in and absent modules', () => {
    expect(names(resolveLoadOrder(index, ['zsmalloc', 'virtio_pci', 'lzo', 'zram']))).toEqual(['lz4hc_compress', 'lz4_compress', 'zram']);
  });

  it('accepts a built-in dependency and normalises dashes', () => {
    expect(names(resolveLoadOrder(index, ['virtio-rng']))).toEqual(['virtio_rng']);
    expect(moduleName('kernel/crypto/lzo-rle.ko.zst')).toBe('lzo_rle');
  });

  it('names a dependency that modules.dep does not list', () => {
    const broken = parseModuleIndex('kernel/a.ko: kernel/b.ko\n', '');
    expect(() => resolveLoadOrder(broken, ['a'])).toThrow(ZlabError);
    expect(() => resolveLoadOrder(broken, ['a'])).toThrow(/module a depends on b/);
  });

  it('reports a dependency cycle', () => {
    const cyclic = parseModuleIndex('kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n', '');
    expect(() => resolveLoadOrder(cyclic, ['a'])).toThrow(/cycle/);
  });

  it("orders the Debian kernel's zram and virtio-net modules", () => {
    const kernel = selectKernel();
    const order = names(resolveLoadOrder(readModuleIndex(kernel.modulesDir as string), WANTED_MODULES));
    expect(order).toContain('zram');
    expect(order).toContain('virtio_net');
    for (const needed of ['lz4_compress', 'lz4hc_compress']) expect(order.indexOf(needed)).toBeLessThan(order.indexOf('zram'));
    expect(order.indexOf('failover')).toBeLessThan(order.indexOf('net_failover'));
    expect(order.indexOf('net_failover')).toBeLessThan(order.indexOf('virtio_net'));
    expect(new Set(order).size).toBe(order.length);
  });
});
