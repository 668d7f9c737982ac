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

export type DeviceToolName = 'memeater' | 'sampler' | 'zramcost' | 'readcost';

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
    // Push beside it and rename over it: a copy still running (a sampler left
    // by a run that died) keeps its old file, and nothing sees half a binary.
    const incoming = `${remote[name]}.incoming`;
    await device.push(locals[i]!, incoming, { mode: 0o755 });
    await device.run(shellCommand(['mv', '-f', incoming, remote[name]]));
  }
  return remote;
}

/**
 * End zlab programs a dead run left running on the device (a sampler
 * daemon outlives the host that started it): every process whose
 * executable lies in the tool folder.
 */
export async function stopLeftoverTools(device: Pick<Device, 'run'>, deviceDir: string = DEVICE_TOOL_DIR): Promise<number> {
  const script = [
    'n=0',
    `for p in /proc/[0-9]*; do exe=$(readlink "$p/exe" 2>/dev/null) || continue; case "$exe" in ${shellCommand([deviceDir])}/*) kill -KILL "\${p#/proc/}" 2>/dev/null && n=$((n+1));; esac; done`,
    'echo $n',
  ].join('; ');
  return Number((await device.run(script)).trim()) || 0;
}
