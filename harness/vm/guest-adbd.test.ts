/**
 * The guest adbd, run directly on this Linux host (its x86_64 build is a
 * static Linux binary) and driven by Debian's real adb and by adbkit through
 * a private adb server, exactly as they reach the virtual device.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import adbkit from '@devicefarmer/adbkit';
import { execa, type ResultPromise } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort, startAdbServer, type AdbServer } from '../device/adb-server.js';
import { shellCommand } from '../device/shell-quote.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scriptsDir = join(repoRoot, 'device-scripts');
const adbdX86 = join(scriptsDir, 'out', 'x86_64', 'adbd');
const adbdArm64 = join(scriptsDir, 'out', 'arm64-v8a', 'adbd');
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` until it returns a value other than undefined, or fail after `ms`. */
async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function sha256File(path: string): Promise<string> {
  return sha256(await readFile(path));
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Split a shell protocol byte stream into its packets. */
function shellPackets(data: Buffer): { stdout: string; stderr: string; exit: number | undefined } {
  let stdout = '';
  let stderr = '';
  let exit: number | undefined;
  let off = 0;
  while (off + 5 <= data.length) {
    const id = data[off]!;
    const len = data.readUInt32LE(off + 1);
    const payload = data.subarray(off + 5, off + 5 + len);
    if (payload.length < len) throw new Error('truncated shell packet');
    if (id === 1) stdout += payload.toString();
    else if (id === 2) stderr += payload.toString();
    else if (id === 3) exit = payload[0];
    off += 5 + len;
  }
  if (off !== data.length) throw new Error(`${data.length - off} trailing bytes after the last shell packet`);
  return { stdout, stderr, exit };
}

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

function zombieChildren(parent: number): number[] {
  const zombies: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === parent) zombies.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return zombies;
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

interface RunningAdbd {
  port: number;
  child: ResultPromise;
  pid: number;
  stderr: () => string;
}

async function startAdbd(work: string, port?: number): Promise<RunningAdbd> {
  port ??= await freeLoopbackPort();
  const args = [
    adbdX86,
    '--listen', `127.0.0.1:${port}`,
    '--props', join(work, 'props'),
    '--reboot-hook', join(work, 'reboot-hook'),
  ];
  const child = execa(args[0]!, args.slice(1), {
    reject: false,
    env: { ADBD_PATH_PREPEND: join(work, 'bin') },
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'ignore',
    buffer: false,
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await waitFor('adbd to listen', () => (log.includes('listening on') ? true : child.exitCode !== null ? false : undefined));
  if (!log.includes('listening on')) throw new Error(`adbd did not start: ${log}`);
  return { port, child, pid: child.pid!, stderr: () => log };
}

async function stopAdbd(adbd: RunningAdbd | undefined): Promise<void> {
  if (!adbd || adbd.child.exitCode !== null) return;
  adbd.child.kill('SIGTERM');
  const timer = setTimeout(() => adbd.child.kill('SIGKILL'), 5_000);
  await adbd.child;
  clearTimeout(timer);
}

describe('guest adbd', () => {
  let work: string;
  let server: AdbServer;
  let adbd: RunningAdbd;
  let serial: string;
  let client: ReturnType<typeof adbkit.Adb.createClient>;

  const adbTool = (args: string[], options: { input?: string | Buffer; timeout?: number } = {}) =>
    execa('adb', ['-P', String(server.port), ...args], { reject: false, timeout: options.timeout ?? 60_000, input: options.input });
  const adb = (args: string[], options: { input?: string | Buffer; timeout?: number } = {}) =>
    adbTool(['-s', serial, ...args], options);

  async function connect(port: number): Promise<string> {
    const target = `127.0.0.1:${port}`;
    // connect's exit status means nothing: the state in `adb devices` does
    await adbTool(['connect', target], { timeout: 15_000 });
    await waitFor(`${target} to be a device`, async () => {
      const { stdout } = await adbTool(['devices']);
      return stdout.split('\n').some((line) => line === `${target}\tdevice`) ? true : undefined;
    });
    return target;
  }

  beforeAll(async () => {
    await execa('make', ['-s', '-C', scriptsDir, 'out/x86_64/adbd', 'out/arm64-v8a/adbd']);
    work = mkdtempSync(join(tmpdir(), 'zlab-adbd-'));
    writeFileSync(
      join(work, 'props'),
      [
        '# as /etc/zlab/props on the virtual device',
        'ro.product.name=zlab_test',
        'ro.product.model=ZlabModel',
        'ro.product.device=bad:device',
        'ro.build.type=userdebug',
        '',
      ].join('\n'),
    );
    writeFileSync(join(work, 'reboot-hook'), `#!/bin/sh\necho "[$1]" >> ${shellCommand([join(work, 'reboots')])}\n`);
    await chmod(join(work, 'reboot-hook'), 0o755);
    const bin = join(work, 'bin');
    await execa('mkdir', ['-p', bin, join(work, 'files')]);
    writeFileSync(
      join(bin, 'getprop'),
      '#!/bin/sh\nprintf \'[%s]: [%s]\\n\' ro.product.model ZlabModel ro.product.name zlab_test sys.boot_completed 1\n',
    );
    await chmod(join(bin, 'getprop'), 0o755);

    adbd = await startAdbd(work);
    server = await startAdbServer();
    serial = await connect(adbd.port);
    client = adbkit.Adb.createClient({ port: server.port });
  }, 120_000);

  afterAll(async () => {
    await stopAdbd(adbd);
    if (adbd) expect(adbd.child.exitCode).toBe(0);
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('is listed as a device with the banner built from the props file', async () => {
    const { stdout } = await adbTool(['devices', '-l']);
    const line = stdout.split('\n').find((l) => l.startsWith(serial));
    expect(line).toMatch(/\sdevice\s/);
    expect(line).toContain('product:zlab_test');
    expect(line).toContain('model:ZlabModel');
    // a value holding ':' would break the banner: it is dropped, not sent
    expect(line).not.toContain('device:bad');
  });

  it('returns the exit status of a command', async () => {
    const result = await adb(['shell', 'exit 7']);
    expect(result.exitCode).toBe(7);
    expect((await adb(['shell', 'true'])).exitCode).toBe(0);
    // a command killed by a signal reports 128 + the signal, as a shell does
    expect((await adb(['shell', 'kill -9 $$'])).exitCode).toBe(137);
  });

  it('keeps stdout and stderr apart', async () => {
    const result = await adb(['shell', 'echo to-out; echo to-err >&2; exit 3']);
    expect(result.stdout).toBe('to-out');
    expect(result.stderr).toBe('to-err');
    expect(result.exitCode).toBe(3);
  });

  it('passes stdin to a command and ends it with the input', async () => {
    const result = await adb(['shell', 'cat'], { input: 'data' });
    expect(result.stdout).toBe('data');
    expect(result.exitCode).toBe(0);
  });

  it('runs commands with a sane environment', async () => {
    const result = await adb(['shell', 'echo "$PATH"; pwd; echo "$HOME"']);
    const [path, cwd, home] = result.stdout.split('\n');
    expect(path).toBe(`${join(work, 'bin')}:/sbin:/bin:/usr/sbin:/usr/bin:/system/bin`);
    expect(cwd).toBe('/');
    expect(home).toBe('/');
    // nothing of adbd's (host connection, other streams) leaks into a command
    const fds = await adb(['shell', 'ls /proc/$$/fd']);
    expect(fds.stdout.split(/\s+/)).toEqual(['0', '1', '2']);
  });

  it('shields itself from the OOM killer but not the commands it runs', async () => {
    const own = readFileSync(`/proc/${adbd.pid}/oom_score_adj`, 'utf8').trim();
    // lowering the score takes CAP_SYS_RESOURCE (bit 24), which some containers withhold
    const capEff = /CapEff:\s+([0-9a-f]+)/.exec(readFileSync(`/proc/${adbd.pid}/status`, 'utf8'))?.[1] ?? '0';
    if ((BigInt(`0x${capEff}`) >> 24n) & 1n) expect(own).toBe('-1000');
    else expect(adbd.stderr()).toMatch(/cannot shield adbd from the OOM killer \(needs CAP_SYS_RESOURCE\): Permission denied/);
    expect((await adb(['shell', 'cat /proc/$$/oom_score_adj'])).stdout).toBe('0');
  });

  it('accepts a long command line', async () => {
    const word = 'x'.repeat(30_000);
    const result = await adb(['shell', `echo ${word} | wc -c`]);
    expect(result.stdout.trim()).toBe('30001');
  });

  it('pushes and pulls a 32 MiB file unchanged with the adb tool', async () => {
    const local = join(work, 'random.bin');
    const data = randomBytes(32 * MiB);
    writeFileSync(local, data);
    const remote = join(work, 'files', 'pushed-by-adb.bin');
    const push = await adb(['push', local, remote], { timeout: 120_000 });
    expect(push.exitCode).toBe(0);
    expect(await sha256File(remote)).toBe(sha256(data));
    const back = join(work, 'pulled-by-adb.bin');
    const pull = await adb(['pull', remote, back], { timeout: 120_000 });
    expect(pull.exitCode).toBe(0);
    expect(await sha256File(back)).toBe(sha256(data));
  }, 180_000);

  it('keeps the mode and mtime that push sends', async () => {
    const local = join(work, 'script.sh');
    writeFileSync(local, '#!/bin/sh\necho hi\n');
    await chmod(local, 0o750);
    await execa('touch', ['-d', '2020-01-02T03:04:05Z', local]);
    const remote = join(work, 'files', 'nested', 'dir', 'script.sh');
    expect((await adb(['push', local, remote])).exitCode).toBe(0);
    const { stdout } = await adb(['shell', shellCommand(['stat', '-c', '%a %Y', remote])]);
    expect(stdout).toBe(`750 ${Date.parse('2020-01-02T03:04:05Z') / 1000}`);
  });

  it('fails a pull of a missing file with a message', async () => {
    const result = await adb(['pull', join(work, 'files', 'no-such-file'), join(work, 'never')]);
    expect(result.exitCode).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/no-such-file.*No such file or directory/);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('lists a directory with shell ls and with sync LIST', async () => {
    const dir = join(work, 'listing');
    await execa('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'eleven-byte'), 'hello world');
    const shellLs = await adb(['shell', shellCommand(['ls', dir])]);
    expect(shellLs.stdout.split('\n')).toEqual(['eleven-byte']);
    const syncLs = await adb(['ls', dir]);
    expect(syncLs.exitCode).toBe(0);
    // mode size mtime name, in hex
    expect(syncLs.stdout).toMatch(/^000081a4 0000000b [0-9a-f]{8} eleven-byte$/m);
    expect(syncLs.stdout).toMatch(/^000041[0-9a-f]{2} [0-9a-f]{8} [0-9a-f]{8} \.$/m);
  });

  it('answers root: as a daemon that is root already', async () => {
    const result = await adb(['root']);
    expect(result.stdout).toContain('adbd is already running as root');
  });

  it('runs the reboot hook with the target once the request is answered', async () => {
    const reboots = join(work, 'reboots');
    expect((await adb(['reboot', 'bootloader'])).exitCode).toBe(0);
    await waitFor('the hook to record bootloader', () => (existsSync(reboots) ? true : undefined));
    expect(readFileSync(reboots, 'utf8')).toBe('[bootloader]\n');
    expect((await adb(['reboot'])).exitCode).toBe(0);
    await waitFor('the hook to record a plain reboot', () =>
      readFileSync(reboots, 'utf8').split('\n').length > 2 ? true : undefined,
    );
    expect(readFileSync(reboots, 'utf8')).toBe('[bootloader]\n[]\n');
    // adbd itself stays up: a reboot is the hook's business
    expect((await adb(['shell', 'echo still-here'])).stdout).toBe('still-here');
  });

  it('runs several shells at once over one connection, with a push alongside', async () => {
    const local = join(work, 'concurrent.bin');
    const data = randomBytes(8 * MiB);
    writeFileSync(local, data);
    const remote = join(work, 'files', 'concurrent.bin');
    const shells = Array.from({ length: 6 }, (_, i) => adb(['shell', `sleep 1; echo shell-${i}; exit ${i}`]));
    const push = adb(['push', local, remote]);
    const results = await Promise.all(shells);
    results.forEach((result, i) => {
      expect(result.stdout).toBe(`shell-${i}`);
      expect(result.exitCode).toBe(i);
    });
    expect((await push).exitCode).toBe(0);
    expect(await sha256File(remote)).toBe(sha256(data));
  }, 60_000);

  it('hangs up the whole command when the host closes its stream', async () => {
    const running = execa('adb', ['-P', String(server.port), '-s', serial, 'shell', 'sleep 1000 & echo $!; exec sleep 1001'], {
      reject: false,
      buffer: false,
    });
    let out = '';
    running.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const background = await waitFor('the background pid', () => (/^\d+\n/.test(out) ? Number(out.trim()) : undefined));
    const foreground = await waitFor('the foreground sleep', () => {
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === 'sleep\u00001001\u0000') return Number(name);
        } catch {
          // gone meanwhile
        }
      }
      return undefined;
    });
    expect(processState(background)).toBeDefined();
    running.kill('SIGKILL'); // the adb client dies: the server closes the stream
    await running;
    await waitFor('both sleeps to end', () =>
      processState(background) === undefined && processState(foreground) === undefined ? true : undefined,
    );
  }, 30_000);

  it('kills a command that ignores the hang-up', async () => {
    // shell protocol: the v2 child escalates itself
    const running = execa('adb', ['-P', String(server.port), '-s', serial, 'shell', 'trap "" HUP; echo $$; exec sleep 1002'], {
      reject: false,
      buffer: false,
    });
    let out = '';
    running.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const v2Pid = await waitFor('the v2 command pid', () => (/^\d+\n/.test(out) ? Number(out.trim()) : undefined));
    running.kill('SIGKILL');
    await running;
    // raw shell: no protocol child in between, adbd's own SIGKILL does it
    const raw = await client.getDevice(serial).openLocal('shell:trap "" HUP; echo $$; exec sleep 1003');
    const rawPid = await new Promise<number>((resolve) => raw.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    raw.destroy();
    await waitFor('both commands to be killed', () =>
      processState(v2Pid) === undefined && processState(rawPid) === undefined ? true : undefined,
    );
  }, 30_000);

  it('leaves no zombie and no open descriptor behind', async () => {
    await waitFor('idle streams', () => (zombieChildren(adbd.pid).length === 0 ? true : undefined));
    const before = fdCount(adbd.pid);
    const file = join(work, 'files', 'fd-check.txt');
    writeFileSync(file, 'x'.repeat(1000));
    for (let i = 0; i < 5; i++) {
      await adb(['shell', 'echo a; echo b >&2; exit 1']);
      await adb(['pull', file, join(work, 'fd-check.out')]);
      await adb(['push', file, join(work, 'files', 'fd-check.copy')]);
      await adb(['shell', 'sleep 0.2 &']);
      await adb(['reboot', 'fd-check']);
      const device = client.getDevice(serial);
      await readStream(await device.shell('echo raw'));
    }
    await waitFor('descriptors back to the baseline', () => (fdCount(adbd.pid) === before ? true : undefined));
    await waitFor('children reaped', () => (zombieChildren(adbd.pid).length === 0 ? true : undefined));
    expect(fdCount(adbd.pid)).toBe(before);
  }, 60_000);

  describe('through adbkit', () => {
    /** Memory held along the path: adbd plus the adb server that relays for adbkit. */
    const heldKiB = () => rssKiB(adbd.pid) + rssKiB(server.pid);

    it('reads properties with getProperties()', async () => {
      const props = await client.getDevice(serial).getProperties();
      expect(props['ro.product.model']).toBe('ZlabModel');
    });

    it('pushes and pulls a 32 MiB file unchanged', async () => {
      const device = client.getDevice(serial);
      const local = join(work, 'random-adbkit.bin');
      const data = randomBytes(32 * MiB);
      writeFileSync(local, data);
      const remote = join(work, 'files', 'pushed-by-adbkit.bin');
      const transfer = await device.push(createReadStream(local), remote);
      await new Promise<void>((resolve, reject) => {
        transfer.on('end', resolve);
        transfer.on('error', reject);
      });
      expect(await sha256File(remote)).toBe(sha256(data));
      const pulled = await readStream(await device.pull(remote));
      expect(sha256(pulled)).toBe(sha256(data));
    }, 120_000);

    it('reports a pull of a missing file as an error', async () => {
      const transfer = await client.getDevice(serial).pull(join(work, 'files', 'missing'));
      // adbkit ends the stream first and emits the FAIL message as an error after it
      const error = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the pull of a missing file did not fail')), 10_000);
        transfer.on('error', (err: unknown) => {
          clearTimeout(timer);
          resolve(err);
        });
        transfer.resume();
      });
      expect(String(error)).toMatch(/open failed: No such file or directory/);
    });

    it('speaks the shell protocol on openLocal("shell,v2,raw:…")', async () => {
      const stream = await client.getDevice(serial).openLocal('shell,v2,raw:echo out; echo err >&2; exit 5');
      const packets = shellPackets(await readStream(stream));
      expect(packets).toEqual({ stdout: 'out\n', stderr: 'err\n', exit: 5 });
    });

    it('gives a command stdin and closes it on a close-stdin packet', async () => {
      const stream = await client.getDevice(serial).openLocal('shell,v2,raw:wc -c');
      const input = Buffer.alloc(300_000, 7);
      const header = Buffer.alloc(5);
      header[0] = 0;
      header.writeUInt32LE(input.length, 1);
      stream.write(Buffer.concat([header, input, Buffer.from([4, 0, 0, 0, 0])]));
      const packets = shellPackets(await readStream(stream));
      expect(packets.stdout.trim()).toBe('300000');
      expect(packets.exit).toBe(0);
    });

    it('applies window-size packets to a shell,v2,pty: session', async () => {
      const stream = await client.getDevice(serial).openLocal('shell,v2,TERM=xterm,pty:');
      const packet = (id: number, text: string) => {
        const header = Buffer.alloc(5);
        header[0] = id;
        header.writeUInt32LE(Buffer.byteLength(text), 1);
        return Buffer.concat([header, Buffer.from(text)]);
      };
      stream.write(Buffer.concat([packet(5, '33x101,0x0'), packet(0, 'stty size; echo "term=$TERM"; exit 4\n')]));
      const packets = shellPackets(await readStream(stream));
      // the shell's prompt may land before the answer, after the echoed input
      expect(packets.stdout).toMatch(/(?:^|\s)33 101\r?$/m);
      expect(packets.stdout).toMatch(/(?:^|\s)term=xterm\r?$/m);
      expect(packets.stderr).toBe(''); // a pty has one output: everything is stdout
      expect(packets.exit).toBe(4);
    });

    it('reads file status and directories with adbkit stat() and readdir()', async () => {
      const device = client.getDevice(serial);
      const file = join(work, 'files', 'stat-me.txt');
      writeFileSync(file, '12345');
      const stats = await device.stat(file);
      expect(stats.size).toBe(5);
      expect(stats.isFile()).toBe(true);
      const entries = await device.readdir(join(work, 'files'));
      expect(entries.map((e: { name: string }) => e.name)).toContain('stat-me.txt');
    });

    it('runs an interactive shell on a pty for shell: with no command', async () => {
      const stream = await client.getDevice(serial).openLocal('shell:');
      stream.write('tty; echo "answer=$((6*7))"; exit\n');
      const output = (await readStream(stream)).toString();
      expect(output).toContain('answer=42');
      expect(output).toMatch(/\/dev\/pts\/\d+/);
    });

    it('passes binary data both ways through exec:', async () => {
      const stream = await client.getDevice(serial).openLocal('exec:head -c 65536');
      const data = randomBytes(65536);
      stream.write(data);
      const back = await readStream(stream);
      expect(sha256(back)).toBe(sha256(data));
    });

    it('refuses an unknown service', async () => {
      await expect(client.getDevice(serial).openLocal('no-such-service:')).rejects.toThrow();
    });

    it('holds a host writer back while the command does not read', async () => {
      const go = join(work, 'go-write');
      const total = 64 * MiB;
      const stream: Duplex = await client
        .getDevice(serial)
        .openLocal(`exec:while [ ! -e ${shellCommand([go])} ]; do sleep 0.1; done; head -c ${total} | wc -c`);
      const baseline = heldKiB();
      const chunk = Buffer.alloc(MiB, 1);
      for (let i = 0; i < total / MiB; i++) stream.write(chunk);
      await sleep(1_500);
      // without back-pressure adbd would have taken most of the 64 MiB by now
      expect(heldKiB() - baseline).toBeLessThan(8 * 1024);
      writeFileSync(go, '');
      const output = (await readStream(stream)).toString();
      expect(output.trim()).toBe(String(total));
    }, 60_000);

    it('holds a command back while the host does not read', async () => {
      const total = 64 * MiB;
      const stream = await client.getDevice(serial).openLocal(`exec:head -c ${total} /dev/zero`);
      stream.pause();
      const baseline = heldKiB();
      await sleep(1_500);
      // one WRTE in flight: neither adbd nor the adb server piles the output up
      expect(heldKiB() - baseline).toBeLessThan(8 * 1024);
      let received = 0;
      for await (const chunk of stream) received += (chunk as Buffer).length;
      expect(received).toBe(total);
    }, 60_000);
  });

  it('runs a command on a pty for adb shell -t', async () => {
    const result = await adb(['shell', '-t', '-t', 'tty; exit 2']);
    expect(result.stdout).toMatch(/^\/dev\/pts\/\d+\r?$/);
    expect(result.exitCode).toBe(2);
  });

  it('drops a peer that sends garbage and keeps serving', async () => {
    const { connect: tcpConnect } = await import('node:net');
    const socket = tcpConnect(adbd.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(Buffer.alloc(64, 0x41));
    await closed; // adbd hangs up on a message whose magic is wrong
    expect(adbd.stderr()).toMatch(/malformed message/);
    expect((await adb(['shell', 'echo alive'])).stdout).toBe('alive');
  });

  it('serves two adb servers at once', async () => {
    const second = await startAdbServer();
    try {
      const target = `127.0.0.1:${adbd.port}`;
      await execa('adb', ['-P', String(second.port), 'connect', target], { reject: false, timeout: 15_000 });
      await waitFor('the second server to see a device', async () => {
        const { stdout } = await execa('adb', ['-P', String(second.port), 'devices'], { reject: false });
        return stdout.split('\n').includes(`${target}\tdevice`) ? true : undefined;
      });
      const [first, other] = await Promise.all([
        adb(['shell', 'echo one']),
        execa('adb', ['-P', String(second.port), '-s', target, 'shell', 'echo two'], { reject: false }),
      ]);
      expect(first.stdout).toBe('one');
      expect(other.stdout).toBe('two');
    } finally {
      await second.stop();
    }
  }, 30_000);

  it('serves a host that disconnects and connects again', async () => {
    await adbTool(['disconnect', serial]);
    await waitFor('the old connection to close', () => (/host disconnected/.test(adbd.stderr()) ? true : undefined));
    await connect(adbd.port);
    expect((await adb(['shell', 'echo again'])).stdout).toBe('again');
  }, 30_000);

  it('is found again by the adb server after adbd restarts', async () => {
    await stopAdbd(adbd);
    expect(adbd.child.exitCode).toBe(0);
    adbd = await startAdbd(work, adbd.port);
    // no `adb connect`: the server notices the dropped link and reconnects by itself
    await waitFor(`${serial} to come back`, async () => {
      const { stdout } = await adbTool(['devices']);
      return stdout.split('\n').includes(`${serial}\tdevice`) ? true : undefined;
    }, 45_000);
    expect((await adb(['shell', 'echo back'])).stdout).toBe('back');
  }, 60_000);
});

describe('adbd command line', () => {
  it('prints its usage for --help', async () => {
    const result = await execa(adbdX86, ['--help']);
    expect(result.stdout).toMatch(/^usage: adbd \[--listen ADDR:PORT\] \[--props FILE\] \[--reboot-hook PATH\] \[--shell PATH\]/);
  });

  it('rejects bad arguments with a message naming them', async () => {
    const unknown = await execa(adbdX86, ['--frobnicate'], { reject: false });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown argument "--frobnicate"');
    const listen = await execa(adbdX86, ['--listen', 'localhost'], { reject: false });
    expect(listen.exitCode).toBe(2);
    expect(listen.stderr).toContain('--listen: "localhost" is not ADDR:PORT');
    const shell = await execa(adbdX86, ['--shell', '/no/such/shell'], { reject: false });
    expect(shell.exitCode).toBe(2);
    expect(shell.stderr).toContain('--shell: "/no/such/shell" is not an executable file');
    const missing = await execa(adbdX86, ['--props'], { reject: false });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('--props needs a value');
  });

  it('builds for arm64 and starts under qemu-aarch64-static', async () => {
    await execa('make', ['-s', '-C', scriptsDir, 'out/arm64-v8a/adbd']);
    const elf = readFileSync(adbdArm64);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(183); // e_machine: EM_AARCH64
    // static: no program header asks for an interpreter (PT_INTERP = 3)
    const phoff = Number(elf.readBigUInt64LE(32));
    const phentsize = elf.readUInt16LE(54);
    const phnum = elf.readUInt16LE(56);
    const types = Array.from({ length: phnum }, (_, i) => elf.readUInt32LE(phoff + i * phentsize));
    expect(types).not.toContain(3);
    const result = await execa('qemu-aarch64-static', [adbdArm64, '--help']);
    expect(result.stdout).toMatch(/^usage: adbd /);
  }, 60_000);

  it('serves adb from the arm64 build under qemu-aarch64-static', async () => {
    const work = mkdtempSync(join(tmpdir(), 'zlab-adbd-arm64-'));
    const port = await freeLoopbackPort();
    writeFileSync(join(work, 'props'), 'ro.product.model=ZlabArm\n');
    const adbdArm = execa(
      'qemu-aarch64-static',
      [adbdArm64, '--listen', `127.0.0.1:${port}`, '--props', join(work, 'props'), '--reboot-hook', '/bin/true'],
      { reject: false, stdin: 'ignore', stdout: 'ignore', buffer: false },
    );
    let server: AdbServer | undefined;
    try {
      server = await startAdbServer();
      const adbArgs = ['-P', String(server.port)];
      const target = `127.0.0.1:${port}`;
      await waitFor('the arm64 adbd to be a device', async () => {
        await execa('adb', [...adbArgs, 'connect', target], { reject: false, timeout: 15_000 });
        const { stdout } = await execa('adb', [...adbArgs, 'devices'], { reject: false });
        return stdout.split('\n').includes(`${target}\tdevice`) ? true : undefined;
      }, 30_000);
      const exit = await execa('adb', [...adbArgs, '-s', target, 'shell', 'echo arm; exit 7'], { reject: false });
      expect(exit.stdout).toBe('arm');
      expect(exit.exitCode).toBe(7);
      const data = randomBytes(MiB);
      writeFileSync(join(work, 'in.bin'), data);
      await execa('adb', [...adbArgs, '-s', target, 'push', join(work, 'in.bin'), join(work, 'pushed.bin')]);
      expect(await sha256File(join(work, 'pushed.bin'))).toBe(sha256(data));
    } finally {
      adbdArm.kill('SIGTERM');
      await adbdArm;
      await server?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
