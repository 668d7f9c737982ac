import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Bump when the build pipeline changes what it produces from the same inputs
 * (configure steps, make variables, boot image layout): old builds stop being reused.
 */
export const BUILDER_VERSION = 1;

export interface HashedFile {
  name: string;
  sha256: string;
}

export type SourceIdentity =
  | { kind: 'tarball'; sha256: string }
  | { kind: 'git'; repository: string; commit: string };

/** Everything a kernel build depends on; equal inputs give an equal build. */
export interface BuildInputs {
  builder: number;
  recipe: string;
  arch: string;
  source: SourceIdentity;
  baseConfig: string;
  fragments: HashedFile[];
  patches: HashedFile[];
  compiler: string;
  cmdline: string;
}

/** JSON with keys sorted at every level, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The cache key of a build: the hash of its canonical inputs. */
export function inputHash(inputs: BuildInputs): string {
  return sha256(canonicalJson(inputs));
}

export function hashFile(path: string): HashedFile {
  return { name: basename(path), sha256: sha256(readFileSync(path)) };
}

/** Hash a large file (a source tarball) without reading it into memory at once. */
export async function hashLargeFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
