import { jest } from '@jest/globals';
import { Command } from 'commander';

/**
 * Runs `zlab ARGS…` in-process on a fresh commander program that holds only the
 * commands `register` adds, and returns what they printed on stdout. Commander's
 * own errors are thrown (exitOverride) rather than printed.
 */
export async function runCommand(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command('zlab').exitOverride().configureOutput({ writeErr: () => undefined });
  register(program);
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    await program.parseAsync(['node', 'zlab', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}
