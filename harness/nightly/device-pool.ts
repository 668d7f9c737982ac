import { type AdbServerAddress, defaultAdbServer, parseAdbServer } from '../device/adb-host.js';
import { defaultAdbPort, ensureAdbServer } from '../device/adb-server.js';
import { Device } from '../device/device.js';
import { listAttachedDevices } from '../device/discovery.js';
import { type Inventory, labelsOf } from '../lab/inventory.js';
import type { DeviceSelector } from '../plan/plan-schema.js';
import { ZlabError } from '../util/errors.js';
import { startVirtualDevice, stopVirtualDevice } from '../vm/api.js';

/** A device a nightly may use, and how to give it back. */
export interface PooledDevice {
  device: Device;
  labels: string[];
  virtual: boolean;
  release(): Promise<void>;
}

/**
 * Resolve a plan's device selectors to devices: named serials and labelled
 * lab devices must be attached and ready; virtual devices are started here
 * and stopped again on release. Resolution happens before any job runs, so a
 * selector that matches nothing fails the plan before a device is touched.
 */
export async function resolveDevicePool(
  selectors: DeviceSelector[],
  inventory: Inventory,
  options: { progress?: (line: string) => void; virtualNamePrefix?: string } = {},
): Promise<PooledDevice[]> {
  const progress = options.progress ?? (() => undefined);
  const prefix = options.virtualNamePrefix ?? 'nightly';
  const pool: PooledDevice[] = [];
  const taken = new Set<string>();
  try {
    for (const [index, selector] of selectors.entries()) {
      const where = `devices.${index}`;
      if ('virtual' in selector) {
        for (let i = 0; i < selector.virtual.count; i++) {
          const name = `${prefix}-${index}-${i}`;
          progress(`starting a virtual device (${selector.virtual.memory}, ${selector.virtual.cpus} CPUs)`);
          // The virtual device joins the lab's adb server, as a phone would; on a fresh machine none runs yet.
          await ensureAdbServer(defaultAdbPort());
          const vm = await startVirtualDevice(
            // Owned by this process: a nightly that dies takes its virtual device with it.
            { name, memory: selector.virtual.memory, cpus: selector.virtual.cpus, adbServerPort: defaultAdbPort(), ownerPid: process.pid },
            progress,
          );
          progress(`virtual device ${vm.serial} up in ${vm.bootSeconds} s`);
          const serial = vm.serial;
          const device = await Device.open(serial, { server: defaultAdbServer() });
          taken.add(serial);
          pool.push({ device, labels: ['virtual', 'x86_64'], virtual: true, release: () => stopVirtualDevice(serial) });
        }
        continue;
      }
      const server: AdbServerAddress = selector.adbServer ? parseAdbServer(selector.adbServer) : defaultAdbServer();
      const attached = (await listAttachedDevices([server])).filter((d) => d.state === 'device' && !taken.has(d.serial));
      const matching =
        'serial' in selector
          ? attached.filter((d) => d.serial === selector.serial)
          : attached.filter((d) => selector.labels.every((label) => labelsOf(inventory, d.serial).includes(label)));
      if (!matching.length) {
        const wanted = 'serial' in selector ? `serial ${selector.serial}` : `labels ${selector.labels.join(', ')}`;
        throw new ZlabError('plan', `${where}: no ready device on ${server.host}:${server.port} matches ${wanted} (ready: ${attached.map((d) => d.serial).join(', ') || 'none'})`);
      }
      for (const d of matching) {
        taken.add(d.serial);
        pool.push({ device: await Device.open(d.serial, { server }), labels: labelsOf(inventory, d.serial), virtual: false, release: async () => undefined });
      }
    }
  } catch (err) {
    await releasePool(pool);
    throw err;
  }
  return pool;
}

export async function releasePool(pool: PooledDevice[]): Promise<void> {
  await Promise.all(pool.map((p) => p.release().catch(() => undefined)));
}
