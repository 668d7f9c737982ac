import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { type BuildInputs, canonicalJson, hashFile, hashLargeFile, inputHash, sha256 } from './inputs.js';

const base = (): BuildInputs => ({
  builder: 1,
  recipe: 'stock-6.12',
  arch: 'x86_64',
  source: { kind: 'tarball', sha256: 'a'.repeat(64) },
  baseConfig: 'tinyconfig',
  fragments: [{ name: 'virtual-device.config', sha256: 'b'.repeat(64) }],
  patches: [],
  compiler: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0',
  cmdline: 'console=ttyS0',
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });
});

describe('inputHash', () => {
  it('does not depend on key order', () => {
    const a = base();
    const b = Object.fromEntries(Object.entries(base()).reverse()) as unknown as BuildInputs;
    expect(inputHash(b)).toBe(inputHash(a));
    expect(inputHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, (i: BuildInputs) => void]>([
    ['the source', (i) => (i.source = { kind: 'tarball', sha256: 'c'.repeat(64) })],
    ['a git commit', (i) => (i.source = { kind: 'git', repository: '/src/linux', commit: 'd'.repeat(40) })],
    ['a fragment', (i) => (i.fragments[0]!.sha256 = 'e'.repeat(64))],
    ['adding a patch', (i) => i.patches.push({ name: '0001-x.patch', sha256: 'f'.repeat(64) })],
    ['the compiler', (i) => (i.compiler = 'gcc 13')],
    ['the base config', (i) => (i.baseConfig = 'allnoconfig')],
    ['the command line', (i) => (i.cmdline = 'console=ttyS0 quiet')],
    ['the builder version', (i) => (i.builder = 2)],
  ])('changes with %s', (_what, change) => {
    const changed = base();
    change(changed);
    expect(inputHash(changed)).not.toBe(inputHash(base()));
  });

  it('depends on patch order', () => {
    const p1 = { name: '0001-a.patch', sha256: '1'.repeat(64) };
    const p2 = { name: '0002-b.patch', sha256: '2'.repeat(64) };
    expect(inputHash({ ...base(), patches: [p1, p2] })).not.toBe(inputHash({ ...base(), patches: [p2, p1] }));
  });
});

describe('file hashes', () => {
  it('hash a small and a large file the same way sha256sum does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlab-hash-'));
    try {
      const file = join(dir, '0001-demo.patch');
      writeFileSync(file, 'abc');
      const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
      expect(sha256('abc')).toBe(abc);
      expect(hashFile(file)).toEqual({ name: '0001-demo.patch', sha256: abc });
      const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a);
      writeFileSync(file, big);
      expect(await hashLargeFile(file)).toBe(sha256(big));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
