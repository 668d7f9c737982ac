import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleVerdict, qemuLastWords } from './console-verdict.js';

const dir = mkdtempSync(join(tmpdir(), 'zlab-console-verdict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function consoleLog(text: string): string {
  const path = join(dir, `console${Math.random()}.log`);
  writeFileSync(path, text, 'latin1');
  return path;
}

const earlierBoot = 'zlab-init: sys.boot_completed=1\r\nKernel panic - not syncing: from the boot before\r\n';

describe('console verdict of a boot that ended by itself', () => {
  it('names the panic line of this boot, not of an earlier one', () => {
    const log = consoleLog(
      `${earlierBoot}[    0.000000] Linux version 6.12\r\n[    2.417113] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\r\n[    2.418000] Kernel Offset: disabled\r\n`,
    );
    expect(consoleVerdict(log, earlierBoot.length)).toBe('the kernel panicked: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100');
  });

  it('names the oops and where it hit when a panic follows one', () => {
    const log = consoleLog(
      [
        '[    2.735273] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI',
        '[    2.735728] CPU: 1 UID: 0 PID: 1 Comm: swapper/0 Not tainted 6.12.117+deb12-amd64 #1',
        '[    2.735968] RIP: 0010:sched_clock_cpu+0x9/0x190',
        '[    2.743199] RIP: 0010:sched_clock_cpu+0x9/0x190',
        '[    2.743429] Kernel panic - not syncing: Fatal exception in interrupt',
        '',
      ].join('\r\n'),
    );
    expect(consoleVerdict(log, 0)).toBe(
      'the kernel panicked: Kernel panic - not syncing: Fatal exception in interrupt (after Oops: int3: 0000 [#1] PREEMPT SMP NOPTI at RIP: 0010:sched_clock_cpu+0x9/0x190)',
    );
  });

  it('tells a power-down, with the oops that came before it', () => {
    const log = consoleLog('[    9.1] BUG: kernel NULL pointer dereference, address: 0000000000000008\r\n[   12.5] reboot: Power down\r\n');
    expect(consoleVerdict(log, 0)).toBe('the guest powered off after BUG: kernel NULL pointer dereference, address: 0000000000000008');
    expect(consoleVerdict(consoleLog('reboot: Power down\n'), 0)).toBe('the guest powered off');
  });

  it('otherwise quotes the last line printed', () => {
    expect(consoleVerdict(consoleLog('[    1.0] Run /init as init process\r\n\r\n'), 0)).toBe("the console's last line: Run /init as init process");
  });

  it('says nothing when this boot printed nothing or there is no console log', () => {
    const log = consoleLog(earlierBoot);
    expect(consoleVerdict(log, earlierBoot.length)).toBeNull();
    expect(consoleVerdict(join(dir, 'missing.log'), 0)).toBeNull();
  });
});

describe("QEMU's last words", () => {
  it('are the last line QEMU wrote during this boot', () => {
    const before = 'qemu-system-x86_64: an earlier boot\n';
    const log = consoleLog(`${before}qemu-system-x86_64: terminating on signal 15 from pid 4242 (node)\n\n`);
    expect(qemuLastWords(log, 0)).toBe('qemu-system-x86_64: terminating on signal 15 from pid 4242 (node)');
    expect(qemuLastWords(consoleLog(before), before.length)).toBeNull();
  });
});
