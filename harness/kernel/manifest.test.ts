import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ZlabError } from '../util/errors.js';
import { MANIFEST_FILE, type Manifest, readManifest, writeManifest } from './manifest.js';

const h = (c: string) => c.repeat(64);
const sample = (): Manifest => ({
  schema: 1,
  recipe: 'kcompressd-6.12',
  inputHash: h('1'),
  source: { kind: 'tarball', version: '6.12.117-1~deb12u1', kernelVersion: '6.12.117', location: '/usr/src/linux-source-6.12.tar.xz', sha256: h('2') },
  commit: null,
  baseConfig: 'tinyconfig',
  fragments: [{ name: 'virtual-device.config', sha256: h('3') }],
  patches: [{ name: '0001-mm-kcompressd.patch', sha256: h('4') }],
  configSha256: h('5'),
  compiler: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0',
  kbuild: { timestamp: 'Fri, 14 Nov 2025 12:00:00 GMT', user: 'zlab', host: 'zlab-111111111111' },
  kernelRelease: '6.12.117-kcompressd-6.12',
  cmdline: 'console=ttyS0',
  buildSeconds: 271.5,
  builtAt: '2026-11-26T06:00:00.000Z',
  outputs: {
    bzImage: { file: 'bzImage', sha256: h('6'), bytes: 1_500_000 },
    bootImage: { file: 'boot.img', sha256: h('7'), bytes: 1_502_000 },
    config: { file: 'config', sha256: h('5'), bytes: 30_000 },
  },
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-manifest-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('manifest', () => {
  it('round-trips and leaves no temporary file behind', () => {
    const path = writeManifest(dir, sample());
    expect(path).toBe(join(dir, MANIFEST_FILE));
    expect(readManifest(dir)).toEqual(sample());
    expect(JSON.parse(readFileSync(path, 'utf8')).recipe).toBe('kcompressd-6.12');
  });

  it('is absent for a build that never finished', () => {
    expect(readManifest(dir)).toBeUndefined();
  });

  it('refuses to write an incomplete manifest', () => {
    const bad = { ...sample(), configSha256: 'nothex' };
    expect(() => writeManifest(dir, bad)).toThrow();
    expect(readManifest(dir)).toBeUndefined();
  });

  it('names the problem in a damaged manifest', () => {
    writeFileSync(join(dir, MANIFEST_FILE), '{"schema":1,');
    expect(() => readManifest(dir)).toThrow(/not JSON.*delete .* to rebuild/);
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify({ ...sample(), outputs: {} }));
    expect(() => readManifest(dir)).toThrow(ZlabError);
    expect(() => readManifest(dir)).toThrow(/outputs\.bzImage/);
  });
});
