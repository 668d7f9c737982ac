import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { reportError } from './output.js';

const program = new Command('zlab')
  .description('Hardware-in-the-loop memory-reclaim test harness for Android devices')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has already printed its message (help, version or a usage error).
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(err);
  }
}
