import { execa } from 'execa';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceAbi } from '../device/device.js';
import type { DeviceToolName } from './device-tools.js';

const deviceScripts = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'device-scripts');

/**
 * Build the workload programs for both ABIs (make rebuilds only what changed)
 * and return their paths. Only these targets are built, so an unrelated
 * program that does not compile cannot get in the way.
 */
export async function buildWorkloadBinaries(names: readonly DeviceToolName[] = ['memeater', 'sampler']): Promise<Record<DeviceAbi, Record<DeviceToolName, string>>> {
  const abis: DeviceAbi[] = ['x86_64', 'arm64-v8a'];
  const targets = abis.flatMap((abi) => names.map((name) => `out/${abi}/${name}`));
  await execa('make', ['-s', '-C', deviceScripts, '-j2', ...targets]);
  const paths = {} as Record<DeviceAbi, Record<DeviceToolName, string>>;
  for (const abi of abis) {
    paths[abi] = {} as Record<DeviceToolName, string>;
    for (const name of names) paths[abi][name] = join(deviceScripts, 'out', abi, name);
  }
  return paths;
}

/** The command that runs a binary of an ABI on this host (arm64 under qemu-user). */
export function hostRunner(abi: DeviceAbi, binary: string): [string, string[]] {
  return abi === 'arm64-v8a' ? ['qemu-aarch64-static', [binary]] : [binary, []];
}
