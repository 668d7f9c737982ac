import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZlabError } from '../util/errors.js';
import { adbConnect, adbDevices, adbDisconnect, adbGetprop } from './adb-host.js';
import { isAlive, sleep } from './processes.js';
import { endedByItself } from './supervisor.js';
import { sendControl } from './vm-control.js';
import { type VmState, readVmState, updateVmState } from './vm-state.js';

function tail(path: string, lines: number): string {
  if (!existsSync(path)) return '(empty)';
  const text = readFileSync(path, 'latin1').split('\n');
  return text.slice(-lines).join('\n').trim() || '(empty)';
}

function failureReport(state: VmState): string {
  return `--- console (${state.consoleLog}) ---\n${tail(state.consoleLog, 25)}\n--- supervisor ---\n${tail(join(state.vmDir, 'supervisor.log'), 10)}`;
}

/**
 * Wait until adb lists the VM as `device` with sys.boot_completed=1 and its
 * zram set up; seconds from the boot's start. A first boot that ends by
 * itself is powered on once more (see below); anything else fails at once.
 */
export async function waitForAdb(vmDir: string, timeoutMs: number, signal: AbortSignal | undefined, progress: (line: string) => void): Promise<number> {
  let started = Date.now();
  let lastConnect = 0;
  // The boot count at which the first boot ended by itself, once it has been powered on again.
  let failedAtBoots: number | null = null;
  for (;;) {
    if (!existsSync(join(vmDir, 'vm.json'))) throw new ZlabError('device', `the virtual device in ${vmDir} was stopped while it booted`);
    const state = readVmState(vmDir);
    if (signal?.aborted) throw new ZlabError('infrastructure', `boot of ${state.serial} interrupted; the VM was stopped`, { serial: state.serial });
    if (Date.now() - started > timeoutMs) {
      throw new ZlabError('device', `virtual device ${state.serial} did not boot to adb within ${timeoutMs / 1000} s\n${failureReport(state)}`, { serial: state.serial });
    }
    if (!isAlive(state.supervisorPid)) {
      throw new ZlabError('infrastructure', `the supervisor of ${state.serial} died during boot\n${failureReport(state)}`, { serial: state.serial });
    }
    if (state.state === 'stopped' && state.lastExit) {
      // An emulated CPU under host load sometimes crashes a boot that is
      // otherwise sound (harness/vm/README.md, "A boot that ends by
      // itself"): one more power-on tells that from a kernel that cannot boot.
      if (failedAtBoots === null && endedByItself(state.lastExit)) {
        failedAtBoots = state.boots;
        updateVmState(vmDir, { firstBootFailure: state.lastExit });
        progress(`the first boot ended by itself (${state.lastExit.replace(/; see .*$/s, '')}); powering on once more`);
        const reply = await sendControl(vmDir, 'continue');
        if (reply !== 'ok') throw new ZlabError('device', `virtual device ${state.serial} did not boot: ${state.lastExit}; powering on again failed: ${reply}`, { serial: state.serial });
        started = Date.now();
        continue;
      }
      // until the supervisor starts the second boot, the state is still the first one's
      if (failedAtBoots === null || state.boots > failedAtBoots) {
        const first = failedAtBoots === null ? '' : ` (a second power-on ended too; the first boot: ${state.firstBootFailure})`;
        throw new ZlabError('device', `virtual device ${state.serial} did not boot: ${state.lastExit}${first}\n${failureReport(state)}`, { serial: state.serial });
      }
    }
    const bootStarted = state.bootStartedAt ? Date.parse(state.bootStartedAt) : null;
    // Connect once the guest says adbd is up (or, failing that, after a while anyway).
    if (bootStarted !== null && (state.state === 'device' || Date.now() - bootStarted > 20_000)) {
      const status = (await adbDevices(state.adbServerPort)).get(state.serial);
      if (status === 'device') {
        if ((await adbGetprop(state.adbServerPort, state.serial, 'sys.boot_completed')) === '1') {
          const seconds = Math.round((Date.now() - bootStarted) / 100) / 10;
          const zramError = await adbGetprop(state.adbServerPort, state.serial, 'zlab.zram.error');
          if (zramError) throw new ZlabError('device', `virtual device ${state.serial} booted, but its zram swap could not be set up: ${zramError}`, { serial: state.serial });
          return seconds;
        }
      } else if (Date.now() - lastConnect > 3_000) {
        if (status !== undefined) await adbDisconnect(state.adbServerPort, state.serial);
        await adbConnect(state.adbServerPort, state.serial);
        lastConnect = Date.now();
        continue;
      }
    }
    await sleep(200);
  }
}

