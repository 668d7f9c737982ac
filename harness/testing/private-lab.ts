import { afterAll, beforeAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdbServer, startAdbServer } from '../device/adb-server.js';
import { type VirtualDeviceInfo, startVirtualDevice, stopAllVirtualDevices } from '../vm/api.js';

/**
 * A lab of the suite's own, for device suites that flash, reboot or stop
 * virtual devices and so must not share the one the global set-up started: a
 * scratch folder holding its own ZLAB_STATE_DIR, a private adb server, and
 * optionally a virtual device on it. Everything is stopped after the suite
 * (every virtual device of that state folder, the adb server by its pid), and
 * ZLAB_STATE_DIR is put back as it was.
 */
export interface PrivateLab {
  /** The suite's scratch folder (the state folder is `work/state`). */
  readonly work: string;
  readonly server: AdbServer;
  /** The virtual device started for the suite (only with `virtualDevice: true`). */
  readonly vm: VirtualDeviceInfo;
}

/** QEMU TCG boots are slow on a loaded 2-core machine. */
export const LAB_BOOT_MS = 240_000;

export function usePrivateLab(prefix: string, options: { virtualDevice?: boolean } = {}): PrivateLab {
  const savedState = process.env.ZLAB_STATE_DIR;
  let work: string | undefined;
  let server: AdbServer | undefined;
  let vm: VirtualDeviceInfo | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), prefix));
    process.env.ZLAB_STATE_DIR = join(work, 'state');
    server = await startAdbServer();
    if (options.virtualDevice) vm = await startVirtualDevice({ adbServerPort: server.port });
  }, LAB_BOOT_MS + 60_000);

  afterAll(async () => {
    await stopAllVirtualDevices().catch(() => undefined);
    await server?.stop();
    if (savedState === undefined) delete process.env.ZLAB_STATE_DIR;
    else process.env.ZLAB_STATE_DIR = savedState;
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`usePrivateLab: no ${what} (it exists only inside the suite${what === 'virtual device' ? ', with virtualDevice: true' : ''})`);
    return value;
  };
  return {
    get work() {
      return ready(work, 'scratch folder');
    },
    get server() {
      return ready(server, 'adb server');
    },
    get vm() {
      return ready(vm, 'virtual device');
    },
  };
}
