import { execa, type ResultPromise } from 'execa';
import { createServer } from 'node:net';
import { ZlabError } from '../util/errors.js';

/** The adb server port zlab talks to: ANDROID_ADB_SERVER_PORT, as the adb tool reads it, else 5037. */
export function defaultAdbPort(): number {
  const fromEnv = Number(process.env.ANDROID_ADB_SERVER_PORT);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 5037;
}

/** Environment for running Debian's `adb` against a given server port. */
export function adbEnv(port: number): NodeJS.ProcessEnv {
  return { ...process.env, ANDROID_ADB_SERVER_PORT: String(port) };
}

/** Ask the kernel for a free loopback TCP port. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Make sure the lab's shared adb server runs on `port`, starting it as any adb
 * command would (`adb start-server` returns at once when it already runs).
 */
export async function ensureAdbServer(port: number): Promise<void> {
  const result = await execa('adb', ['-P', String(port), 'start-server'], { reject: false, timeout: 30_000, stdin: 'ignore' });
  if (result.failed) {
    const why = result.timedOut ? 'no answer within 30 s' : String(result.stderr || result.stdout || result.shortMessage).trim();
    throw new ZlabError('infrastructure', `could not start the adb server on 127.0.0.1:${port}: ${why}`, { port });
  }
}

export interface AdbServer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Start a private adb server in the foreground (`adb nodaemon server`) so that
 * its pid is known and it can be stopped exactly; tests use one each so they
 * never disturb the lab's shared server.
 */
export async function startAdbServer(options: { port?: number } = {}): Promise<AdbServer> {
  const port = options.port ?? (await freeLoopbackPort());
  const child: ResultPromise = execa('adb', ['-P', String(port), 'nodaemon', 'server'], {
    reject: false,
    stdio: 'ignore',
    detached: false,
  });
  if (child.pid === undefined) throw new ZlabError('infrastructure', 'could not start adb: is Debian\'s adb installed?');
  const pid = child.pid;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = await execa('adb', ['-P', String(port), 'devices'], { reject: false, timeout: 5_000 });
    if (probe.exitCode === 0 && !/daemon not running/.test(probe.stderr)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ZlabError('infrastructure', `adb server on port ${port} did not come up`, { port });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await child;
      clearTimeout(timer);
    },
  };
}
