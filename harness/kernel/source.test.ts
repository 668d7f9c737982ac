import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { dropUnpackedSource, resolveSource, unpackSource } from './source.js';

// A recipe switched to a git commit (zlab bisect --build): the commit is
// exported with git archive, never from the work tree, and its unpacked tree
// can be dropped after the build.
let root: string;
let repo: string;
const saved = process.env.ZLAB_CACHE_DIR;

async function g(...args: string[]): Promise<string> {
  return (await execa('git', ['-C', repo, ...args], { env: { GIT_COMMITTER_DATE: '@1794660961 +0000', GIT_AUTHOR_DATE: '@1794660961 +0000' } })).stdout.trim();
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'zlab-source-'));
  process.env.ZLAB_CACHE_DIR = join(root, 'cache');
  repo = join(root, 'linux');
  await execa('git', ['init', '-q', repo]);
  await g('config', 'user.name', 'Lab');
  await g('config', 'user.email', 'lab@example.org');
  writeFileSync(join(repo, 'Makefile'), 'kernelversion:\n\t@echo 6.12.117\n');
  writeFileSync(join(repo, 'zram_drv.c'), 'committed\n');
  await g('add', '.');
  await g('commit', '-q', '-m', 'base');
});

afterAll(() => {
  if (saved === undefined) delete process.env.ZLAB_CACHE_DIR;
  else process.env.ZLAB_CACHE_DIR = saved;
  rmSync(root, { recursive: true, force: true });
});

describe('a git commit as a recipe source', () => {
  it('unpacks the commit (not the work tree) with its commit time, and drops the tree afterwards', async () => {
    const commit = await g('rev-parse', 'HEAD');
    writeFileSync(join(repo, 'zram_drv.c'), 'edited in the work tree\n');
    const source = await resolveSource({ git: repo, commit });
    expect(source.identity).toEqual({ kind: 'git', repository: repo, commit });
    const tree = await unpackSource(source);
    expect(readFileSync(join(tree.dir, 'zram_drv.c'), 'utf8')).toBe('committed\n');
    expect(tree.kernelVersion).toBe('6.12.117');
    expect(tree.sourceEpoch).toBe(1794660961);
    const dropped = dropUnpackedSource(source);
    expect(dropped).toBe(join(root, 'cache', 'kernel-src', commit));
    expect(existsSync(tree.dir)).toBe(false);
    // Unpacked again when needed.
    expect(existsSync((await unpackSource(source)).dir)).toBe(true);
  });

  it('keeps a tarball tree: every recipe shares it', () => {
    expect(dropUnpackedSource({ identity: { kind: 'tarball', sha256: 'a'.repeat(64) }, version: '6.12.117-1', location: '/usr/src/linux-source-6.12.tar.xz' })).toBeNull();
  });
});
