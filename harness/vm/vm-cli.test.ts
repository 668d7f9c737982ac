/** `zlab vm` argument handling and listing; nothing here boots a VM. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from '../cli/commands/vm.js';
import { runCommand } from '../testing/run-command.js';
import { type VmState, vmStateSchema } from './vm-state.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let work: string;
const saved = process.env.ZLAB_STATE_DIR;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'zlab-vm-cli-'));
  process.env.ZLAB_STATE_DIR = work;
});
afterAll(() => {
  if (saved === undefined) delete process.env.ZLAB_STATE_DIR;
  else process.env.ZLAB_STATE_DIR = saved;
  rmSync(work, { recursive: true, force: true });
});

function run(...args: string[]): Promise<string> {
  return runCommand(register, args);
}

describe('zlab vm', () => {
  it('names what is wrong with bad arguments', async () => {
    await expect(run('vm', 'stop')).rejects.toThrow(/give a serial .* or --all/);
    await expect(run('vm', 'stop', '127.0.0.1:40000', '--all')).rejects.toThrow(/not both/);
    await expect(run('vm', 'start', '--cpus', 'two')).rejects.toThrow(/--cpus: "two" is not a whole number/);
    await expect(run('vm', 'start', '--memory', '12Q')).rejects.toThrow(/--memory: "12Q" is not a size/);
    await expect(run('vm', 'start', '--adb-port', '5560')).rejects.toThrow(/emulator range 5555-5585/);
    await expect(run('vm', 'start', '--zram-algorithm', 'gzip')).rejects.toThrow(/zramAlgorithm/);
    await expect(run('vm', 'status', '127.0.0.1:1')).rejects.toThrow(/no virtual device 127\.0\.0\.1:1/);
  });

  it('refuses an adb port that something else holds', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      await expect(run('vm', 'start', '--adb-port', String(port))).rejects.toThrow(`--adb-port: ${port} is already in use on 127.0.0.1`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('lists nothing as one JSON document', async () => {
    expect(JSON.parse(await run('vm', 'list', '--json'))).toEqual({ devices: [] });
    expect(await run('vm', 'list')).toBe('no virtual devices\n');
  });

  it('reports a VM whose supervisor is gone as stopped', async () => {
    const vmDir = join(work, 'vms', 'gone');
    mkdirSync(vmDir, { recursive: true });
    const state: VmState = vmStateSchema.parse({
      name: 'gone', serial: '127.0.0.1:40999', adbPort: 40999, adbServerPort: 5037, pid: null, supervisorPid: 2 ** 22 + 1,
      kernel: '/boot/vmlinuz', kernelRelease: '6.12.0', initrd: '/tmp/initrd', memoryMiB: 1024, cpus: 2, accel: 'tcg',
      zramSize: '75%', zramAlgorithm: 'lz4', state: 'device', bootSeconds: 9.5, consoleLog: join(vmDir, 'console.log'), vmDir,
      createdAt: new Date().toISOString(), bootStartedAt: null, boots: 1, lastRebootTarget: null, lastExit: null, fastbootPort: null,
    });
    writeFileSync(join(vmDir, 'vm.json'), JSON.stringify(state));
    const status = JSON.parse(await run('vm', 'status', 'gone', '--json'));
    expect(status).toMatchObject({ serial: '127.0.0.1:40999', state: 'stopped', running: false });
    expect(await run('vm', 'list')).toContain('127.0.0.1:40999');
    rmSync(vmDir, { recursive: true });
  });

  it('exits 2 with a clear message and starts no QEMU for a file that is not a kernel', async () => {
    const result = await execa('node', ['bin/zlab.js', 'vm', 'start', '--kernel', '/etc/hostname'], { cwd: repoRoot, reject: false, env: { ...process.env, ZLAB_STATE_DIR: work } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('zlab: error: --kernel: /etc/hostname is not an x86 kernel image');
    expect(JSON.parse(await run('vm', 'list', '--json'))).toEqual({ devices: [] });
  }, 30_000);
});
