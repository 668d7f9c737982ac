/**
 * A kernel that does not boot: the image is well-formed (the checked flash
 * accepts it) but its kernel is truncated. The deploy must see the boot time
 * out, climb the recovery ladder and bring the virtual device back on its
 * known-good image, reporting the rung and the time. A one-shot kernel that
 * hangs is rescued by a power cycle alone, and one that panics is named by
 * its panic line.
 */
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { slotDirFor } from '../vm/bootloader-mode.js';
import { virtualDeviceStatus } from '../vm/api.js';
import { parseBootImage, repackBootImage } from './bootimg.js';
import { deployKernel } from './deploy.js';
import { readSlotState } from './fastboot-slots.js';
import { kernelImageIdentity } from './kernel-identity.js';
import { usePrivateLab } from '../testing/private-lab.js';

const lab = usePrivateLab('zlab-deploy-recovery-', { virtualDevice: true });

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('deploying a kernel that does not boot', () => {
  it('times out, recovers to the known-good image by flashing it (rung 3), and says so within the bound', async () => {
    const slotA = readFileSync(join(slotDirFor(lab.vm.vmDir), 'boot_a.img'));
    const good = parseBootImage(slotA);
    // Half a kernel: the setup header (and its version string) survive, the payload does not.
    const broken = join(lab.work, 'truncated-kernel.img');
    writeFileSync(broken, repackBootImage(good, { kernel: good.kernel.subarray(0, Math.floor(good.kernel.length / 2)) }));

    // Room for a slow boot of the good kernel under TCG, yet short enough for CI.
    const bootTimeoutMs = Math.max(60_000, Math.ceil((lab.vm.bootSeconds ?? 30) * 2.5) * 1000);
    const bound = (3 * bootTimeoutMs + 3 * 90_000) / 1000;
    const lines: string[] = [];
    const result = await deployKernel({
      serial: lab.vm.serial,
      adbServerPort: lab.server.port,
      imagePath: broken,
      bootTimeoutMs,
      progress: (line) => lines.push(line),
    });
    process.stderr.write(`recovery: rung ${result.rungNumber} (${result.rung}) after ${result.totalSeconds} s; boot timeout ${bootTimeoutMs / 1000} s, bound ${bound} s\n${lines.join('\n')}\n`);

    expect(result.deployed).toBe(false);
    expect(result.failure).toMatch(/did not boot/);
    expect(result.attempts.map((a) => [a.rung, a.outcome])).toEqual([
      ['adb-reboot-bootloader', 'skipped'],
      ['power-cycle', 'failed'],
      ['known-good-flash', 'recovered'],
    ]);
    expect({ rung: result.rung, rungNumber: result.rungNumber }).toEqual({ rung: 'known-good-flash', rungNumber: 3 });
    expect(result.totalSeconds).toBeLessThanOrEqual(bound);

    // The known-good image was recorded from the seeded slot before the flash, and is what the slot holds again.
    expect(result.knownGood).toMatchObject({ source: 'recorded', sha256: sha(slotA) });
    const slots = readSlotState(slotDirFor(lab.vm.vmDir));
    expect(slots.slots[slots.active]?.sha256).toBe(sha(slotA));
    // The device is back on adb, on its serial, running the known-good kernel.
    expect(result.identity.release).toBe(kernelImageIdentity(good.kernel).release);
    const version = await execa('adb', ['-P', String(lab.server.port), '-s', lab.vm.serial, 'shell', 'cat /proc/version'], { timeout: 30_000 });
    expect(version.stdout).toContain(`Linux version ${lab.vm.kernelRelease}`);
    expect(virtualDeviceStatus(lab.vm.serial).state).toBe('device');
  }, 15 * 60_000);

  it('a one-shot kernel that hangs: the boot times out and a power cycle brings back the slot (rung 2)', async () => {
    const slots = readSlotState(slotDirFor(lab.vm.vmDir));
    const active = parseBootImage(readFileSync(slots.slots[slots.active]!.path));
    // No init to run and panic=0: the kernel stops and waits forever, adb never comes.
    const cmdline = `${active.cmdline.replace(/\bpanic=-?\d+/, '')} panic=0 rdinit=/zlab-no-such-init`;
    const hanging = join(lab.work, 'hanging.img');
    writeFileSync(hanging, repackBootImage(active, { cmdline }));
    const bootTimeoutMs = 60_000;
    const result = await deployKernel({ serial: lab.vm.serial, adbServerPort: lab.server.port, imagePath: hanging, oneShot: true, bootTimeoutMs, recoveryBootTimeoutMs: 240_000 });
    process.stderr.write(`one-shot hang: rung ${result.rungNumber} (${result.rung}) after ${result.totalSeconds} s\n`);
    expect(result.failure).toMatch(/within 60 s/);
    expect(result.attempts.map((a) => [a.rung, a.outcome])).toEqual([
      ['adb-reboot-bootloader', 'skipped'],
      ['power-cycle', 'recovered'],
    ]);
    expect(result).toMatchObject({ deployed: false, rung: 'power-cycle', rungNumber: 2, flash: { oneShot: true, slot: null } });
    // Nothing was written: the slots are as before.
    expect(readSlotState(slotDirFor(lab.vm.vmDir))).toEqual(slots);
    const procCmdline = await execa('adb', ['-P', String(lab.server.port), '-s', lab.vm.serial, 'shell', 'cat /proc/cmdline'], { timeout: 30_000 });
    expect(procCmdline.stdout).not.toContain('rdinit=/zlab-no-such-init');
  }, 15 * 60_000);

  it('a one-shot kernel that panics: the failure quotes the panic from the console, and a power cycle brings back the slot', async () => {
    const slots = readSlotState(slotDirFor(lab.vm.vmDir));
    const active = parseBootImage(readFileSync(slots.slots[slots.active]!.path));
    // No init in the ramdisk and no root device: the kernel panics, and with panic=-1 QEMU exits.
    const cmdline = `${active.cmdline.replace(/\bpanic=-?\d+/, '')} panic=-1 rdinit=/zlab-no-such-init`;
    const panicking = join(lab.work, 'panicking.img');
    writeFileSync(panicking, repackBootImage(active, { cmdline }));
    const result = await deployKernel({ serial: lab.vm.serial, adbServerPort: lab.server.port, imagePath: panicking, oneShot: true, bootTimeoutMs: 120_000, recoveryBootTimeoutMs: 240_000 });
    process.stderr.write(`one-shot panic: ${result.failure}\n`);
    expect(result.failure).toMatch(/QEMU ended \(exit status 0\) without a reboot request: the kernel panicked: Kernel panic - not syncing: \S/);
    expect(result).toMatchObject({ deployed: false, rung: 'power-cycle', rungNumber: 2 });
    expect(readSlotState(slotDirFor(lab.vm.vmDir))).toEqual(slots);
  }, 15 * 60_000);
});
