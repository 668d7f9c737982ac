import adbkit from '@devicefarmer/adbkit';
import { connect } from 'node:net';
import { ZlabError } from '../util/errors.js';
import { defaultAdbPort } from './adb-server.js';

export type AdbClient = ReturnType<typeof adbkit.Adb.createClient>;

/** Where an adb server listens. A lab may run several (one per host or USB hub). */
export interface AdbServerAddress {
  host: string;
  port: number;
}

export function defaultAdbServer(): AdbServerAddress {
  return { host: '127.0.0.1', port: defaultAdbPort() };
}

/** Parse `PORT`, `HOST:PORT` or `tcp:HOST:PORT` as given on a command line or in a plan. */
export function parseAdbServer(text: string): AdbServerAddress {
  const match = /^(?:tcp:)?(?:([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):)?(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new ZlabError('usage', `adb server "${text}" is not HOST:PORT or PORT (e.g. 127.0.0.1:5037)`);
  }
  return { host: match[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

const clients = new Map<string, AdbClient>();

/**
 * An adbkit client for one adb server. Only the local default server is
 * started on demand (as the adb tool does); any other server must already be
 * running, and its absence is an error that says so.
 */
export async function adbClient(server: AdbServerAddress = defaultAdbServer()): Promise<AdbClient> {
  const key = `${server.host}:${server.port}`;
  const cached = clients.get(key);
  if (cached) return cached;
  const isLocalDefault = server.port === defaultAdbPort() && ['127.0.0.1', 'localhost'].includes(server.host);
  if (!isLocalDefault) await assertReachable(server);
  const client = adbkit.Adb.createClient({ host: server.host, port: server.port, bin: 'adb' });
  clients.set(key, client);
  return client;
}

async function assertReachable(server: AdbServerAddress): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    socket.setTimeout(5_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        new ZlabError('infrastructure', `adb server at ${server.host}:${server.port} is not reachable (${why}); start it with: adb -P ${server.port} start-server`, { server }),
      );
    };
    socket.once('timeout', () => fail('timed out'));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}

/**
 * One request on the adb server's smart socket (`host:…` / `host-serial:…`
 * services) that adbkit does not offer, such as a device's transport features.
 */
export async function adbHostQuery(server: AdbServerAddress, request: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ZlabError('infrastructure', `adb server did not answer "${request}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err: Error | null, value?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? '');
    };
    socket.once('connect', () => {
      const body = Buffer.from(request, 'utf8');
      socket.write(Buffer.concat([Buffer.from(body.length.toString(16).padStart(4, '0')), body]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 8) return;
      const status = received.subarray(0, 4).toString('latin1');
      const length = parseInt(received.subarray(4, 8).toString('latin1'), 16);
      if (received.length < 8 + length) return;
      const text = received.subarray(8, 8 + length).toString('utf8');
      if (status === 'OKAY') finish(null, text);
      else finish(new ZlabError('device', `adb server refused "${request}": ${text}`));
    });
    socket.once('error', (err) => finish(new ZlabError('infrastructure', `adb server at ${server.host}:${server.port}: ${err.message}`)));
    socket.once('end', () => finish(new ZlabError('infrastructure', `adb server closed the connection during "${request}"`)));
  });
}
