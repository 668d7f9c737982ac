import { gunzipSync } from 'node:zlib';
import { ZlabError } from '../util/errors.js';

/**
 * Which kernel build this is, from the kernel's own banner. /proc/version is
 * `Linux version RELEASE (USER@HOST) (COMPILER) UTS_VERSION`, and UTS_VERSION
 * is `#N [SMP] [PREEMPT…] TIMESTAMP`. The x86 bzImage header carries the same
 * banner without the compiler, so the compiler is compared only when both
 * sides have it.
 */
export interface KernelIdentity {
  release: string;
  /** USER@HOST of the build. */
  builder: string | null;
  compiler: string | null;
  /** The `#N` build number. */
  buildNumber: number;
  /** SMP, PREEMPT, PREEMPT_DYNAMIC, PREEMPT_RT as given. */
  flags: string[];
  /** What follows the flags: the build timestamp (or a distribution's version and date). */
  timestamp: string;
  /** Where the identity was read from. */
  source: 'proc-version' | 'bzimage-header' | 'banner';
}

const FLAG = /^(SMP|PREEMPT_DYNAMIC|PREEMPT_RT|PREEMPT)$/;

/** Split `(a (b) c) (d) rest` into its leading balanced groups and the rest. */
function leadingGroups(text: string): { groups: string[]; rest: string } {
  const groups: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] !== '(') break;
    let depth = 0;
    const start = i;
    for (; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) break;
    }
    if (depth !== 0) break;
    groups.push(text.slice(start + 1, i));
    i++;
  }
  return { groups, rest: text.slice(i).trim() };
}

/** Parse a banner without its `Linux version ` prefix. */
export function parseKernelBanner(text: string, source: KernelIdentity['source']): KernelIdentity {
  const line = text.split('\n')[0]?.trim() ?? '';
  const space = line.indexOf(' ');
  const release = space < 0 ? line : line.slice(0, space);
  const { groups, rest } = leadingGroups(space < 0 ? '' : line.slice(space + 1));
  const uts = /^#(\d+)\s*(.*)$/.exec(rest);
  if (!release || !uts) throw new ZlabError('kernel', `not a kernel version banner: "${line.slice(0, 200)}"`);
  const words = (uts[2] ?? '').split(/\s+/).filter(Boolean);
  const flags: string[] = [];
  while (words.length && FLAG.test(words[0]!)) flags.push(words.shift()!);
  return {
    release,
    builder: groups[0] ?? null,
    compiler: groups.length > 1 ? groups[1]! : null,
    buildNumber: Number(uts[1]),
    flags,
    timestamp: words.join(' '),
    source,
  };
}

/** The running kernel's identity from the text of /proc/version. */
export function parseProcVersion(text: string): KernelIdentity {
  const match = /^Linux version (.*)$/m.exec(text);
  if (!match) throw new ZlabError('kernel', `/proc/version does not start with "Linux version": "${text.trim().slice(0, 200)}"`);
  return parseKernelBanner(match[1]!, 'proc-version');
}

function cString(buf: Buffer, offset: number, max = 512): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 ? Math.min(buf.length, offset + max) : Math.min(end, offset + max));
}

function bannerIn(buf: Buffer): string | null {
  const at = buf.indexOf('Linux version ');
  if (at < 0) return null;
  const end = buf.indexOf(0x0a, at);
  return buf.toString('latin1', at + 'Linux version '.length, end < 0 ? Math.min(buf.length, at + 600) : end);
}

/**
 * The identity of a kernel image: an x86 bzImage (its setup header points to
 * the version string: kernel_version at 0x20e, relative to 0x200, "HdrS" at
 * 0x202), an uncompressed arm64 Image or vmlinux (the `Linux version` banner),
 * or a gzip-compressed Image.
 */
export function kernelImageIdentity(kernel: Buffer): KernelIdentity {
  if (kernel.length >= 0x210 && kernel.toString('latin1', 0x202, 0x206) === 'HdrS') {
    const pointer = kernel.readUInt16LE(0x20e);
    const at = pointer + 0x200;
    if (pointer !== 0 && at < kernel.length) return parseKernelBanner(cString(kernel, at), 'bzimage-header');
    throw new ZlabError('kernel', 'the bzImage setup header has no kernel_version string');
  }
  let banner = bannerIn(kernel);
  if (banner === null && kernel[0] === 0x1f && kernel[1] === 0x8b) {
    let inflated: Buffer;
    try {
      inflated = gunzipSync(kernel);
    } catch (err) {
      throw new ZlabError('kernel', `the gzip-compressed kernel does not decompress: ${(err as Error).message}`);
    }
    banner = bannerIn(inflated);
  }
  if (banner === null) {
    throw new ZlabError('kernel', 'no "Linux version" banner in the kernel image (not a bzImage, an arm64 Image, a vmlinux or a gzip-compressed Image)');
  }
  return parseKernelBanner(banner, 'banner');
}

export function describeIdentity(id: KernelIdentity): string {
  const parts = [id.release, id.builder ? `(${id.builder})` : null, id.compiler ? `(${id.compiler})` : null, `#${id.buildNumber}`, ...id.flags, id.timestamp];
  return parts.filter(Boolean).join(' ');
}

/** The fields that differ; empty when the two are the same build. */
export function identityDifferences(running: KernelIdentity, expected: KernelIdentity): string[] {
  const differences: string[] = [];
  if (running.release !== expected.release) differences.push('release');
  if (running.builder !== null && expected.builder !== null && running.builder !== expected.builder) differences.push('builder');
  if (running.compiler !== null && expected.compiler !== null && running.compiler !== expected.compiler) differences.push('compiler');
  if (running.buildNumber !== expected.buildNumber) differences.push('build number');
  if (running.flags.join(' ') !== expected.flags.join(' ')) differences.push('flags');
  if (running.timestamp !== expected.timestamp) differences.push('timestamp');
  return differences;
}
