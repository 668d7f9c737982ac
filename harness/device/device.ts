import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pRetry from 'p-retry';
import { ZlabError } from '../util/errors.js';
import { adbClient, adbHostQuery, type AdbClient, type AdbServerAddress, defaultAdbServer } from './adb-host.js';
import { DeviceCommandError, DeviceTimeoutError, TransportError, isTransient } from './device-errors.js';
import { findDevice, listAttachedDevices } from './discovery.js';
import { shellQuote } from './shell-quote.js';
import { ShellPacket, ShellV2Decoder, encodeShellPacket } from './shell-v2.js';

export interface ShellOptions {
  /** Default 60 s. On expiry the stream is closed, which ends the command on the device. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Bytes for the command's standard input (which is closed afterwards either way). */
  stdin?: string | Buffer;
}

export interface ShellResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

export type DeviceAbi = 'x86_64' | 'arm64-v8a';

export interface DeviceOpenOptions {
  server?: AdbServerAddress;
  /** Accept a device that is not (yet) in state `device`, e.g. to wait for it. */
  anyState?: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const REBOOT_TARGETS = ['', 'bootloader', 'recovery'] as const;
export type RebootTarget = (typeof REBOOT_TARGETS)[number];

/**
 * One device reached through an adb server: a phone in the lab or the virtual
 * device. Commands are strings for a POSIX shell; build them with
 * shellQuote()/shellCommand() from validated values.
 */
export class Device {
  private featuresCache: Set<string> | undefined;

  private constructor(
    readonly serial: string,
    readonly server: AdbServerAddress,
    private readonly client: AdbClient,
  ) {}

  /** Open a device by serial; an unknown serial is an error naming what is attached. */
  static async open(serial: string, options: DeviceOpenOptions = {}): Promise<Device> {
    const server = options.server ?? defaultAdbServer();
    const attached = await findDevice(serial, [server]);
    if (!options.anyState && attached.state !== 'device') {
      throw new ZlabError('device', `device ${serial} is ${attached.state}, not ready (adb state "device")`, { serial, state: attached.state });
    }
    return new Device(serial, server, await adbClient(server));
  }

  private get adb() {
    return this.client.getDevice(this.serial);
  }

  /** The adb transport features the device advertised (shell_v2, stat_v2, …). */
  async features(): Promise<Set<string>> {
    if (!this.featuresCache) {
      const text = await this.transport('features', () => adbHostQuery(this.server, `host-serial:${this.serial}:features`));
      this.featuresCache = new Set(text.split(',').map((f) => f.trim()).filter(Boolean));
    }
    return this.featuresCache;
  }

  /**
   * Run a command and return its output and exit status. A non-zero exit is a
   * result, not an exception (see run()). Only opening the stream is retried:
   * once a command may have started it is never sent twice.
   */
  async shell(command: string, options: ShellOptions = {}): Promise<ShellResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if ((await this.features()).has('shell_v2')) return this.shellV2(command, timeoutMs, options);
    if (options.stdin !== undefined) {
      throw new ZlabError('device', `${this.serial} has no shell_v2: cannot pass standard input to a command`);
    }
    return this.shellWithMarker(command, timeoutMs, options.signal);
  }

  /** Run a command that must succeed; returns its stdout. */
  async run(command: string, options: ShellOptions = {}): Promise<string> {
    const result = await this.shell(command, options);
    if (result.exitCode !== 0) {
      throw new DeviceCommandError(this.serial, command, result.exitCode, result.stdout, result.stderr, result.durationMs);
    }
    return result.stdout;
  }

  private async shellV2(command: string, timeoutMs: number, options: ShellOptions): Promise<ShellResult> {
    const started = performance.now();
    const stream = await this.transport<Duplex>('shell', () => this.adb.openLocal(`shell,v2,raw:${command}`));
    if (options.stdin !== undefined) {
      const input = Buffer.isBuffer(options.stdin) ? options.stdin : Buffer.from(options.stdin);
      // Keep packets well under the transport's maximum payload.
      for (let offset = 0; offset < input.length; offset += 64 * 1024) {
        stream.write(encodeShellPacket(ShellPacket.stdin, input.subarray(offset, offset + 64 * 1024)));
      }
    }
    stream.write(encodeShellPacket(ShellPacket.closeStdin));

    const decoder = new ShellV2Decoder();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exitCode: number | undefined;
    await this.collect(stream, command, timeoutMs, options.signal, (chunk) => {
      for (const packet of decoder.push(chunk)) {
        if (packet.id === ShellPacket.stdout) stdout.push(packet.data);
        else if (packet.id === ShellPacket.stderr) stderr.push(packet.data);
        else if (packet.id === ShellPacket.exit) exitCode = packet.data[0] ?? 0;
      }
    });
    if (exitCode === undefined) {
      throw new TransportError(this.serial, `shell \`${command.slice(0, 80)}\``, new Error('stream ended without an exit status'));
    }
    return {
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
      exitCode,
      durationMs: performance.now() - started,
    };
  }

  /** For devices without shell_v2: the exit status travels after a unique marker. */
  private async shellWithMarker(command: string, timeoutMs: number, signal?: AbortSignal): Promise<ShellResult> {
    const started = performance.now();
    const marker = `__zlab_exit_${randomBytes(8).toString('hex')}__`;
    const wrapped = `(${command}) </dev/null 2>&1; echo; echo ${marker}$?`;
    const stream = await this.transport<Duplex>('shell', () => this.adb.shell(wrapped));
    const chunks: Buffer[] = [];
    await this.collect(stream, command, timeoutMs, signal, (chunk) => chunks.push(chunk));
    const text = Buffer.concat(chunks).toString('utf8').replace(/\r\n/g, '\n');
    const at = text.lastIndexOf(marker);
    if (at < 0) throw new TransportError(this.serial, 'shell', new Error('output ended without an exit status'));
    const output = text.slice(0, at).replace(/\n$/, '');
    return { stdout: output, stderr: '', exitCode: Number.parseInt(text.slice(at + marker.length), 10), durationMs: performance.now() - started };
  }

  /** Read a device stream to its end, under a timeout and an abort signal. */
  private collect(stream: Duplex, command: string, timeoutMs: number, signal: AbortSignal | undefined, onData: (chunk: Buffer) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = (err: Error) => {
        cleanup();
        stream.destroy();
        reject(err);
      };
      const onAbort = () => stop(new DeviceTimeoutError(this.serial, command, timeoutMs, 'aborted'));
      const timer = setTimeout(() => stop(new DeviceTimeoutError(this.serial, command, timeoutMs, 'timeout')), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', onData);
      stream.once('end', () => {
        cleanup();
        resolve();
      });
      stream.once('error', (err: Error) => stop(new TransportError(this.serial, 'shell', err)));
    });
  }

  /** Copy a file to the device, then check its size and SHA-256 there. */
  async push(localPath: string, remotePath: string, options: { mode?: number; timeoutMs?: number } = {}): Promise<void> {
    const { size } = await stat(localPath);
    const transfer = await this.transport<TransferLike>('push', () => this.adb.push(createReadStream(localPath), remotePath, options.mode ?? 0o644));
    await awaitTransfer(transfer, this.serial, `push ${remotePath}`, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    await this.verifyCopy(localPath, remotePath, size, 'push');
  }

  /** Copy a file from the device (via a temporary name, so a failed pull leaves nothing), then check it. */
  async pull(remotePath: string, localPath: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const partial = `${localPath}.partial-${process.pid}`;
    try {
      const transfer = await this.transport<PullStream>('pull', () => this.adb.pull(remotePath));
      const done = pipeline(transfer, createWriteStream(partial));
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            transfer.cancel();
            reject(new DeviceTimeoutError(this.serial, `pull ${remotePath}`, timeoutMs, 'timeout'));
          }, timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      const { size } = await stat(partial);
      await this.verifyCopy(partial, remotePath, size, 'pull');
      await rename(partial, localPath);
    } catch (err) {
      await unlink(partial).catch(() => undefined);
      if (err instanceof ZlabError) throw err;
      throw new ZlabError('device', `${this.serial}: pull ${remotePath} failed: ${(err as Error).message}`, { serial: this.serial, remotePath }, { cause: err });
    }
  }

  private async verifyCopy(localPath: string, remotePath: string, localSize: number, what: 'push' | 'pull'): Promise<void> {
    const [remote, localSha] = await Promise.all([
      this.run(`stat -c %s ${shellQuote(remotePath)} && sha256sum ${shellQuote(remotePath)}`),
      sha256File(localPath),
    ]);
    const [sizeLine, shaLine] = remote.trim().split('\n');
    const remoteSize = Number(sizeLine);
    const remoteSha = shaLine?.split(/\s+/)[0];
    if (remoteSize !== localSize || remoteSha !== localSha) {
      throw new ZlabError('device', `${this.serial}: ${what} of ${remotePath} is corrupt: local ${localSize} bytes sha256 ${localSha}, device ${remoteSize} bytes sha256 ${remoteSha}`, {
        serial: this.serial,
      });
    }
  }

  async getProperties(): Promise<Record<string, string>> {
    return this.transport<Record<string, string>>('getprop', () => this.adb.getProperties());
  }

  async getprop(key: string): Promise<string> {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new ZlabError('usage', `"${key}" is not a property name`);
    return (await this.run(`getprop ${key}`)).trim();
  }

  /** The ABI whose device binaries this device runs. */
  async abi(): Promise<DeviceAbi> {
    const abi = await this.getprop('ro.product.cpu.abi');
    if (abi === 'x86_64' || abi === 'arm64-v8a') return abi;
    throw new ZlabError('device', `${this.serial}: ABI "${abi}" is not supported (zlab builds x86_64 and arm64-v8a)`);
  }

  /** Make adbd run as root (waiting for it to restart if it must), then check that it does. */
  async root(options: { timeoutMs?: number } = {}): Promise<void> {
    const reply = await this.transport('root', async () => {
      const stream = await this.adb.openLocal('root:');
      const chunks: Buffer[] = [];
      await this.collect(stream, 'root:', 10_000, undefined, (c) => chunks.push(c));
      return Buffer.concat(chunks).toString('utf8');
    });
    if (/restarting/i.test(reply)) await this.waitForBoot({ timeoutMs: options.timeoutMs ?? 60_000 });
    else if (!/already running as root/i.test(reply)) {
      throw new ZlabError('device', `${this.serial}: adbd cannot run as root: ${reply.trim() || 'no answer'}`);
    }
    const uid = (await this.run('id -u')).trim();
    if (uid !== '0') throw new ZlabError('device', `${this.serial}: shell runs as uid ${uid}, not root`);
  }

  /** Ask the device to reboot (into a target such as the bootloader). Does not wait. */
  async reboot(target: RebootTarget = ''): Promise<void> {
    if (!REBOOT_TARGETS.includes(target)) throw new ZlabError('usage', `reboot target "${target}" is not one of ${REBOOT_TARGETS.join(', ')}`);
    this.featuresCache = undefined;
    const stream = await this.transport<Duplex>('reboot', () => this.adb.openLocal(`reboot:${target}`));
    await this.collect(stream, `reboot:${target}`, 10_000, undefined, () => undefined).catch(() => undefined);
  }

  /** Wait until the device is back in adb state `device` and reports sys.boot_completed=1. */
  async waitForBoot(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    let last = 'not attached';
    while (Date.now() < deadline) {
      if (options.signal?.aborted) throw new DeviceTimeoutError(this.serial, 'wait for boot', timeoutMs, 'aborted');
      const attached = (await listAttachedDevices([this.server]).catch(() => [])).find((d) => d.serial === this.serial);
      last = attached ? attached.state : 'not attached';
      if (attached?.state === 'device') {
        this.featuresCache = undefined;
        const booted = await this.shell('getprop sys.boot_completed', { timeoutMs: 5_000 }).catch(() => undefined);
        if (booted?.stdout.trim() === '1') return;
        last = 'booting';
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new ZlabError('device', `${this.serial} did not finish booting within ${Math.round(timeoutMs / 1000)} s (last state: ${last})`, { serial: this.serial });
  }

  /** Retry transport operations (never a command that may have run) on transient link errors. */
  private transport<T>(operation: string, fn: () => PromiseLike<T>): Promise<T> {
    return pRetry(async () => fn(), {
      retries: 3,
      minTimeout: 200,
      factor: 2,
      shouldRetry: ({ error }) => isTransient(error),
    }).catch((err: unknown) => {
      if (err instanceof ZlabError) throw err;
      throw new TransportError(this.serial, operation, err);
    });
  }
}

type PullStream = NodeJS.ReadableStream & { cancel(): unknown };

interface TransferLike {
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  cancel(): unknown;
}

function awaitTransfer(transfer: TransferLike, serial: string, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      transfer.cancel();
      reject(new DeviceTimeoutError(serial, what, timeoutMs, 'timeout'));
    }, timeoutMs);
    transfer.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    transfer.on('error', (err) => {
      clearTimeout(timer);
      reject(new ZlabError('device', `${serial}: ${what} failed: ${err.message}`, { serial }));
    });
  });
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
