import { beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { open, readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceAbi } from '../device/device.js';
import { buildWorkloadBinaries, hostRunner } from './device-binaries.js';
import { parseEaterSummary } from './eater-summary.js';

// The eater's x86_64 build runs on this host directly, the arm64 build under
// qemu-aarch64; small sizes keep both quick.
let bins: Awaited<ReturnType<typeof buildWorkloadBinaries>>;

beforeAll(async () => {
  bins = await buildWorkloadBinaries(['memeater']);
}, 120_000);

async function eat(abi: DeviceAbi, args: string[]) {
  const [cmd, pre] = hostRunner(abi, bins[abi].memeater);
  return execa(cmd, [...pre, ...args], { reject: false });
}

describe.each<DeviceAbi>(['x86_64', 'arm64-v8a'])('memeater (%s)', (abi) => {
  it('fills, re-touches and verifies every page, with the mix it was asked for', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zlab-eater-'));
    try {
      const summaryPath = join(dir, 'summary.json');
      const res = await eat(abi, [
        '--size-mib', '8', '--ratio', '3', '--zero-pct', '10', '--same-pct', '20', '--workers', '2',
        '--retouch', '2', '--file-mib', '1', '--file-path', join(dir, 'f'), '--no-oom-adj', '--summary', summaryPath, '--seed', '42',
      ]);
      expect(res.stderr).toContain('memeater: fill done, 2048 pages');
      expect(res.exitCode).toBe(0);
      const s = parseEaterSummary(res.stdout);
      expect(parseEaterSummary(await readFile(summaryPath, 'utf8'))).toEqual(s);
      expect(s.pages.written).toBe(2048);
      expect(s.pages.zero + s.pages.sameFilled + s.pages.data).toBe(2048);
      // 10 % and 20 % of 2048 pages, give or take sampling noise of the hash
      expect(s.pages.zero).toBeGreaterThan(150);
      expect(s.pages.zero).toBeLessThan(260);
      expect(s.pages.sameFilled).toBeGreaterThan(340);
      expect(s.pages.sameFilled).toBeLessThan(480);
      expect(s.pages.verified).toBe(2 * 2048);
      expect(s.corruptPages).toBe(0);
      expect(s.firstCorrupt).toEqual([]);
      expect(s.phases.map((p) => p.name)).toEqual(['file-create', 'fill', 'hold', 'retouch1', 'retouch2']);
      for (const p of s.phases) expect(p.endBoottimeNs).toBeGreaterThanOrEqual(p.startBoottimeNs);
      expect(s.file?.passes).toBeGreaterThanOrEqual(0);
      expect(s.oomScoreAdj).toEqual({ requested: null, applied: false, error: null });
      expect(s.errors).toEqual([]);
      // with no swap on this host nothing can be out in swap
      if ((await readFile('/proc/swaps', 'utf8')).trim().split('\n').length === 1 && abi === 'x86_64') {
        expect(s.swappedBeforeRetouch).toEqual({ zero: 0, sameFilled: 0, data: 0 });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('writes the same pages for the same seed and different pages for another', async () => {
    const one = parseEaterSummary((await eat(abi, ['--size-mib', '2', '--zero-pct', '30', '--same-pct', '30', '--retouch', '0', '--no-oom-adj', '--seed', '7'])).stdout);
    const two = parseEaterSummary((await eat(abi, ['--size-mib', '2', '--zero-pct', '30', '--same-pct', '30', '--retouch', '0', '--no-oom-adj', '--seed', '7'])).stdout);
    const other = parseEaterSummary((await eat(abi, ['--size-mib', '2', '--zero-pct', '30', '--same-pct', '30', '--retouch', '0', '--no-oom-adj', '--seed', '8'])).stdout);
    expect(two.pages).toEqual(one.pages);
    expect(other.pages.zero === one.pages.zero && other.pages.sameFilled === one.pages.sameFilled).toBe(false);
  }, 60_000);

  it.each([
    [['--size-mib', '0'], /--size-mib: "0" is not a whole number/],
    [['--size-mib', '4', '--ratio', '0.5'], /--ratio: "0.5"/],
    [['--size-mib', '4', '--rate-mibps', '-1'], /--rate-mibps: "-1"/],
    [['--size-mib', '4', '--zero-pct', '70', '--same-pct', '40'], /more than 100/],
    [['--size-mib', '4', '--pattern', 'x'], /usage: memeater/],
    [['--ratio', '2'], /--size-mib is required/],
    [['--size-mib', '4', '--file-mib', '2'], /--file-mib needs --file-path/],
  ])('refuses %j with exit status 2', async (args, message) => {
    const res = await eat(abi, args);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe('');
  }, 30_000);
});

describe('memeater integrity check', () => {
  it('finds a page changed behind its back and reports its offset', async () => {
    const child = execa(bins.x86_64.memeater, ['--size-mib', '4', '--hold-ms', '3000', '--retouch', '1', '--no-oom-adj'], { reject: false });
    // wait for the fill to end, then change one byte of page 5 in the worker
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => (chunk.toString().includes('fill done') ? resolve() : undefined));
      child.once('exit', () => reject(new Error('the eater ended before the fill was done')));
    });
    const children = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim().split(/\s+/);
    expect(children).toHaveLength(1);
    const worker = children[0]!;
    const maps = (await readFile(`/proc/${worker}/maps`, 'utf8')).split('\n');
    const region = maps
      .map((line) => /^([0-9a-f]+)-([0-9a-f]+) rw-p /.exec(line))
      .find((m) => m && parseInt(m[2]!, 16) - parseInt(m[1]!, 16) === 4 * 1024 * 1024);
    expect(region).toBeTruthy();
    const address = parseInt(region![1]!, 16) + 5 * 4096 + 100;
    const mem = await open(`/proc/${worker}/mem`, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await mem.read(byte, 0, 1, address);
      byte[0] = byte[0]! ^ 0xff;
      await mem.write(byte, 0, 1, address);
    } finally {
      await mem.close();
    }
    const res = await child;
    expect(res.exitCode).toBe(1);
    const s = parseEaterSummary(res.stdout);
    expect(s.corruptPages).toBe(1);
    expect(s.pages.verified).toBe(1024);
    expect(s.firstCorrupt).toEqual([{ page: 5, offset: 5 * 4096, firstBadByte: 100 }]);
  }, 60_000);
});
