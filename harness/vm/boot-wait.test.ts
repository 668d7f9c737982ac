/**
 * Waiting for a virtual device's first boot, against a small stand-in for the
 * supervisor: its control socket and the state file it keeps. Nothing here
 * boots a VM; the device suites boot real ones.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForAdb } from './boot-wait.js';
import { controlSocketName } from './vm-control.js';
import { type VmState, readVmState, updateVmState, vmStateSchema, writeVmState } from './vm-state.js';

const ENDED = 'QEMU ended (exit status 0) without a reboot request: the kernel panicked: Kernel panic - not syncing: Fatal exception in interrupt; see supervisor.log';
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'zlab-boot-wait-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A VM whose first boot has just ended by itself, as the supervisor leaves it. */
function endedVm(name: string, lastExit: string): string {
  const vmDir = join(work, name);
  mkdirSync(vmDir, { recursive: true });
  const state: VmState = vmStateSchema.parse({
    name, serial: '127.0.0.1:40998', adbPort: 40998, adbServerPort: 1, pid: null, supervisorPid: process.pid,
    kernel: '/boot/vmlinuz', kernelRelease: '6.12.0', initrd: '/tmp/initrd', memoryMiB: 1024, cpus: 2, accel: 'tcg',
    zramSize: '75%', zramAlgorithm: 'lz4', state: 'stopped', bootSeconds: null, consoleLog: join(vmDir, 'console.log'), vmDir,
    createdAt: new Date().toISOString(), bootStartedAt: null, boots: 1, lastRebootTarget: null, lastExit, fastbootPort: null,
  });
  writeVmState(state);
  return vmDir;
}

/** The supervisor's side of `continue`: a new boot starts, and (here) ends by itself again after a moment. */
function supervisorThatBootsAgain(vmDir: string, secondExit: string): Promise<{ server: Server; commands: string[] }> {
  const commands: string[] = [];
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      commands.push(chunk.toString().trim());
      socket.end('ok\n');
      // as the real supervisor: the reply comes before the new boot is in the state
      setTimeout(() => {
        const boots = readVmState(vmDir).boots + 1;
        updateVmState(vmDir, { state: 'booting', boots, bootStartedAt: new Date().toISOString(), lastExit: null });
        setTimeout(() => updateVmState(vmDir, { state: 'stopped', bootStartedAt: null, lastExit: secondExit }), 300);
      }, 300);
    });
  });
  return new Promise((resolve) => server.listen(controlSocketName(vmDir), () => resolve({ server, commands })));
}

describe('waiting for the first boot', () => {
  it('powers a VM on once more when its first boot ended by itself, and reports both boots when the second ends too', async () => {
    const vmDir = endedVm('twice', ENDED);
    const second = ENDED.replace('Fatal exception in interrupt', 'VFS: Unable to mount root fs');
    const { server, commands } = await supervisorThatBootsAgain(vmDir, second);
    const lines: string[] = [];
    try {
      const error = await waitForAdb(vmDir, 30_000, undefined, (line) => lines.push(line)).then(() => null, (err: Error) => err);
      expect(commands).toEqual(['continue']);
      expect(error?.message).toMatch(/^virtual device 127\.0\.0\.1:40998 did not boot: QEMU ended .*VFS: Unable to mount root fs.*\(a second power-on ended too; the first boot: QEMU ended .*Fatal exception in interrupt/);
      expect(lines).toEqual([expect.stringMatching(/^the first boot ended by itself \(QEMU ended .*Fatal exception in interrupt\); powering on once more$/)]);
      expect(readVmState(vmDir)).toMatchObject({ boots: 2, firstBootFailure: ENDED });
    } finally {
      server.close();
    }
  }, 30_000);

  it('does not power on again a VM that had nothing to boot', async () => {
    const vmDir = endedVm('empty-slot', 'slot a holds no boot image: flash one with `fastboot flash boot IMAGE`');
    const { server, commands } = await supervisorThatBootsAgain(vmDir, ENDED);
    try {
      await expect(waitForAdb(vmDir, 30_000, undefined, () => undefined)).rejects.toThrow(/did not boot: slot a holds no boot image/);
      expect(commands).toEqual([]);
      expect(readVmState(vmDir).firstBootFailure).toBeNull();
    } finally {
      server.close();
    }
  }, 30_000);
});
