import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAccel, kvmWorks } from './accel-probe.js';
import { selectKernel } from './kernel.js';

let work: string;
const saved = process.env.ZLAB_STATE_DIR;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'zlab-kvm-probe-'));
  process.env.ZLAB_STATE_DIR = work;
});
afterAll(() => {
  if (saved === undefined) delete process.env.ZLAB_STATE_DIR;
  else process.env.ZLAB_STATE_DIR = saved;
  rmSync(work, { recursive: true, force: true });
});

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function probeQemus(kernel: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.startsWith('qemu-system') && cmdline.includes(`zlab-kvm-probe-${process.pid}\0`) && cmdline.includes(kernel);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('accelerator choice', () => {
  it('takes an explicit choice without probing', async () => {
    expect(await chooseAccel('tcg', '/nonexistent')).toBe('tcg');
    expect(await chooseAccel('kvm', '/nonexistent')).toBe('kvm');
  });

  it('probes KVM once per kernel, caches the answer in the state dir and leaves no QEMU', async () => {
    const kernel = selectKernel().path;
    const answer = await kvmWorks(kernel);
    expect(probeQemus(kernel)).toEqual([]);
    if (!kvmUsable()) {
      expect(answer).toBe(false);
      return;
    }
    const record = JSON.parse(readFileSync(join(work, 'kvm-probe.json'), 'utf8'));
    expect(record).toMatchObject({ kernel, kvm: answer });
    expect(record.detail).toMatch(/no panic within \d+ ms|exit /);
    // The cached answer is used as it stands: flip it and it comes back flipped, with no probe.
    writeFileSync(join(work, 'kvm-probe.json'), JSON.stringify({ ...record, kvm: !answer }));
    expect(await kvmWorks(kernel)).toBe(!answer);
    expect(await chooseAccel('auto', kernel)).toBe(!answer ? 'kvm' : 'tcg');
  }, 30_000);
});
