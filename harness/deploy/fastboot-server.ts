import { createServer, type Server, type Socket } from 'node:net';
import { BootImageError } from './bootimg-format.js';
import { parseBootImage } from './bootimg-reader.js';
import type { BootImage } from './bootimg-types.js';
import { SLOTS, SlotStore, type Slot, type SlotState } from './fastboot-slots.js';
import { UsageError, ZlabError } from '../util/errors.js';

/**
 * The virtual device's bootloader: fastboot over TCP on a loopback port.
 *
 * Wire format (AOSP fastboot/README.md, "TCP Protocol v1"): the host sends
 * "FB01", the device answers "FB01", then every message in either direction
 * is an 8-byte big-endian length followed by that many bytes. Replies start
 * with OKAY, FAIL, INFO or DATA. fastboot opens one connection per invocation.
 *
 * The server never touches a VM: it keeps A/B slots as files and reports what
 * the host asked for (reboot, one-shot boot, continue) through callbacks.
 */

export type RebootTarget = 'system' | 'bootloader';

export interface FastbootServerOptions {
  /** Directory holding boot_a.img, boot_b.img and the active slot. */
  dir: string;
  /** What `getvar product` answers; images are checked against it by the host. */
  product: string;
  /** Loopback only. */
  host?: '127.0.0.1';
  /** 0 or absent: any free port. */
  port?: number;
  serialno?: string;
  versionBootloader?: string;
  /** Largest single download accepted (default 256 MiB). */
  maxDownloadSize?: number;
  /** Size of each boot partition (default 64 MiB). */
  partitionSize?: number;
  /** `reboot` (target system) or `reboot-bootloader`; called after OKAY is sent. */
  onReboot?: (target: RebootTarget) => void;
  /** `boot`: boot this image once without flashing it. */
  onBoot?: (image: BootImage, bytes: Buffer) => void;
  /** `continue`: boot the active slot. */
  onContinue?: () => void;
  /** A callback above threw; by default the error is printed on stderr. */
  onError?: (err: unknown) => void;
}

export interface FastbootServer {
  readonly host: string;
  readonly port: number;
  /** Active slot and what each slot holds. */
  slotState(): SlotState;
  /** The commands received, oldest first (the last 1000; download payloads are not included). */
  readonly commands: readonly string[];
  /** Number of host connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_DOWNLOAD = 256 * 1024 * 1024;
const DEFAULT_PARTITION_SIZE = 64 * 1024 * 1024;
/** Commands are at most 64 bytes in the protocol; allow newer tools' 4096. */
const MAX_COMMAND = 4096;
const SPARSE_MAGIC = 0xed26ff3a;
const COMMAND_HISTORY = 1000;
const hex = (n: number) => `0x${n.toString(16)}`;

export async function startFastbootServer(options: FastbootServerOptions): Promise<FastbootServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new UsageError(`fastboot server: host ${String(host)} refused; the bootloader listens on 127.0.0.1 only`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.product)) {
    throw new UsageError(`fastboot server: product "${options.product}" must be 1-64 letters, digits, _ . -`);
  }
  const maxDownloadSize = options.maxDownloadSize ?? DEFAULT_MAX_DOWNLOAD;
  const partitionSize = options.partitionSize ?? DEFAULT_PARTITION_SIZE;
  const store = new SlotStore(options.dir);
  const commands: string[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();

  const variables = (): Array<[string, string]> => {
    const vars: Array<[string, string]> = [
      ['product', options.product],
      ['serialno', options.serialno ?? ''],
      ['version-bootloader', options.versionBootloader ?? 'zlab-vboot-1'],
      ['max-download-size', hex(maxDownloadSize)],
      ['is-userspace', 'no'],
      ['current-slot', store.active],
      ['slot-count', '2'],
      ['has-slot:boot', 'yes'],
    ];
    for (const slot of SLOTS) {
      vars.push([`partition-size:boot_${slot}`, hex(partitionSize)]);
      vars.push([`partition-type:boot_${slot}`, 'raw']);
      vars.push([`is-logical:boot_${slot}`, 'no']);
      vars.push([`slot-successful:${slot}`, 'yes']);
      vars.push([`slot-unbootable:${slot}`, 'no']);
    }
    return vars;
  };

  const runCallback = (action: () => void) => {
    try {
      action();
    } catch (err) {
      if (options.onError) options.onError(err);
      else process.stderr.write(`fastboot server: a callback failed: ${(err as Error).message}\n`);
    }
  };

  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    serveConnection(socket);
  });

  function serveConnection(socket: Socket): void {
    const input = new ByteQueue();
    let handshaken = false;
    let download: { size: number; chunks: Buffer[]; received: number } | null = null;
    let staged: Buffer | null = null;
    let after: (() => void) | null = null;

    const send = (text: string | Buffer) => {
      const payload = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
      const header = Buffer.alloc(8);
      header.writeBigUInt64BE(BigInt(payload.length));
      socket.write(Buffer.concat([header, payload]));
    };
    const okay = (text = '') => send(`OKAY${text}`);
    const fail = (text: string) => send(`FAIL${text}`);

    const validateImage = (data: Buffer, partition: string): BootImage | string => {
      if (data.length > partitionSize) {
        return `image is ${data.length} bytes, larger than partition ${partition} (${partitionSize} bytes)`;
      }
      if (data.length >= 4 && data.readUInt32LE(0) === SPARSE_MAGIC) {
        return 'sparse images are not accepted: send the boot image whole (it must fit max-download-size)';
      }
      try {
        return parseBootImage(data);
      } catch (err) {
        if (err instanceof BootImageError) return `not a valid boot image: ${err.message}`;
        throw err;
      }
    };

    const slotOf = (partition: string): Slot | null => {
      if (partition === 'boot') return store.active;
      const m = /^boot_([ab])$/.exec(partition);
      return m ? (m[1] as Slot) : null;
    };

    const handleCommand = (command: string) => {
      // Keep the recent history only: a bootloader may serve a VM for days.
      if (commands.length >= COMMAND_HISTORY) commands.shift();
      commands.push(command);
      const colon = command.indexOf(':');
      const verb = colon < 0 ? command : command.slice(0, colon);
      const arg = colon < 0 ? '' : command.slice(colon + 1);
      switch (verb) {
        case 'getvar': {
          if (arg === 'all') {
            for (const [name, value] of variables()) send(`INFO${name}:${value}`);
            return okay();
          }
          const found = variables().find(([name]) => name === arg);
          if (found) return okay(found[1]);
          if (arg.startsWith('has-slot:')) return okay('no');
          return fail(`unknown variable ${arg}`);
        }
        case 'download': {
          if (!/^[0-9a-fA-F]{8}$/.test(arg)) return fail(`download: "${arg}" is not an 8-digit hex size`);
          const size = parseInt(arg, 16);
          if (size === 0) return fail('download: size is 0');
          if (size > maxDownloadSize) return fail(`download: ${size} bytes exceeds max-download-size ${hex(maxDownloadSize)}`);
          staged = null;
          download = { size, chunks: [], received: 0 };
          return send(`DATA${arg.toLowerCase()}`);
        }
        case 'flash': {
          const slot = slotOf(arg);
          if (!slot) return fail(`flash: partition "${arg}" does not exist (boot, boot_a, boot_b)`);
          if (!staged) return fail('flash: no image downloaded on this connection');
          const checked = validateImage(staged, `boot_${slot}`);
          if (typeof checked === 'string') return fail(checked);
          store.store(slot, staged);
          return okay();
        }
        case 'erase': {
          const slot = slotOf(arg);
          if (!slot) return fail(`erase: partition "${arg}" does not exist (boot, boot_a, boot_b)`);
          store.erase(slot);
          return okay();
        }
        case 'boot': {
          if (!staged) return fail('boot: no image downloaded on this connection');
          const checked = validateImage(staged, 'boot');
          if (typeof checked === 'string') return fail(checked);
          const bytes = staged;
          after = () => options.onBoot?.(checked, bytes);
          return okay();
        }
        case 'set_active': {
          const m = /^_?([ab])$/.exec(arg);
          if (!m) return fail(`set_active: slot "${arg}" does not exist (a, b)`);
          store.setActive(m[1] as Slot);
          return okay();
        }
        case 'reboot':
          if (arg !== '' && arg !== 'bootloader') return fail(`reboot: target "${arg}" is not supported`);
          after = () => options.onReboot?.(arg === 'bootloader' ? 'bootloader' : 'system');
          return okay();
        case 'reboot-bootloader':
          after = () => options.onReboot?.('bootloader');
          return okay();
        case 'continue':
          after = () => options.onContinue?.();
          return okay();
        default:
          return fail(`unknown command ${command}`);
      }
    };

    const pump = () => {
      for (;;) {
        if (!handshaken) {
          const hello = input.take(4);
          if (!hello) return;
          if (!/^FB\d\d$/.test(hello.toString('latin1'))) return void socket.destroy();
          socket.write('FB01');
          handshaken = true;
          continue;
        }
        const header = input.peek(8);
        if (!header) return;
        const length = header.readBigUInt64BE();
        const limit = download ? download.size - download.received : MAX_COMMAND;
        if (length > BigInt(limit)) {
          fail(download ? `download: ${length} more bytes than announced` : `command of ${length} bytes is too long`);
          return void socket.end();
        }
        if (input.length < 8 + Number(length)) return;
        input.take(8);
        const payload = input.take(Number(length)) ?? Buffer.alloc(0);
        if (download) {
          download.chunks.push(payload);
          download.received += payload.length;
          if (download.received === download.size) {
            staged = Buffer.concat(download.chunks, download.size);
            download = null;
            okay();
          }
          continue;
        }
        try {
          handleCommand(payload.toString('latin1'));
        } catch (err) {
          fail(`internal error: ${(err as Error).message}`);
        }
        if (after) {
          const action = after;
          after = null;
          // Act once the reply has left, as a bootloader does before it reboots.
          socket.write(Buffer.alloc(0), () => setImmediate(() => runCallback(action)));
        }
      }
    };

    socket.on('data', (chunk: Buffer) => {
      input.push(chunk);
      pump();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new ZlabError('infrastructure', `fastboot server: cannot listen on ${host}:${options.port ?? 0}: ${err.message}`)),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new ZlabError('bug', 'fastboot server: no listening address');

  return {
    host,
    port: address.port,
    slotState: () => store.state(),
    commands,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Incoming bytes as a list of chunks, so a large download is copied once. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  peek(n: number): Buffer | null {
    if (this.length < n) return null;
    const parts: Buffer[] = [];
    let have = 0;
    for (const chunk of this.chunks) {
      if (have >= n) break;
      parts.push(chunk);
      have += chunk.length;
    }
    return (parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, have)).subarray(0, n);
  }

  take(n: number): Buffer | null {
    if (this.length < n) return null;
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.chunks[0] as Buffer;
      if (head.length <= need) {
        parts.push(head);
        this.chunks.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.chunks[0] = head.subarray(need);
        need = 0;
      }
    }
    this.length -= n;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }
}
