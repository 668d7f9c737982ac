import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The one directory where zlab keeps state between commands: running virtual
 * devices, configuration snapshots, caches. ZLAB_STATE_DIR overrides it so that
 * tests and parallel labs stay apart.
 */
export function stateDir(...parts: string[]): string {
  const base =
    process.env.ZLAB_STATE_DIR ??
    join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'zlab');
  const dir = join(base, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Where built artefacts (initramfs, kernels, device binaries) are cached. */
export function cacheDir(...parts: string[]): string {
  const base = process.env.ZLAB_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'zlab');
  const dir = join(base, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}
