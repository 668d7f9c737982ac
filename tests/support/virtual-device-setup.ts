import { execaSync } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdbServer } from '../../harness/device/adb-server.js';
import { startVirtualDevice } from '../../harness/vm/api.js';

/**
 * The device project's shared device. A lab user points ZLAB_SERIAL at a
 * phone; otherwise this starts the virtual device on a private adb server and
 * hands its serial to every suite. Teardown stops both by pid.
 */
export default async function setup(): Promise<void> {
  if (process.env.ZLAB_SERIAL) return;
  if (!hasQemu()) {
    process.env.ZLAB_NO_DEVICE_REASON = 'no device: ZLAB_SERIAL is unset and qemu-system-x86_64 is not installed (run scripts/bootstrap.sh)';
    return;
  }
  process.env.ZLAB_STATE_DIR ??= mkdtempSync(join(tmpdir(), 'zlab-device-tests-'));
  const server = await startAdbServer();
  try {
    const vm = await startVirtualDevice({ adbServerPort: server.port, name: 'device-tests', ownerPid: process.pid }, (line) => process.stderr.write(`[virtual device] ${line}\n`));
    process.env.ZLAB_SERIAL = vm.serial;
    process.env.ZLAB_ADB_SERVER = `127.0.0.1:${server.port}`;
    process.env.ANDROID_ADB_SERVER_PORT = String(server.port);
    // Debian's stock kernel: suites that check for kcompressd expect it absent.
    process.env.ZLAB_EXPECT_KCOMPRESSD ??= '0';
    writeFileSync(join(process.env.ZLAB_STATE_DIR, 'device-tests.json'), JSON.stringify({ serial: vm.serial, adbServerPid: server.pid, adbServerPort: server.port, supervisorPid: vm.supervisorPid, qemuPid: vm.pid }));
    process.stderr.write(`[virtual device] ${vm.serial} up in ${vm.bootSeconds} s\n`);
    (globalThis as Record<string, unknown>).__zlabAdbServer = server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

function hasQemu(): boolean {
  try {
    execaSync('qemu-system-x86_64', ['--version']);
    return true;
  } catch {
    return false;
  }
}
