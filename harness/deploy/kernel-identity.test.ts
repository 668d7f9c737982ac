import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { ZlabError } from '../util/errors.js';
import { describeIdentity, identityDifferences, kernelImageIdentity, parseProcVersion } from './kernel-identity.js';
import { KernelMismatchError, checkIdentity } from './verify.js';

const PROC =
  'Linux version 6.12.117+deb12-amd64 (debian-kernel@lists.debian.org) (x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2026-11-14)\n';

/** A minimal bzImage: "HdrS" at 0x202 and kernel_version (relative to 0x200) at 0x20e. */
function bzImage(version: string): Buffer {
  const buf = Buffer.alloc(0x1000);
  buf.write('HdrS', 0x202, 'latin1');
  buf.writeUInt16LE(0x600 - 0x200, 0x20e);
  buf.write(`${version}\0`, 0x600, 'latin1');
  return buf;
}

describe('kernel identity', () => {
  it('parses /proc/version with nested parentheses in the compiler', () => {
    expect(parseProcVersion(PROC)).toEqual({
      release: '6.12.117+deb12-amd64',
      builder: 'debian-kernel@lists.debian.org',
      compiler: 'x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40',
      buildNumber: 1,
      flags: ['SMP', 'PREEMPT_DYNAMIC'],
      timestamp: 'Debian 6.12.117-1~deb12u1 (2026-11-14)',
      source: 'proc-version',
    });
  });

  it('reads the version string from the bzImage setup header and matches the running kernel', () => {
    const header = kernelImageIdentity(bzImage('6.12.117+deb12-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2026-11-14)'));
    expect(header).toMatchObject({ source: 'bzimage-header', compiler: null, buildNumber: 1 });
    expect(identityDifferences(parseProcVersion(PROC), header)).toEqual([]);
  });

  it("reads Debian's installed kernel", () => {
    const name = readdirSync('/boot').find((f) => f.startsWith('vmlinuz-'));
    expect(name).toBeDefined();
    const identity = kernelImageIdentity(readFileSync(`/boot/${name}`));
    expect(identity.release).toBe(name!.slice('vmlinuz-'.length));
  });

  it('finds the banner in an arm64 Image, also gzip-compressed', () => {
    const image = Buffer.concat([Buffer.alloc(0x40), Buffer.from('ARMd'), Buffer.alloc(100), Buffer.from(`Linux version 6.6.50-android15 (build-user@build-host) (Android clang version 17.0.2, LLD 17.0.2) #3 SMP PREEMPT Tue Oct  1 10:00:00 UTC 2024\n`), Buffer.alloc(64)]);
    const plain = kernelImageIdentity(image);
    expect(plain).toMatchObject({ release: '6.6.50-android15', buildNumber: 3, flags: ['SMP', 'PREEMPT'], timestamp: 'Tue Oct 1 10:00:00 UTC 2024', compiler: 'Android clang version 17.0.2, LLD 17.0.2' });
    expect(kernelImageIdentity(gzipSync(image))).toEqual(plain);
  });

  it('refuses what has no banner, and a header without a version string', () => {
    expect(() => kernelImageIdentity(Buffer.alloc(4096, 7))).toThrow(/no "Linux version" banner/);
    const noVersion = bzImage('x');
    noVersion.writeUInt16LE(0, 0x20e);
    expect(() => kernelImageIdentity(noVersion)).toThrow(/no kernel_version/);
    expect(() => parseProcVersion('hello')).toThrow(ZlabError);
  });

  it('a different build number or timestamp is a mismatch naming both identities', () => {
    const running = parseProcVersion(PROC);
    const other = kernelImageIdentity(bzImage('6.12.117+deb12-amd64 (debian-kernel@lists.debian.org) #2 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2026-11-15)'));
    expect(identityDifferences(running, other)).toEqual(['build number', 'timestamp']);
    let error: unknown;
    try {
      checkIdentity(running, other);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KernelMismatchError);
    expect((error as Error).message).toContain(describeIdentity(running));
    expect((error as Error).message).toContain(describeIdentity(other));
    expect((error as Error).message).toMatch(/build number, timestamp differ/);
  });
});
