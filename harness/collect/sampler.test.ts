import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceAbi } from '../device/device.js';
import { buildWorkloadBinaries, hostRunner } from '../workload/device-binaries.js';
import { parseSamplerRecord } from './sampler-record.js';
import { checkValidity, fullWindow, windowDelta } from './series.js';

// The sampler's x86_64 build samples this host's own /proc and /sys; the
// arm64 build does the same under qemu-aarch64.
let bins: Awaited<ReturnType<typeof buildWorkloadBinaries>>;
let dir: string;

beforeAll(async () => {
  bins = await buildWorkloadBinaries(['sampler']);
  dir = await mkdtemp(join(tmpdir(), 'zlab-sampler-'));
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sample(abi: DeviceAbi, name: string, args: string[]) {
  const out = join(dir, name);
  const [cmd, pre] = hostRunner(abi, bins[abi].sampler);
  const res = await execa(cmd, [...pre, '--out', out, ...args]);
  return { res, text: await readFile(out, 'utf8') };
}

describe.each<DeviceAbi>(['x86_64', 'arm64-v8a'])('sampler (%s)', (abi) => {
  it('writes a self-describing record of this machine', async () => {
    const comm = (await readFile(`/proc/${process.pid}/comm`, 'utf8')).trim();
    const { text } = await sample(abi, `count-${abi}.rec`, ['--count', '4', '--period-ms', '20', '--comm', comm]);
    const rec = parseSamplerRecord(text);
    expect(rec.header.bootId).toBe((await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim());
    expect(rec.header.periodNs).toBe(20_000_000);
    expect(rec.header.comms).toEqual(['kswapd', 'kcompressd', comm]);
    expect(rec.tNs).toHaveLength(4);
    expect(rec.end).toMatchObject({ reason: 'count', samples: 4 });
    expect(rec.end!.scans).toBeGreaterThanOrEqual(1);
    expect(rec.truncated).toBe(false);
    // every vmstat line of this kernel is a column, with numbers in it
    const vmstatKeys = (await readFile('/proc/vmstat', 'utf8')).trim().split('\n').map((l) => `vmstat.${l.split(' ')[0]}`);
    for (const key of vmstatKeys) expect(rec.columns.has(key)).toBe(true);
    const pgfault = rec.columns.get('vmstat.pgfault')!;
    expect(pgfault.every((v) => v > 0)).toBe(true);
    // keyed values land in their own columns, as the kernel wrote them
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    for (const key of ['MemTotal', 'SwapTotal']) {
      const kb = Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(meminfo)![1]);
      expect([...rec.columns.get(`meminfo.${key}`)!]).toEqual([kb, kb, kb, kb]);
    }
    if (existsSync('/proc/pressure/memory')) {
      for (const field of ['some.avg10', 'some.total', 'full.avg300', 'full.total']) expect(rec.columns.get(`psi.${field}`)![0]).toBeGreaterThanOrEqual(0);
    }
    // this test's own process is tracked, thread by thread
    const mine = [...rec.threads.values()].filter((t) => t.pid === process.pid);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[0]!.tNs).toHaveLength(4);
    expect(checkValidity(rec).valid).toBe(true);
    expect(windowDelta(rec, 'vmstat.pgfault', fullWindow(rec))!.delta).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('records a source that is not there as missing and carries on', async () => {
    const { text } = await sample(abi, `sources-${abi}.rec`, ['--count', '2', '--period-ms', '10']);
    const rec = parseSamplerRecord(text);
    for (const source of rec.header.sources) {
      expect(source.ok).toBe(existsSync(source.path));
      const first = rec.header.columns.findIndex((c) => c.startsWith(`${source.name}.`));
      if (!source.ok && first >= 0) expect(Number.isNaN(rec.columns.get(rec.header.columns[first]!)![0]!)).toBe(true);
    }
    expect(rec.tNs).toHaveLength(2);
  }, 60_000);

  it('stops after a duration', async () => {
    const { text } = await sample(abi, `duration-${abi}.rec`, ['--duration-ms', '150', '--period-ms', '50']);
    const rec = parseSamplerRecord(text);
    expect(rec.end?.reason).toBe('duration');
    expect(rec.tNs.length).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it.each([
    [['--period-ms', '0'], /--period-ms: "0"/],
    [['--period-ms', 'fast'], /--period-ms: "fast"/],
    [['--comm', 'a-name-that-is-too-long'], /--comm: /],
    [['--bogus'], /usage: sampler/],
  ])('refuses %j', async (args, message) => {
    const [cmd, pre] = hostRunner(abi, bins[abi].sampler);
    const res = await execa(cmd, [...pre, '--out', join(dir, 'bad.rec'), ...args], { reject: false });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
  }, 30_000);
});

describe('thread discovery', () => {
  it('backs off while nothing new appears and still finds a process started later', async () => {
    // A process named after no other, started once the scan interval has grown;
    // it lives longer than the longest interval (4 s), so a scan must see it.
    const late = join(dir, 'zlab-late');
    await copyFile('/bin/sleep', late);
    const out = join(dir, 'late.rec');
    const sampler = execa(bins.x86_64.sampler, ['--out', out, '--period-ms', '20', '--scan-ms', '20', '--comm', 'zlab-late', '--duration-ms', '6500']);
    let child: ReturnType<typeof execa> | undefined;
    try {
      await new Promise((r) => setTimeout(r, 1500));
      child = execa(late, ['5'], { reject: false });
      await sampler;
    } finally {
      if (sampler.pid && sampler.exitCode === null) process.kill(sampler.pid, 'SIGTERM');
      if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      await child;
    }
    const rec = parseSamplerRecord(await readFile(out, 'utf8'));
    const found = [...rec.threads.values()].filter((t) => t.processComm === 'zlab-late');
    expect(found.map((t) => t.pid)).toEqual([child.pid]);
    expect(found[0]!.tNs.length).toBeGreaterThan(0);
    // every 20 ms without back-off: 325 scans in 6.5 s
    expect(rec.end!.scans).toBeGreaterThanOrEqual(2);
    expect(rec.end!.scans).toBeLessThan(40);
  }, 30_000);
});

describe('sampler as a daemon', () => {
  it('detaches, reports its pid and stops cleanly on SIGTERM', async () => {
    const out = join(dir, 'daemon.rec');
    const pidfile = join(dir, 'daemon.pid');
    const res = await execa(bins.x86_64.sampler, ['--daemon', '--out', out, '--pidfile', pidfile, '--period-ms', '20']);
    const pid = Number(res.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    try {
      // wait until at least two samples are on disk
      for (let i = 0; i < 200 && ((await readFile(out, 'utf8')).match(/^S /gm) ?? []).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 200 && existsSync(pidfile); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(pidfile)).toBe(false);
    const rec = parseSamplerRecord(await readFile(out, 'utf8'));
    expect(rec.end?.reason).toBe('SIGTERM');
    expect(rec.header.pid).toBe(pid);
    expect(rec.tNs.length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  // What the host starts after the sampler (the eater) must find the record
  // begun. Natively the first sample is quick enough to hide a wrong order;
  // under qemu-aarch64 it is not.
  it.each<DeviceAbi>(['x86_64', 'arm64-v8a'])('reports its pid only once the first sample is in the file (%s)', async (abi) => {
    const out = join(dir, `daemon-ready-${abi}.rec`);
    const [cmd, pre] = hostRunner(abi, bins[abi].sampler);
    const res = await execa(cmd, [...pre, '--daemon', '--out', out, '--period-ms', '600000']);
    const pid = Number(res.stdout.trim());
    try {
      expect(((await readFile(out, 'utf8')).match(/^S /gm) ?? []).length).toBe(1);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
  }, 30_000);

  it('fails with the reason when it stops before its first sample', async () => {
    const res = await execa(bins.x86_64.sampler, ['--daemon', '--out', join(dir, 'daemon-fails.rec'), '--pidfile', join(dir, 'no-such-dir', 'x.pid')], { reject: false });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/cannot write .*no-such-dir\/x\.pid/);
    expect(res.stderr).toMatch(/stopped before its first sample/);
  }, 30_000);
});

describe('record parsing', () => {
  let text: string;
  beforeAll(async () => {
    text = (await sample('x86_64', 'parse.rec', ['--count', '3', '--period-ms', '10'])).text;
  }, 30_000);

  it('drops a cut-off last line and says so', () => {
    const cut = text.slice(0, text.lastIndexOf('\nS ') + 40);
    const rec = parseSamplerRecord(cut);
    expect(rec.truncated).toBe(true);
    expect(rec.tNs).toHaveLength(2);
    expect(checkValidity(rec).warnings.join()).toMatch(/ends inside a line/);
  });

  it('names the line of a malformed record', () => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('S '));
    const withBadValue = [...lines];
    withBadValue[at] = withBadValue[at]!.replace(/ (\d+)$/, ' 12x');
    expect(() => parseSamplerRecord(withBadValue.join('\n'))).toThrow(new RegExp(`sampler record line ${at + 1}: .*not a number`));
    const short = [...lines];
    short[at] = short[at]!.replace(/ \S+$/, '');
    expect(() => parseSamplerRecord(short.join('\n'))).toThrow(/values for \d+ columns/);
    const stop = lines.findIndex((l) => l.startsWith('X '));
    const badStop = [...lines];
    badStop[stop] = badStop[stop]!.replace(/scans=\d+/, 'scans=many');
    expect(() => parseSamplerRecord(badStop.join('\n'))).toThrow(new RegExp(`sampler record line ${stop + 1}: a stop line needs`));
    const unknown = [...lines];
    unknown.splice(at, 0, 'Q 1 2 3');
    expect(() => parseSamplerRecord(unknown.join('\n'))).toThrow(/unknown record kind "Q"/);
    expect(() => parseSamplerRecord('hello\n')).toThrow(/header ends without "# end"/);
  });
});
