import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdbServer } from '../../harness/device/adb-server.js';
import { stopVirtualDevice } from '../../harness/vm/api.js';

/** Stop what the global setup started: the virtual device, then its adb server, by pid. */
export default async function teardown(): Promise<void> {
  const stateDir = process.env.ZLAB_STATE_DIR;
  const record = stateDir && join(stateDir, 'device-tests.json');
  if (!record || !existsSync(record)) return;
  const { serial } = JSON.parse(readFileSync(record, 'utf8')) as { serial: string };
  await stopVirtualDevice(serial).catch((err: Error) => process.stderr.write(`[virtual device] stop failed: ${err.message}\n`));
  const server = (globalThis as Record<string, unknown>).__zlabAdbServer as AdbServer | undefined;
  await server?.stop();
}
