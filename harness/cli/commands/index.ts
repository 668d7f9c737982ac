import type { Command } from 'commander';

/**
 * Every command group registers itself here, one line each, in the order
 * `zlab --help` lists them.
 */
const groups: Array<(program: Command) => void> = [];

export function registerCommands(program: Command): void {
  for (const register of groups) register(program);
}
