import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRebootTarget } from './supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'zlab-reboot-channel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function channel(text: string | null): string {
  const path = join(dir, `c${Math.random()}`);
  if (text !== null) writeFileSync(path, text, 'latin1');
  return path;
}

describe('reboot channel', () => {
  it('reads the target the guest hook wrote, through the tty line ending', () => {
    expect(readRebootTarget(channel('zlab-reboot bootloader\r\n'))).toBe('bootloader');
  });

  it('tells a plain reboot (empty target) from no request at all', () => {
    expect(readRebootTarget(channel('zlab-reboot \r\n'))).toBe('');
    expect(readRebootTarget(channel(''))).toBeNull();
    expect(readRebootTarget(channel(null))).toBeNull();
    expect(readRebootTarget(channel('noise from the firmware\r\n'))).toBeNull();
  });

  it('takes the last request when there are several', () => {
    expect(readRebootTarget(channel('zlab-reboot recovery\r\nzlab-reboot bootloader\r\n'))).toBe('bootloader');
  });
});
