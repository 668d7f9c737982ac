import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, ZlabError } from '../util/errors.js';

/** A kernel the virtual device can boot, with the modules that belong to it (if any). */
export interface KernelChoice {
  /** Absolute path of the bzImage. */
  path: string;
  /** Release string from the image's header, e.g. `6.12.117+deb12-amd64`. */
  release: string;
  /** `/lib/modules/<release>` when it exists; a custom kernel may have none. */
  modulesDir: string | null;
}

// The x86 boot protocol header: "HdrS" at 0x202, the protocol version at
// 0x206 and, from 2.00 on, a pointer to the version string at 0x20E
// (relative to 0x200).
const HEADER_MAGIC_OFFSET = 0x202;
const HEADER_VERSION_OFFSET = 0x206;
const KERNEL_VERSION_POINTER = 0x20e;
const HEADER_BYTES = 0x8000;

/** Check that a file is an x86 bzImage and return its release string. */
export function readBzImageRelease(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`--kernel: ${path} does not exist`);
  }
  if (!st.isFile()) throw new UsageError(`--kernel: ${path} is not a file`);
  const head = Buffer.alloc(HEADER_BYTES);
  let length: number;
  try {
    const fd = openSync(path, 'r');
    try {
      length = readSync(fd, head, 0, HEADER_BYTES, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new UsageError(`--kernel: cannot read ${path}: ${(err as Error).message}`);
  }
  return parseBzImageHeader(head.subarray(0, length), path);
}

/** Parse the boot header of the first bytes of a bzImage (exported for tests). */
export function parseBzImageHeader(head: Buffer, name = 'image'): string {
  if (head.length < KERNEL_VERSION_POINTER + 2 || head.toString('latin1', HEADER_MAGIC_OFFSET, HEADER_MAGIC_OFFSET + 4) !== 'HdrS') {
    throw new UsageError(`--kernel: ${name} is not an x86 kernel image (no "HdrS" boot header at 0x202); give a bzImage`);
  }
  const protocol = head.readUInt16LE(HEADER_VERSION_OFFSET);
  if (protocol < 0x0200) {
    throw new UsageError(`--kernel: ${name} uses boot protocol ${protocol.toString(16)}, too old to boot with an initramfs`);
  }
  const pointer = head.readUInt16LE(KERNEL_VERSION_POINTER);
  const start = pointer + 0x200;
  if (pointer === 0 || start >= head.length) return 'unknown';
  const end = head.indexOf(0, start);
  const text = head.toString('latin1', start, end < 0 ? Math.min(head.length, start + 256) : end);
  const release = text.split(' ')[0] ?? '';
  return /^[A-Za-z0-9._+~-]+$/.test(release) ? release : 'unknown';
}

/** Compare kernel releases such as 6.12.9 and 6.12.117 by their numbers. */
export function compareReleases(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.localeCompare(b);
}

export interface KernelSearchRoots {
  bootDir?: string;
  modulesRoot?: string;
}

/**
 * The kernel to boot: the given bzImage, else the newest Debian 6.12 package
 * kernel whose modules are installed.
 */
export function selectKernel(kernelPath?: string, roots: KernelSearchRoots = {}): KernelChoice {
  const bootDir = roots.bootDir ?? '/boot';
  const modulesRoot = roots.modulesRoot ?? '/lib/modules';
  if (kernelPath !== undefined) {
    const release = readBzImageRelease(kernelPath);
    const modulesDir = join(modulesRoot, release);
    const hasModules = release !== 'unknown' && existsSync(join(modulesDir, 'modules.dep'));
    return { path: absolute(kernelPath), release, modulesDir: hasModules ? modulesDir : null };
  }
  const candidates = (existsSync(bootDir) ? readdirSync(bootDir) : [])
    .map((f) => /^vmlinuz-(6\.12\..*-amd64)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ path: join(bootDir, m[0]), release: m[1] as string }))
    .filter((k) => existsSync(join(modulesRoot, k.release, 'modules.dep')))
    .sort((x, y) => compareReleases(y.release, x.release));
  const best = candidates[0];
  if (!best) {
    throw new ZlabError(
      'infrastructure',
      `no Debian 6.12 kernel found (${bootDir}/vmlinuz-6.12.*-amd64 with ${modulesRoot}/<release>); ` +
        'install it with: apt-get install linux-image-6.12-amd64, or pass --kernel PATH',
    );
  }
  return { ...best, modulesDir: join(modulesRoot, best.release) };
}

function absolute(path: string): string {
  return path.startsWith('/') ? path : join(process.cwd(), path);
}
