import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** How much of the console's end is read: a panic's first line is within it. */
const TAIL_BYTES = 256 * 1024;

/**
 * What the guest's console says about a boot that ended without a reboot
 * request, read from `offset` (where this boot's output begins): the kernel's
 * panic line, its power-down line, or else the last line it printed. Null
 * when the boot printed nothing (QEMU failed before the kernel ran).
 */
export function consoleVerdict(consoleLog: string, offset: number): string | null {
  const text = readFrom(consoleLog, offset);
  if (text === null) return null;
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.replace(/\r/g, '').replace(/^\[\s*\d+\.\d+\]\s*/, '').trim())
    .filter((line) => line.length > 0);
  const oopsAt = lines.findIndex((line) => /^(BUG: |Oops: |general protection fault)/.test(line));
  const oops = oopsAt >= 0 ? lines[oopsAt] : undefined;
  const panic = lines.find((line) => line.startsWith('Kernel panic - not syncing'));
  if (panic) {
    // the oops and where it hit tell a kernel bug from the emulator's (harness/vm/README.md)
    const rip = oopsAt >= 0 ? lines.slice(oopsAt).find((line) => line.startsWith('RIP: ')) : undefined;
    return `the kernel panicked: ${panic}${oops ? ` (after ${oops}${rip ? ` at ${rip}` : ''})` : ''}`;
  }
  if (lines.some((line) => /^reboot: Power down|^System halted/.test(line))) return `the guest powered off${oops ? ` after ${oops}` : ''}`;
  const last = lines.at(-1);
  if (last === undefined) return null;
  return `${oops ? `${oops}; ` : ''}the console's last line: ${last}`;
}

/**
 * The last line written to the supervisor's log since `offset` — during a
 * boot that is QEMU's own output, e.g. "terminating on signal 15 from pid …";
 * null if nothing was written.
 */
export function qemuLastWords(logPath: string, offset: number): string | null {
  const text = readFrom(logPath, offset);
  const lines = text?.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0) ?? [];
  return lines.at(-1) ?? null;
}

function readFrom(path: string, offset: number): string | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  if (size <= offset) return null;
  const start = Math.max(offset, size - TAIL_BYTES);
  const buffer = Buffer.alloc(size - start);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('latin1');
}
