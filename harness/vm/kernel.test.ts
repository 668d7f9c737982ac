import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../util/errors.js';
import { compareReleases, parseBzImageHeader, readBzImageRelease, selectKernel } from './kernel.js';

/** The first bytes of a bzImage: boot header with a version string pointer. */
function fakeBzImage(release: string, protocol = 0x020f): Buffer {
  const image = Buffer.alloc(0x1000);
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(protocol, 0x206);
  image.writeUInt16LE(0x400 - 0x200, 0x20e);
  image.write(`${release} (builder@host) #1 SMP`, 0x400, 'latin1');
  return image;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-kernel-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('bzImage header', () => {
  it('reads the release string the header points at', () => {
    expect(parseBzImageHeader(fakeBzImage('6.12.9-zlab'))).toBe('6.12.9-zlab');
  });

  it('refuses a file without the HdrS magic, naming the file and the check', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'hello, this is not a kernel\n'.repeat(100));
    expect(() => readBzImageRelease(path)).toThrow(UsageError);
    expect(() => readBzImageRelease(path)).toThrow(/notes\.txt is not an x86 kernel image \(no "HdrS" boot header at 0x202\)/);
  });

  it('refuses /etc/hostname, a missing file and a directory', () => {
    expect(() => readBzImageRelease('/etc/hostname')).toThrow(/not an x86 kernel image/);
    expect(() => readBzImageRelease(join(dir, 'absent'))).toThrow(/absent does not exist/);
    expect(() => readBzImageRelease(dir)).toThrow(/is not a file/);
  });

  it('refuses a boot protocol older than 2.00', () => {
    expect(() => parseBzImageHeader(fakeBzImage('1.0', 0x0105))).toThrow(/boot protocol 105/);
  });

  it("reads Debian's installed kernel", () => {
    const debian = selectKernel();
    expect(readBzImageRelease(debian.path)).toBe(debian.release);
    expect(debian.release).toMatch(/^6\.12\.\d+.*-amd64$/);
  });
});

describe('kernel selection', () => {
  function install(release: string, withModules: boolean): void {
    writeFileSync(join(dir, 'boot', `vmlinuz-${release}`), fakeBzImage(release));
    if (withModules) {
      mkdirSync(join(dir, 'modules', release), { recursive: true });
      writeFileSync(join(dir, 'modules', release, 'modules.dep'), '');
    }
  }
  beforeEach(() => {
    mkdirSync(join(dir, 'boot'));
    mkdirSync(join(dir, 'modules'));
  });
  const roots = () => ({ bootDir: join(dir, 'boot'), modulesRoot: join(dir, 'modules') });

  it('picks the newest 6.12 kernel whose modules are installed', () => {
    install('6.12.9+deb12-amd64', true);
    install('6.12.41+deb12-amd64', true);
    install('6.12.100+deb12-amd64', false);
    install('6.1.0-30-amd64', true);
    const chosen = selectKernel(undefined, roots());
    expect(chosen.release).toBe('6.12.41+deb12-amd64');
    expect(chosen.modulesDir).toBe(join(dir, 'modules', '6.12.41+deb12-amd64'));
  });

  it('says how to get a kernel when none is installed', () => {
    install('6.12.100+deb12-amd64', false);
    expect(() => selectKernel(undefined, roots())).toThrow(/apt-get install linux-image-6.12-amd64/);
  });

  it('takes a custom kernel, with no modules when none match its release', () => {
    const custom = join(dir, 'bzImage');
    writeFileSync(custom, fakeBzImage('6.12.0-tiny'));
    expect(selectKernel(custom, roots())).toEqual({ path: custom, release: '6.12.0-tiny', modulesDir: null });
    install('6.12.0-tiny', true);
    expect(selectKernel(custom, roots()).modulesDir).toBe(join(dir, 'modules', '6.12.0-tiny'));
  });

  it('orders releases by their numbers', () => {
    expect(compareReleases('6.12.117+deb12-amd64', '6.12.9+deb12-amd64')).toBeGreaterThan(0);
    expect(compareReleases('6.12.9', '6.12.10')).toBeLessThan(0);
  });
});
