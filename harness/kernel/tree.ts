import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { ZlabError } from '../util/errors.js';
import { canonicalJson, type HashedFile } from './inputs.js';

/** What a recipe's patched tree was made from; a different series means a fresh tree. */
interface TreeStamp {
  source: string;
  patches: HashedFile[];
}

/**
 * Make WORK/src: a hard-link copy of the unpacked source with the recipe's
 * patches applied in order, without fuzz (GNU patch replaces a file rather than writing
 * through the link, so the shared source stays pristine). Returns true when
 * the tree was (re)made. A build folder kept inside the tree goes with it, as
 * it must: make trusts timestamps, and a file restored from the pristine
 * source is older than the object built from its patched version.
 */
export async function preparePatchedTree(
  work: string,
  sourceDir: string,
  patches: Array<{ path: string; file: HashedFile }>,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  const src = join(work, 'src');
  const stampFile = join(work, 'src.json');
  const stamp: TreeStamp = { source: sourceDir, patches: patches.map((p) => p.file) };
  if (existsSync(src) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === canonicalJson(stamp)) return false;

  rmSync(stampFile, { force: true });
  rmSync(src, { recursive: true, force: true });
  log(`linking a working copy of ${sourceDir}`);
  await execa('cp', ['-al', sourceDir, src]);
  for (const patch of patches) {
    log(`applying ${basename(patch.path)}`);
    const result = await execa('patch', ['-p1', '--forward', '--batch', '--fuzz=0', '--no-backup-if-mismatch', '-d', src, '-i', patch.path], {
      reject: false,
      all: true,
    });
    if (result.exitCode !== 0) {
      throw new ZlabError('kernel', `patch ${basename(patch.path)} does not apply to ${sourceDir}:\n${result.all ?? ''}`, { patch: patch.path });
    }
  }
  writeFileSync(stampFile, canonicalJson(stamp));
  return true;
}
