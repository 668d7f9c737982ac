/**
 * Entry point of the detached per-VM supervisor:
 *   node --import tsx harness/vm/supervisor-main.ts <vm-dir>
 */
import { Supervisor } from './supervisor.js';

const vmDir = process.argv[2];
if (!vmDir) {
  process.stderr.write('usage: supervisor-main.ts <vm-dir>\n');
  process.exit(2);
}
const supervisor = new Supervisor(vmDir);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => void supervisor.shutdown());
}
try {
  await supervisor.run();
  process.exit(0);
} catch (err) {
  process.stderr.write(`supervisor: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
