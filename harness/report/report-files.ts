import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZlabError, errorMessage } from '../util/errors.js';

/**
 * Writes a folder of files so that readers see either the old folder or the
 * new one, never a half-written one: everything goes into a hidden sibling
 * first, which is then renamed into place. A previous folder of the same name
 * is moved aside and removed only after the new one is in place.
 */
export function writeFolderAtomically(parent: string, name: string, files: Record<string, string | Buffer>): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new ZlabError('bug', `report folder name "${name}" is not a plain file name`);
  for (const file of Object.keys(files)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) throw new ZlabError('bug', `report file name "${file}" is not a plain file name`);
  }
  mkdirSync(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = join(parent, `.${name}.tmp-${suffix}`);
  const target = join(parent, name);
  const aside = join(parent, `.${name}.old-${suffix}`);
  try {
    mkdirSync(staging);
    for (const [file, content] of Object.entries(files)) writeFileSync(join(staging, file), content);
    const replacing = existsSync(target);
    if (replacing) renameSync(target, aside);
    try {
      renameSync(staging, target);
    } catch (err) {
      if (replacing) renameSync(aside, target);
      throw err;
    }
    if (replacing) rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw new ZlabError('infrastructure', `cannot write report ${target}: ${errorMessage(err)}`, { target });
  }
  return target;
}
