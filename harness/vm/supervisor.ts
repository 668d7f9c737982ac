import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { type BootSelection, type BootloaderExit, activeSlotBoot, enterBootloader } from './bootloader-mode.js';
import { adbConnect } from './adb-host.js';
import { isAlive, portAcceptsConnections, sleep } from './processes.js';
import { QEMU_BINARY, qemuArguments } from './qemu-command.js';
import { consoleVerdict, qemuLastWords } from './console-verdict.js';
import { controlSocketName } from './vm-control.js';
import { type VmState, readVmState, updateVmState } from './vm-state.js';

/** The line the guest prints on its console once sys.boot_completed is set. */
export const BOOT_COMPLETED_MARKER = 'zlab-init: sys.boot_completed=1';

export function rebootChannelPath(vmDir: string): string {
  return join(vmDir, 'reboot-channel');
}

/** The target the guest's reboot hook sent for the boot that just ended, or null if it sent none. */
export function readRebootTarget(channel: string): string | null {
  if (!existsSync(channel)) return null;
  const lines = readFileSync(channel, 'latin1').split(/\r?\n/).map((l) => l.replace(/\r/g, ''));
  let target: string | null = null;
  for (const line of lines) {
    const match = /^zlab-reboot ?(.*)$/.exec(line);
    if (match) target = (match[1] ?? '').trim();
  }
  return target;
}

/** Whether a `lastExit` (as `describeExit` writes it) says QEMU ran and ended by itself, not that there was nothing to boot. */
export function endedByItself(lastExit: string): boolean {
  return /^QEMU ended \([^)]*\) without a reboot request/.test(lastExit);
}

interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Where this boot's output begins in the console log and the supervisor log (read only when it ended by itself). */
  output?: { consoleLog: string; consoleOffset: number; log: string; logOffset: number };
  /** Set when there was nothing to boot (e.g. an empty slot); QEMU did not run. */
  error?: string;
}

/** A power cycle: pull the power, then boot the active slot or hold the bootloader key. */
export type PowerCycleMode = 'boot' | 'bootloader';

/**
 * Runs one virtual device: starts QEMU, marks the state as the guest comes
 * up, and when the guest reboots (QEMU exits after the reboot hook wrote a
 * target) starts it again on the same ports, so the adb serial survives
 * reboots as a phone's does. `bootloader` hands over to bootloader-mode.
 */
export class Supervisor {
  private readonly abort = new AbortController();
  private qemu: ChildProcess | null = null;
  private powerWaiters: Array<() => void> = [];
  private server: Server | null = null;
  private ownerGone = false;
  private cycle: PowerCycleMode | null = null;

  constructor(private readonly vmDir: string) {}

  async run(): Promise<void> {
    await this.listen();
    const owner = readVmState(this.vmDir).ownerPid;
    const ownerWatch = owner === null ? null : setInterval(() => {
      if (!isAlive(owner)) {
        this.ownerGone = true;
        void this.shutdown();
      }
    }, 1_000);
    // undefined: the active slot; a selection: a one-shot boot.
    let next: { boot?: BootSelection } | null = {};
    try {
      while (!this.abort.signal.aborted && next) {
        const exit = await this.bootOnce(next.boot);
        if (this.abort.signal.aborted) break;
        const cycle = this.takeCycle();
        const target = cycle === null ? readRebootTarget(rebootChannelPath(this.vmDir)) : cycle === 'bootloader' ? 'bootloader' : '';
        if (target === null) {
          // Powered off by itself (poweroff, panic, QEMU error): stay off until asked.
          updateVmState(this.vmDir, { state: 'stopped', pid: null, bootStartedAt: null, lastExit: exit.error ?? this.describeExit(exit) });
          await this.waitForPowerOn();
          if (this.abort.signal.aborted) next = null;
          else next = this.takeCycle() === 'bootloader' ? await this.runBootloader() : {};
          continue;
        }
        updateVmState(this.vmDir, { lastRebootTarget: cycle ? `power-cycle${cycle === 'bootloader' ? ' bootloader' : ''}` : target, lastExit: null });
        next = target === 'bootloader' ? await this.runBootloader() : {};
      }
    } finally {
      if (ownerWatch) clearInterval(ownerWatch);
      this.server?.close();
      // A VM whose owner is gone leaves nothing behind; otherwise `zlab vm stop` removes the state.
      if (this.ownerGone) rmSync(this.vmDir, { recursive: true, force: true });
      else updateVmState(this.vmDir, { state: 'stopped', pid: null, bootStartedAt: null });
    }
  }

  private async runBootloader(): Promise<{ boot?: BootSelection } | null> {
    const state = updateVmState(this.vmDir, { state: 'bootloader', pid: null, bootStartedAt: null });
    const result: BootloaderExit = await enterBootloader(
      {
        vmDir: this.vmDir,
        state,
        powerOn: new Promise((resolve) => this.powerWaiters.push(resolve)),
        setFastbootPort: (port) => updateVmState(this.vmDir, { fastbootPort: port }),
      },
      this.abort.signal,
    );
    this.takeCycle();
    updateVmState(this.vmDir, { fastbootPort: null });
    return result.action === 'boot' ? { boot: result.boot } : null;
  }

  private takeCycle(): PowerCycleMode | null {
    const cycle = this.cycle;
    this.cycle = null;
    return cycle;
  }

  /**
   * What a lab relay does to a phone: cut the power (QEMU is killed, nothing
   * is shut down cleanly) and power on again, booting the active slot or, with
   * the bootloader key held, staying in the bootloader.
   */
  powerCycle(mode: PowerCycleMode): void {
    const qemu = this.qemu;
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      this.cycle = mode;
      qemu.kill('SIGKILL');
      return;
    }
    // Powered off: in the bootloader already, holding the key changes nothing.
    if (mode === 'bootloader' && readVmState(this.vmDir).state === 'bootloader') return;
    this.cycle = mode;
    for (const wake of this.powerWaiters.splice(0)) wake();
  }

  /** Stop QEMU and leave the loop (SIGTERM from `zlab vm stop`). */
  async shutdown(): Promise<void> {
    this.abort.abort();
    for (const wake of this.powerWaiters.splice(0)) wake();
    const qemu = this.qemu;
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      qemu.kill('SIGTERM');
      const deadline = Date.now() + 3_000;
      while (qemu.exitCode === null && qemu.signalCode === null && Date.now() < deadline) await sleep(50);
      if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
    }
  }

  private describeExit(exit: QemuExit): string {
    const how = exit.signal ? `signal ${exit.signal}` : `exit status ${exit.code}`;
    const out = exit.output;
    const why = (out && consoleVerdict(out.consoleLog, out.consoleOffset)) ?? 'the guest powered off or panicked, or QEMU failed';
    const last = out && qemuLastWords(out.log, out.logOffset);
    const said = last ? `; supervisor.log ends: ${last}` : '';
    return `QEMU ended (${how}) without a reboot request: ${why}${said}; see ${join(this.vmDir, 'supervisor.log')} and the console log`;
  }

  private waitForPowerOn(): Promise<void> {
    if (this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.powerWaiters.push(resolve));
  }

  private listen(): Promise<void> {
    const server = createServer((socket) => {
      socket.on('data', (chunk) => {
        const command = chunk.toString().trim();
        if (command === 'ping') socket.end('ok\n');
        else if (command === 'continue') {
          const state = readVmState(this.vmDir).state;
          if (state === 'stopped' || state === 'bootloader') {
            for (const wake of this.powerWaiters.splice(0)) wake();
            socket.end('ok\n');
          } else socket.end(`error: the VM is ${state}, not powered off\n`);
        } else if (command === 'power-cycle' || command === 'power-cycle-bootloader') {
          this.powerCycle(command === 'power-cycle' ? 'boot' : 'bootloader');
          socket.end('ok\n');
        } else socket.end(`error: unknown command ${JSON.stringify(command)}\n`);
      });
      socket.on('error', () => socket.destroy());
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(controlSocketName(this.vmDir), () => resolve());
    });
  }

  private bootOnce(oneShot: BootSelection | undefined): Promise<QemuExit> {
    const state: VmState = readVmState(this.vmDir);
    let boot: BootSelection;
    try {
      boot = oneShot ?? activeSlotBoot(this.vmDir, state);
    } catch (err) {
      return Promise.resolve({ code: null, signal: null, error: (err as Error).message });
    }
    const channel = rebootChannelPath(this.vmDir);
    rmSync(channel, { force: true });
    const consoleOffset = existsSync(state.consoleLog) ? statSync(state.consoleLog).size : 0;
    const args = qemuArguments({
      name: state.name,
      kernel: boot.kernel,
      initrd: boot.initrd,
      cmdline: boot.cmdline,
      memoryMiB: state.memoryMiB,
      cpus: state.cpus,
      accel: state.accel,
      adbPort: state.adbPort,
      consoleLog: state.consoleLog,
      rebootChannel: channel,
      zramSize: state.zramSize,
      zramAlgorithm: state.zramAlgorithm,
    });
    const logPath = join(this.vmDir, 'supervisor.log');
    const logOffset = existsSync(logPath) ? statSync(logPath).size : 0;
    const log = openSync(logPath, 'a');
    const qemu = spawn(QEMU_BINARY, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.qemu = qemu;
    updateVmState(this.vmDir, {
      state: 'booting',
      pid: qemu.pid ?? null,
      bootStartedAt: new Date().toISOString(),
      boots: state.boots + 1,
      lastExit: null,
    });
    let running = true;
    const watch = (async () => {
      while (running) {
        if (consoleHasMarker(state.consoleLog, consoleOffset)) {
          if (!running) return;
          updateVmState(this.vmDir, { state: 'device' });
          // After a reboot the adb server retries the link only for about a
          // minute; connecting again keeps the serial listed after a slow boot.
          if (state.boots > 0 && (await portAcceptsConnections(state.adbServerPort))) await adbConnect(state.adbServerPort, state.serial);
          return;
        }
        await sleep(250);
      }
    })();
    return new Promise((resolve) => {
      qemu.once('error', () => undefined);
      qemu.once('close', (code, signal) => {
        running = false;
        this.qemu = null;
        void watch.then(() => resolve({ code, signal, output: { consoleLog: state.consoleLog, consoleOffset, log: logPath, logOffset } }));
      });
    });
  }
}

function consoleHasMarker(path: string, offset: number): boolean {
  try {
    const size = statSync(path).size;
    if (size <= offset) return false;
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(size - offset, 4 * 1024 * 1024));
      readSync(fd, buffer, 0, buffer.length, Math.max(offset, size - buffer.length));
      return buffer.includes(BOOT_COMPLETED_MARKER);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
