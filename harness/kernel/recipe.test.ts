import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UsageError } from '../util/errors.js';
import { kernelsDir, listRecipes, loadRecipe, parseRecipe } from './recipe.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'zlab-recipe-'));
  mkdirSync(join(root, 'configs'));
  mkdirSync(join(root, 'patches', 'series'), { recursive: true });
  mkdirSync(join(root, 'recipes'));
  writeFileSync(join(root, 'configs', 'vm.config'), 'CONFIG_ZRAM=y\n');
  writeFileSync(join(root, 'patches', 'series', '0001-a.patch'), '');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const good = () => ({
  name: 'demo-1',
  source: { tarball: '/usr/src/linux-source-6.12*.tar.xz' },
  config: { fragments: ['vm.config'] },
  patches: ['series/0001-a.patch'],
});

describe('parseRecipe', () => {
  it('fills defaults and resolves fragments and patches under the kernels folder', () => {
    const r = parseRecipe(good(), 'demo.yaml', root);
    expect(r.config.base).toBe('tinyconfig');
    expect(r.arch).toBe('x86_64');
    expect(r.boot.cmdline).toBe('console=ttyS0');
    expect(r.fragmentPaths).toEqual([join(root, 'configs', 'vm.config')]);
    expect(r.patchPaths).toEqual([join(root, 'patches', 'series', '0001-a.patch')]);
  });

  it('accepts a git source with a full commit id', () => {
    const doc = { ...good(), source: { git: 'https://example.org/linux.git', commit: 'a'.repeat(40) } };
    expect(parseRecipe(doc, 'demo.yaml', root).source).toEqual(doc.source);
  });

  it.each([
    ['a short commit id', { source: { git: '/src/linux', commit: 'abc123' } }, /source/],
    ['a relative tarball path', { source: { tarball: 'linux.tar.xz' } }, /source/],
    ['a patch path leaving kernels/', { patches: ['../evil.patch'] }, /patches\.0/],
    ['an unknown key', { extra: 1 }, /extra|unrecognized/i],
    ['an upper-case name', { name: 'Stock' }, /name/],
    ['a base config zlab does not know', { config: { base: 'allyesconfig' } }, /config\.base/],
    ['a command line with a newline', { boot: { cmdline: 'console=ttyS0\nrm -rf /' } }, /boot\.cmdline/],
  ])('rejects %s', (_what, change, message) => {
    expect(() => parseRecipe({ ...good(), ...change }, 'demo.yaml', root)).toThrow(message);
    expect(() => parseRecipe({ ...good(), ...change }, 'demo.yaml', root)).toThrow(UsageError);
  });

  it('names a fragment or patch that does not exist', () => {
    expect(() => parseRecipe({ ...good(), config: { fragments: ['nope.config'] } }, 'demo.yaml', root)).toThrow(/config\.fragments\.0: no such fragment/);
    expect(() => parseRecipe({ ...good(), patches: ['series/0002-b.patch'] }, 'demo.yaml', root)).toThrow(/patches\.0: no such patch/);
  });

  it('rejects a patch listed twice', () => {
    expect(() => parseRecipe({ ...good(), patches: ['series/0001-a.patch', 'series/0001-a.patch'] }, 'demo.yaml', root)).toThrow(/listed twice/);
  });
});

describe('loadRecipe', () => {
  it('loads by name and checks that the name matches the file', () => {
    writeFileSync(join(root, 'recipes', 'demo-1.yaml'), JSON.stringify(good()));
    writeFileSync(join(root, 'recipes', 'other.yaml'), JSON.stringify(good()));
    expect(loadRecipe('demo-1', root).name).toBe('demo-1');
    expect(() => loadRecipe('other', root)).toThrow(/does not match its file name/);
    expect(listRecipes(root)).toEqual(['demo-1', 'other']);
  });

  it('names an unknown recipe and lists the known ones', () => {
    expect(() => loadRecipe('missing', root)).toThrow(/no such recipe "missing".*known: demo-1, other/);
  });

  it('reports YAML that does not parse', () => {
    const file = join(root, 'broken.yaml');
    writeFileSync(file, 'name: [unclosed');
    expect(() => loadRecipe(file, root)).toThrow(/not valid YAML/);
  });

  it('loads the project recipes: stock and kcompressd share source and configuration', () => {
    const stock = loadRecipe('stock-6.12', kernelsDir);
    const kcompressd = loadRecipe('kcompressd-6.12', kernelsDir);
    expect(kcompressd.source).toEqual(stock.source);
    expect(kcompressd.config).toEqual(stock.config);
    expect(kcompressd.boot).toEqual(stock.boot);
    expect(stock.patches).toEqual([]);
    expect(kcompressd.patches.length).toBeGreaterThan(0);
    expect(kcompressd.patches.every((p) => p.startsWith('kcompressd-6.12/'))).toBe(true);
  });
});
