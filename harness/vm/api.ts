import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultAdbPort, freeLoopbackPort } from '../device/adb-server.js';
import { UsageError, ZlabError } from '../util/errors.js';
import { chooseAccel } from './accel-probe.js';
import { seedBootSlots } from './bootloader-mode.js';
import { kernelCommandLine } from './qemu-command.js';
import { adbDisconnect } from './adb-host.js';
import { waitForAdb } from './boot-wait.js';
import { buildInitramfs } from './initramfs.js';
import { selectKernel } from './kernel.js';
import { commandLineMentions, isAlive, portAcceptsConnections, portIsFree, sleep, terminate } from './processes.js';
import { sendControl } from './vm-control.js';
import { type StartOptions, checkAdbPort, parseMemoryMiB, parseStartOptions, parseZramSize } from './vm-options.js';
import { type VmState, readAllVmStates, readVmState, updateVmState, vmDirFor, writeVmState } from './vm-state.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const SUPERVISOR_ENTRY = join(here, 'supervisor-main.ts');

export type { StartOptions } from './vm-options.js';

/** A virtual device as recorded in its state file, and whether its supervisor is alive. */
export interface VirtualDeviceInfo extends VmState {
  running: boolean;
}

function describe(state: VmState): VirtualDeviceInfo {
  const running = isAlive(state.supervisorPid);
  return { ...state, state: running ? state.state : 'stopped', running };
}

async function pickAdbPort(requested: number | undefined): Promise<number> {
  const taken = new Set(readAllVmStates().map((s) => s.adbPort));
  if (requested !== undefined) {
    checkAdbPort(requested);
    if (taken.has(requested) || !(await portIsFree(requested))) throw new UsageError(`--adb-port: ${requested} is already in use on 127.0.0.1`);
    return requested;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freeLoopbackPort();
    if ((port < 5555 || port > 5585) && !taken.has(port)) return port;
  }
  throw new ZlabError('infrastructure', 'could not find a free loopback port for adb');
}

/**
 * Boot a virtual device and wait until adb sees it as `device` with
 * sys.boot_completed=1. On any failure everything started is stopped again.
 */
export async function startVirtualDevice(
  input: StartOptions = {},
  progress: (line: string) => void = () => {},
  signal?: AbortSignal,
): Promise<VirtualDeviceInfo> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(input, progress, signal);
    } catch (err) {
      // A port picked free can be taken before QEMU binds it (VMs starting side by side): pick another.
      const portTaken = err instanceof ZlabError && /Could not set up host forwarding rule/.test(err.message);
      if (!portTaken || input.adbPort !== undefined || attempt >= 3) throw err;
      progress('the adb port was taken meanwhile; trying another');
    }
  }
}

async function startOnce(input: StartOptions, progress: (line: string) => void, signal: AbortSignal | undefined): Promise<VirtualDeviceInfo> {
  const options = parseStartOptions(input);
  const memoryMiB = options.memory === undefined ? 1024 : parseMemoryMiB(options.memory);
  const cpus = options.cpus ?? 2;
  const zramSize = parseZramSize(options.zramSize ?? '75%', memoryMiB);
  const zramAlgorithm = options.zramAlgorithm ?? 'lz4';
  const kernel = selectKernel(options.kernel);
  const adbServerPort = options.adbServerPort ?? defaultAdbPort();
  if (options.adbServerPort !== undefined && !(await portAcceptsConnections(adbServerPort))) {
    throw new UsageError(`--adb-server-port: no adb server answers on 127.0.0.1:${adbServerPort}; start one with: adb -P ${adbServerPort} start-server`);
  }
  const adbPort = await pickAdbPort(options.adbPort);
  const name = options.name ?? `vd-${adbPort}`;
  const vmDir = vmDirFor(name);
  if (existsSync(join(vmDir, 'vm.json'))) {
    const previous = readVmState(vmDir);
    if (isAlive(previous.supervisorPid)) throw new UsageError(`a virtual device named ${name} is already running (${previous.serial})`);
    // Left over from a supervisor that died: clear whatever of it remains.
    await teardown(previous);
  }
  rmSync(vmDir, { recursive: true, force: true });

  progress(`kernel ${kernel.path} (${kernel.release})`);
  const initramfs = await buildInitramfs({ kernel, adbdPath: options.adbdPath });
  progress(`initramfs ${initramfs.path}${initramfs.cached ? ' (cached)' : ''}`);
  const accel = await chooseAccel(options.accel ?? 'auto', kernel.path);

  mkdirSync(vmDir, { recursive: true });
  const serial = `127.0.0.1:${adbPort}`;
  let state: VmState = {
    name,
    serial,
    adbPort,
    adbServerPort,
    pid: null,
    supervisorPid: null,
    kernel: kernel.path,
    kernelRelease: kernel.release,
    initrd: initramfs.path,
    memoryMiB,
    cpus,
    accel,
    zramSize,
    zramAlgorithm,
    state: 'stopped',
    bootSeconds: null,
    consoleLog: join(vmDir, 'console.log'),
    vmDir,
    createdAt: new Date().toISOString(),
    bootStartedAt: null,
    boots: 0,
    lastRebootTarget: null,
    lastExit: null,
    firstBootFailure: null,
    fastbootPort: null,
    ownerPid: options.ownerPid ?? null,
  };
  writeVmState(state);
  // An A/B device from the start: both slots hold the VM's kernel, initramfs and command line.
  await seedBootSlots(vmDir, { kernel: kernel.path, initrd: initramfs.path, cmdline: kernelCommandLine({ zramSize, zramAlgorithm }) });

  const log = openSync(join(vmDir, 'supervisor.log'), 'a');
  const supervisor = spawn(process.execPath, ['--import', 'tsx', SUPERVISOR_ENTRY, vmDir], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  supervisor.unref();
  state = updateVmState(vmDir, { supervisorPid: supervisor.pid ?? null });
  progress(`booting ${name} under ${accel.toUpperCase()}, ${memoryMiB} MiB, ${cpus} CPUs, adb on ${serial}`);

  try {
    const bootSeconds = await waitForAdb(vmDir, (options.bootTimeoutSeconds ?? 120) * 1000, signal, progress);
    return describe(updateVmState(vmDir, { bootSeconds }));
  } catch (err) {
    await teardown(existsSync(join(vmDir, 'vm.json')) ? readVmState(vmDir) : state);
    throw err;
  }
}

/** Stop supervisor and QEMU by pid, drop the adb entry, free the port and remove the state. */
async function teardown(state: VmState): Promise<void> {
  if (await portAcceptsConnections(state.adbServerPort)) await adbDisconnect(state.adbServerPort, state.serial);
  if (state.supervisorPid && isAlive(state.supervisorPid) && commandLineMentions(state.supervisorPid, state.vmDir)) {
    await terminate(state.supervisorPid, 8_000);
  }
  // The supervisor stops QEMU; this covers a supervisor that was killed outright.
  const latest = existsSync(join(state.vmDir, 'vm.json')) ? readVmState(state.vmDir) : state;
  for (const pid of new Set([state.pid, latest.pid])) {
    if (pid && isAlive(pid) && commandLineMentions(pid, state.vmDir)) await terminate(pid, 3_000);
  }
  const deadline = Date.now() + 5_000;
  while (!(await portIsFree(state.adbPort)) && Date.now() < deadline) await sleep(100);
  rmSync(state.vmDir, { recursive: true, force: true });
}

function find(serialOrName: string): VmState {
  const all = readAllVmStates();
  const match = all.find((s) => s.serial === serialOrName || s.name === serialOrName);
  if (!match) {
    const known = all.map((s) => s.serial).join(', ') || 'none';
    throw new UsageError(`no virtual device ${serialOrName}; running: ${known}`);
  }
  return match;
}

export async function stopVirtualDevice(serialOrName: string): Promise<void> {
  await teardown(find(serialOrName));
}

/** Stop every recorded virtual device; returns their serials. */
export async function stopAllVirtualDevices(): Promise<string[]> {
  const all = readAllVmStates();
  for (const state of all) await teardown(state);
  return all.map((s) => s.serial);
}

export function listVirtualDevices(): VirtualDeviceInfo[] {
  return readAllVmStates().map(describe);
}

export function virtualDeviceStatus(serialOrName: string): VirtualDeviceInfo {
  return describe(find(serialOrName));
}

/** Power a VM on again that is off (in the bootloader, or after it powered off by itself). */
export async function continueVirtualDevice(serialOrName: string): Promise<void> {
  const state = find(serialOrName);
  if (!isAlive(state.supervisorPid)) throw new ZlabError('device', `virtual device ${state.serial} has no supervisor; stop it and start it again`);
  const reply = await sendControl(state.vmDir, 'continue');
  if (reply !== 'ok') throw new ZlabError('device', `virtual device ${state.serial}: ${reply.replace(/^error: /, '')}`);
}

/**
 * Cut the VM's power and power it on again, as a lab relay does to a phone:
 * it boots its active slot, or with `bootloader` stays in its bootloader.
 * Returns at once; the VM keeps its adb serial.
 */
export async function powerCycleVirtualDevice(serialOrName: string, mode: 'boot' | 'bootloader' = 'boot'): Promise<void> {
  const state = find(serialOrName);
  if (!isAlive(state.supervisorPid)) throw new ZlabError('device', `virtual device ${state.serial} has no supervisor; stop it and start it again`);
  const reply = await sendControl(state.vmDir, mode === 'boot' ? 'power-cycle' : 'power-cycle-bootloader');
  if (reply !== 'ok') throw new ZlabError('device', `virtual device ${state.serial}: ${reply.replace(/^error: /, '')}`);
}
