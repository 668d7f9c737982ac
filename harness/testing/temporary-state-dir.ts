import { afterEach, beforeEach } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Gives each test of the enclosing block its own empty ZLAB_STATE_DIR (a new
 * temporary folder named PREFIX…), removed afterwards, with the variable put
 * back as it was. Returns a getter for the current test's folder.
 */
export function useTemporaryStateDir(prefix: string): () => string {
  const saved = process.env.ZLAB_STATE_DIR;
  let dir: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    process.env.ZLAB_STATE_DIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.ZLAB_STATE_DIR;
    else process.env.ZLAB_STATE_DIR = saved;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error('useTemporaryStateDir: the folder exists only while a test runs');
    return dir;
  };
}
