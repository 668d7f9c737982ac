import { createHash } from 'node:crypto';
import { createConnection } from 'node:net';
import { ZlabError } from '../util/errors.js';

/**
 * The supervisor's control channel: an abstract unix socket (no file to leave
 * behind, no path length limit) named after the VM's folder. One line in, one
 * line out.
 */
export function controlSocketName(vmDir: string): string {
  return `\0zlab-vm-${createHash('sha256').update(vmDir).digest('hex').slice(0, 24)}`;
}

export type ControlCommand = 'continue' | 'ping' | 'power-cycle' | 'power-cycle-bootloader';

export function sendControl(vmDir: string, command: ControlCommand, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: controlSocketName(vmDir) });
    let reply = '';
    const fail = (message: string): void => {
      socket.destroy();
      reject(new ZlabError('infrastructure', `virtual device supervisor (${vmDir}): ${message}`));
    };
    socket.setTimeout(timeoutMs, () => fail('no answer'));
    socket.once('error', (err) => fail(err.message));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\n')) {
        socket.end();
        resolve(reply.trim());
      }
    });
    socket.write(`${command}\n`);
  });
}
