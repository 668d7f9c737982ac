import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Device, DeviceAbi } from '../device/device.js';
import { shellCommand } from '../device/shell-quote.js';
import { ZlabError } from '../util/errors.js';

/** The Device methods the workload and collection code use; tests pass a small fake. */
export type ToolDevice = Pick<Device, 'shell' | 'run' | 'push' | 'pull' | 'abi'>;

/** Where zlab keeps its device programs on the device. */
export const DEVICE_TOOL_DIR = '/data/local/tmp/zlab';

export type DeviceToolName = 'memeater' | 'sampler' | 'zramcost';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built binary of a device program for an ABI (device-scripts/out/ABI/NAME). */
export function localToolPath(abi: DeviceAbi, name: DeviceToolName): string {
  const path = join(repoRoot, 'device-scripts', 'out', abi, name);
  if (!existsSync(path)) {
    throw new ZlabError('infrastructure', `${path} is not built; run \`npm run build:device\``, { abi, name });
  }
  return path;
}

/** Push the programs matching the device's ABI; returns their paths on the device. */
export async function pushTools(
  device: ToolDevice,
  names: readonly DeviceToolName[] = ['memeater', 'sampler'],
  deviceDir: string = DEVICE_TOOL_DIR,
): Promise<Record<DeviceToolName, string>> {
  const abi = await device.abi();
  const locals = names.map((name) => localToolPath(abi, name));
  await device.run(shellCommand(['mkdir', '-p', deviceDir]));
  const remote = {} as Record<DeviceToolName, string>;
  for (const [i, name] of names.entries()) {
    remote[name] = `${deviceDir}/${name}`;
    await device.push(locals[i]!, remote[name], { mode: 0o755 });
  }
  return remote;
}
