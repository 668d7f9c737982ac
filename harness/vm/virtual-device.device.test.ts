/**
 * The virtual device end to end: boot under QEMU, reach it through Debian's
 * adb and adbkit on a private adb server, reboot it, stop it.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import adbkit from '@devicefarmer/adbkit';
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type VirtualDeviceInfo,
  continueVirtualDevice,
  listVirtualDevices,
  startVirtualDevice,
  stopVirtualDevice,
  virtualDeviceStatus,
} from './api.js';
import { adbDevices } from './adb-host.js';
import { isAlive, portIsFree, sleep } from './processes.js';
import { usePrivateLab } from '../testing/private-lab.js';

const BOOT_MS = 240_000;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const lab = usePrivateLab('zlab-vm-device-');

const adb = (...args: string[]) => execa('adb', ['-P', String(lab.server.port), ...args], { reject: false, timeout: 60_000 });

/** QEMU processes booted from this suite's state folder. */
function ourQemus(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.startsWith('qemu-system') && cmdline.includes(lab.work);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function expectGone(vm: VirtualDeviceInfo): Promise<void> {
  expect(isAlive(vm.supervisorPid)).toBe(false);
  expect(isAlive(vm.pid)).toBe(false);
  expect(await portIsFree(vm.adbPort)).toBe(true);
  expect((await adbDevices(lab.server.port)).has(vm.serial)).toBe(false);
  expect(listVirtualDevices().map((v) => v.serial)).not.toContain(vm.serial);
}

describe('a virtual device', () => {
  let vm: VirtualDeviceInfo;

  beforeAll(async () => {
    vm = await startVirtualDevice({ adbServerPort: lab.server.port, ownerPid: process.pid });
  }, BOOT_MS);

  it('boots to adb and records itself', () => {
    expect(vm.serial).toBe(`127.0.0.1:${vm.adbPort}`);
    expect(vm.adbPort < 5555 || vm.adbPort > 5585).toBe(true);
    expect(vm).toMatchObject({ state: 'device', running: true, memoryMiB: 1024, cpus: 2, zramSize: '75%', zramAlgorithm: 'lz4', adbServerPort: lab.server.port });
    expect(isAlive(vm.pid)).toBe(true);
    expect(vm.bootSeconds).toBeGreaterThan(0);
    expect(virtualDeviceStatus(vm.serial).pid).toBe(vm.pid);
    process.stderr.write(`virtual device boot-to-adb: ${vm.bootSeconds} s (${vm.accel})\n`);
  });

  it("is listed as a device by Debian's adb", async () => {
    const { stdout } = await adb('devices');
    expect(stdout).toMatch(new RegExp(`^${vm.serial.replace(/\./g, '\\.')}\\tdevice$`, 'm'));
  });

  it('passes a shell exit status through', async () => {
    expect((await adb('-s', vm.serial, 'shell', 'exit 7')).exitCode).toBe(7);
  });

  it('pushes and pulls 32 MiB unchanged', async () => {
    const local = join(lab.work, 'random.bin');
    const back = join(lab.work, 'random.back');
    writeFileSync(local, randomBytes(32 * 1024 * 1024));
    const push = await adb('-s', vm.serial, 'push', local, '/data/local/tmp/random.bin');
    expect(push.exitCode).toBe(0);
    const pull = await adb('-s', vm.serial, 'pull', '/data/local/tmp/random.bin', back);
    expect(pull.exitCode).toBe(0);
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(sha(back)).toBe(sha(local));
    await adb('-s', vm.serial, 'shell', 'rm /data/local/tmp/random.bin');
  }, 120_000);

  it('shows reclaim counters in /proc/vmstat', async () => {
    const { stdout } = await adb('-s', vm.serial, 'shell', 'cat /proc/vmstat');
    expect(stdout).toMatch(/^pgsteal_anon \d+$/m);
  });

  it("answers adbkit's getProperties with the product model", async () => {
    const client = adbkit.Adb.createClient({ port: lab.server.port });
    const props = await client.getDevice(vm.serial).getProperties();
    expect(props['ro.product.model']).toBe('zlab virtual device');
    expect(props['ro.product.cpu.abi']).toBe('x86_64');
    expect(props['sys.boot_completed']).toBe('1');
    expect(props['ro.build.fingerprint']).toContain(vm.kernelRelease);
  });

  it('swaps to zram0 with lz4, sized 75 % of RAM', async () => {
    const { stdout } = await adb('-s', vm.serial, 'shell', 'cat /proc/swaps; cat /sys/block/zram0/comp_algorithm; cat /sys/block/zram0/disksize; grep MemTotal /proc/meminfo');
    expect(stdout).toMatch(/^\/dev\/zram0\s+partition/m);
    expect(stdout).toContain('[lz4]');
    const disksize = Number(/^(\d+)$/m.exec(stdout)?.[1]);
    const memTotal = Number(/MemTotal:\s+(\d+) kB/.exec(stdout)?.[1]) * 1024;
    expect(disksize / memTotal).toBeCloseTo(0.75, 2);
  });

  it('has /data/local/tmp, getprop KEY and setprop', async () => {
    const { stdout, exitCode } = await adb('-s', vm.serial, 'shell', 'test -d /data/local/tmp && setprop zlab.test "a b" && getprop zlab.test && getprop ro.product.device');
    expect(exitCode).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(['a b', 'zlab_x86_64']);
  });

  it('comes back on the same serial after adb reboot', async () => {
    const pidBefore = virtualDeviceStatus(vm.serial).pid;
    await adb('-s', vm.serial, 'reboot');
    await waitFor('a new QEMU', () => {
      const now = virtualDeviceStatus(vm.serial);
      return now.boots === 2 && now.pid !== null && now.pid !== pidBefore;
    }, 60_000);
    await waitFor('the device after reboot', async () => (await adb('-s', vm.serial, 'shell', 'getprop sys.boot_completed')).stdout.trim() === '1', BOOT_MS / 2);
    const after = virtualDeviceStatus(vm.serial);
    expect(after).toMatchObject({ state: 'device', lastRebootTarget: '', adbPort: vm.adbPort });
    expect(isAlive(pidBefore)).toBe(false);
  }, BOOT_MS);

  it('powers off in the bootloader after reboot bootloader, and boots again on continue', async () => {
    await adb('-s', vm.serial, 'reboot', 'bootloader');
    await waitFor('bootloader state', () => virtualDeviceStatus(vm.serial).state === 'bootloader', 60_000);
    expect(virtualDeviceStatus(vm.serial)).toMatchObject({ pid: null, lastRebootTarget: 'bootloader', running: true });
    expect(ourQemus()).toEqual([]);
    await continueVirtualDevice(vm.serial);
    await waitFor('the device after the bootloader', async () => (await adb('-s', vm.serial, 'shell', 'getprop sys.boot_completed')).stdout.trim() === '1', BOOT_MS / 2);
    expect(virtualDeviceStatus(vm.serial).state).toBe('device');
    await expect(continueVirtualDevice(vm.serial)).rejects.toThrow(/not powered off/);
  }, BOOT_MS);

  it('leaves no process, port, adb entry or state behind when stopped', async () => {
    const last = virtualDeviceStatus(vm.serial);
    await stopVirtualDevice(vm.serial);
    await expectGone(last);
    expect(ourQemus()).toEqual([]);
    expect(() => virtualDeviceStatus(vm.serial)).toThrow(/no virtual device 127\.0\.0\.1:/);
  }, 60_000);
});

describe('bad input', () => {
  it('refuses a file that is not a kernel and starts no QEMU', async () => {
    await expect(startVirtualDevice({ kernel: '/etc/hostname', adbServerPort: lab.server.port })).rejects.toThrow(/\/etc\/hostname is not an x86 kernel image/);
    expect(ourQemus()).toEqual([]);
    expect(listVirtualDevices()).toEqual([]);
  });

  it('refuses an adb server that is not running', async () => {
    const closed = await import('../device/adb-server.js').then((m) => m.freeLoopbackPort());
    await expect(startVirtualDevice({ adbServerPort: closed })).rejects.toThrow(/no adb server answers on 127\.0\.0\.1:/);
    expect(ourQemus()).toEqual([]);
  });

  it('fails clearly when the kernel lacks the zram algorithm, leaving nothing behind', async () => {
    await expect(startVirtualDevice({ adbServerPort: lab.server.port, zramAlgorithm: '842' })).rejects.toThrow(/zram swap could not be set up: algorithm 842 refused; this kernel offers: .*lz4/);
    expect(ourQemus()).toEqual([]);
    expect(listVirtualDevices()).toEqual([]);
  }, BOOT_MS);

  it('stops a half-booted VM when zlab vm start is interrupted', async () => {
    const cli = execa('node', ['bin/zlab.js', 'vm', 'start', '--adb-server-port', String(lab.server.port)], { cwd: repoRoot, reject: false, env: { ...process.env } });
    let stderr = '';
    cli.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await waitFor('the boot to begin', () => /booting /.test(stderr) && ourQemus().length > 0, 60_000);
    cli.kill('SIGINT');
    const result = await cli;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/zlab: error: boot of 127\.0\.0\.1:\d+ interrupted; the VM was stopped/);
    expect(ourQemus()).toEqual([]);
    expect(listVirtualDevices()).toEqual([]);
  }, 90_000);

  it('goes away by itself when the process that owns it exits', async () => {
    const owner = execa('sleep', ['600'], { reject: false });
    const start = startVirtualDevice({ adbServerPort: lab.server.port, ownerPid: owner.pid });
    await waitFor('QEMU to start', () => ourQemus().length > 0, 60_000);
    owner.kill('SIGKILL');
    await owner;
    await expect(start).rejects.toThrow(/stopped while it booted|supervisor .* died/);
    await waitFor('QEMU to go', () => ourQemus().length === 0, 15_000);
    expect(listVirtualDevices()).toEqual([]);
  }, 90_000);

  it('gives up after the boot timeout with the console tail, leaving nothing behind', async () => {
    await expect(startVirtualDevice({ adbServerPort: lab.server.port, bootTimeoutSeconds: 1 })).rejects.toThrow(/did not boot to adb within 1 s[\s\S]*--- console/);
    expect(ourQemus()).toEqual([]);
    expect(listVirtualDevices()).toEqual([]);
  }, 60_000);
});

describe('two virtual devices at once', () => {
  it('run side by side on distinct ports, one started by the CLI', async () => {
    const cli = execa('node', ['bin/zlab.js', 'vm', 'start', '--json', '--memory', '768M', '--adb-server-port', String(lab.server.port)], {
      cwd: repoRoot,
      env: { ...process.env },
      reject: false,
      timeout: BOOT_MS,
    });
    const [api, fromCli] = await Promise.all([startVirtualDevice({ adbServerPort: lab.server.port, zramAlgorithm: 'zstd', ownerPid: process.pid }), cli]);
    expect(fromCli.exitCode).toBe(0);
    const printed = JSON.parse(fromCli.stdout) as VirtualDeviceInfo;
    expect(printed).toMatchObject({ memoryMiB: 768, kernel: api.kernel });
    expect(typeof printed.bootSeconds).toBe('number');
    expect(printed.initrd).toMatch(/\.cpio\.gz$/);
    expect(printed.adbPort).not.toBe(api.adbPort);
    const devices = await adbDevices(lab.server.port);
    expect(devices.get(api.serial)).toBe('device');
    expect(devices.get(printed.serial)).toBe('device');
    const algorithm = await adb('-s', api.serial, 'shell', 'cat /sys/block/zram0/comp_algorithm');
    expect(algorithm.stdout).toContain('[zstd]');
    expect((await adb('-s', printed.serial, 'shell', 'grep MemTotal /proc/meminfo')).stdout).toMatch(/MemTotal:\s+7\d\d\d\d\d kB/);

    const status = JSON.parse((await execa('node', ['bin/zlab.js', 'vm', 'list', '--json'], { cwd: repoRoot })).stdout) as { devices: VirtualDeviceInfo[] };
    expect(status.devices.map((d) => d.serial).sort()).toEqual([api.serial, printed.serial].sort());

    // A supervisor killed outright leaves QEMU behind: the VM shows as stopped and `vm stop` still removes it.
    process.kill(api.supervisorPid as number, 'SIGKILL');
    await waitFor('the supervisor to die', () => !isAlive(api.supervisorPid), 10_000);
    expect(virtualDeviceStatus(api.serial)).toMatchObject({ running: false, state: 'stopped' });
    expect(isAlive(api.pid)).toBe(true);

    const stop = await execa('node', ['bin/zlab.js', 'vm', 'stop', '--all'], { cwd: repoRoot, reject: false });
    expect(stop.exitCode).toBe(0);
    await expectGone(api);
    await expectGone(printed);
    expect(ourQemus()).toEqual([]);
  }, BOOT_MS * 2);
});
