import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZlabError } from '../util/errors.js';
import { SlotStore } from './fastboot-slots.js';
import { slotDirFor } from '../vm/bootloader-mode.js';
import { powerCycleVirtualDevice } from '../vm/api.js';
import { type VmState, readAllVmStates } from '../vm/vm-state.js';

/**
 * Everything a deploy does to one device besides fastboot: adb state, reboot
 * to the bootloader, finding the bootloader's fastboot target, power cycles,
 * and reading the image it boots now. A phone and the virtual device differ
 * only here.
 */
export interface DeviceLink {
  serial: string;
  adbServerPort: number;
  kind: 'virtual' | 'phone';
  /** adb's state for the serial (`device`, `offline`, …), or null when adb does not list it. */
  adbState(): Promise<string | null>;
  /** Ask adb to connect again (TCP serials drop off adb while the device is down). */
  reconnect(): Promise<void>;
  /** `adb reboot bootloader`. */
  rebootToBootloader(): Promise<void>;
  /** Wait until the device answers fastboot; returns its fastboot target. */
  waitForBootloader(timeoutMs: number): Promise<string>;
  /** Cut and restore power (a lab relay); the device boots its active slot. Null: no way to. */
  powerCycle: (() => Promise<void>) | null;
  /** Power-cycle into the bootloader (a relay holding the bootloader key). Null: no way to. */
  powerCycleToBootloader: (() => Promise<void>) | null;
  /** The boot image the device boots now, when it can be read from the host. */
  currentImage(): { image: Buffer; origin: string } | null;
  /** Why the device will not come up without help (e.g. the VM powered off), or null. */
  bootFailure(): string | null;
}

export interface DeviceLinkOptions {
  serial: string;
  adbServerPort: number;
  /** The lab's power-cycle command (argv, no shell). */
  powerCycle?: readonly string[];
  powerCycleTimeoutMs?: number;
}

function adb(port: number, args: string[], timeoutMs = 30_000) {
  return execa('adb', ['-P', String(port), ...args], { reject: false, timeout: timeoutMs });
}

async function adbStateOf(port: number, serial: string): Promise<string | null> {
  const result = await adb(port, ['devices'], 10_000);
  if (result.exitCode !== 0) return null;
  for (const line of result.stdout.split('\n').slice(1)) {
    const [name, state] = line.trim().split(/\s+/);
    if (name === serial && state) return state;
  }
  return null;
}

/** The lab's relay command, run under a timeout; a failure names the command and its output. */
function relayCommand(argv: readonly string[], timeoutMs: number): () => Promise<void> {
  return async () => {
    const [bin, ...args] = argv;
    const result = await execa(bin!, args, { reject: false, timeout: timeoutMs });
    if (result.exitCode !== 0 || result.timedOut) {
      const why = result.timedOut ? `did not finish within ${timeoutMs / 1000} s` : `exited with status ${result.exitCode ?? result.signal}`;
      throw new ZlabError('device', `power-cycle command ${JSON.stringify(argv)} ${why}: ${(result.stderr || result.stdout).trim().slice(0, 500)}`);
    }
  };
}

function virtualDevice(serial: string): VmState | null {
  return readAllVmStates().find((state) => state.serial === serial) ?? null;
}

/** The link for SERIAL: a virtual device when one with that adb serial is recorded, else a phone. */
export function deviceLink(options: DeviceLinkOptions): DeviceLink {
  const { serial, adbServerPort } = options;
  const relay = options.powerCycle ? relayCommand(options.powerCycle, options.powerCycleTimeoutMs ?? 60_000) : null;
  const common = {
    serial,
    adbServerPort,
    adbState: () => adbStateOf(adbServerPort, serial),
    reconnect: async () => {
      if (!/:\d+$/.test(serial)) return;
      const state = await adbStateOf(adbServerPort, serial);
      if (state !== null && state !== 'device') await adb(adbServerPort, ['disconnect', serial], 10_000);
      await adb(adbServerPort, ['connect', serial], 15_000);
    },
    rebootToBootloader: async () => {
      const result = await adb(adbServerPort, ['-s', serial, 'reboot', 'bootloader']);
      if (result.exitCode !== 0) throw new ZlabError('device', `${serial}: adb reboot bootloader failed: ${(result.stderr || result.stdout).trim()}`);
    },
  };
  const vm = virtualDevice(serial);
  if (vm) {
    const vmDir = vm.vmDir;
    const current = (): VmState | null => virtualDevice(serial);
    return {
      ...common,
      kind: 'virtual',
      waitForBootloader: async (timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const state = current();
          if (state?.state === 'bootloader' && state.fastbootPort) return `tcp:127.0.0.1:${state.fastbootPort}`;
          if (Date.now() > deadline) {
            throw new ZlabError('device', `virtual device ${serial} did not reach its bootloader within ${timeoutMs / 1000} s (state ${state?.state ?? 'gone'})`);
          }
          await sleep(200);
        }
      },
      powerCycle: relay ?? (() => powerCycleVirtualDevice(serial, 'boot')),
      powerCycleToBootloader: () => powerCycleVirtualDevice(serial, 'bootloader'),
      currentImage: () => {
        const store = new SlotStore(slotDirFor(vmDir));
        const slot = store.active;
        const image = store.read(slot);
        return image ? { image, origin: `slot ${slot} of virtual device ${serial}` } : null;
      },
      bootFailure: () => {
        const state = current();
        return state && state.state === 'stopped' && state.lastExit ? state.lastExit : null;
      },
    };
  }
  return {
    ...common,
    kind: 'phone',
    waitForBootloader: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const result = await execa('fastboot', ['devices'], { reject: false, timeout: 10_000 });
        if (result.stdout.split('\n').some((line) => line.trim().split(/\s+/)[0] === serial)) return serial;
        await sleep(1_000);
      }
      throw new ZlabError('device', `${serial} did not show up in fastboot devices within ${timeoutMs / 1000} s`);
    },
    powerCycle: relay,
    powerCycleToBootloader: null,
    currentImage: () => null,
    bootFailure: () => null,
  };
}
