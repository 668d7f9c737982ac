import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ZlabError } from '../util/errors.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const hashedFile = z.strictObject({ name: z.string().min(1), sha256: hex64 });
const output = z.strictObject({ file: z.string().min(1), sha256: hex64, bytes: z.number().int().positive() });

/** What a build was made from and what it made; written next to its outputs. */
export const manifestSchema = z.strictObject({
  schema: z.literal(1),
  recipe: z.string().min(1),
  inputHash: hex64,
  source: z.strictObject({
    kind: z.enum(['tarball', 'git']),
    /** Debian package version, or the git commit. */
    version: z.string().min(1),
    /** `make kernelversion` of the tree, e.g. 6.12.117. */
    kernelVersion: z.string().min(1),
    location: z.string().min(1),
    sha256: hex64.optional(),
  }),
  /** The git commit the source came from; null for a tarball. */
  commit: z.string().regex(/^[0-9a-f]{40}$/).nullable(),
  baseConfig: z.string().min(1),
  fragments: z.array(hashedFile),
  patches: z.array(hashedFile),
  /** sha256 of the final .config. */
  configSha256: hex64,
  compiler: z.string().min(1),
  kbuild: z.strictObject({ timestamp: z.string().min(1), user: z.string().min(1), host: z.string().min(1) }),
  /** `uname -r` the kernel will report. */
  kernelRelease: z.string().min(1),
  cmdline: z.string(),
  buildSeconds: z.number().nonnegative(),
  builtAt: z.string().datetime(),
  outputs: z.strictObject({ bzImage: output, bootImage: output, config: output }),
});

export type Manifest = z.infer<typeof manifestSchema>;

export const MANIFEST_FILE = 'manifest.json';

/** Write atomically: a reader sees no manifest or a whole one, which is what marks a build done. */
export function writeManifest(dir: string, manifest: Manifest): string {
  const checked = manifestSchema.parse(manifest);
  const path = join(dir, MANIFEST_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

/** Read a build's manifest; undefined when the build never finished. */
export function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ZlabError('kernel', `${path}: not JSON (${(err as Error).message}); delete ${dirname(path)} to rebuild`);
  }
  const parsed = manifestSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ZlabError('kernel', `${path}: not a kernel build manifest (${issues}); delete ${dirname(path)} to rebuild`);
  }
  return parsed.data;
}
