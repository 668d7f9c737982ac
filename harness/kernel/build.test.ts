import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseBootImage } from '../deploy/bootimg.js';
import { ZlabError } from '../util/errors.js';
import { buildKernel, planBuild } from './build.js';
import { readManifest } from './manifest.js';
import { parseRecipe } from './recipe.js';

/*
 * The pipeline around make, on a stand-in source tree whose Makefile answers
 * the targets zlab calls (tinyconfig, olddefconfig, bzImage, kernelrelease,
 * kernelversion) in a few milliseconds. Real kernels are built by
 * kernel-build.device.test.ts.
 */
const MAKEFILE = `O ?= .
kernelversion:
\t@echo 6.12.0
kernelrelease:
\t@echo 6.12.0$(LOCALVERSION)
tinyconfig:
\t@printf 'CONFIG_A=y\\n# CONFIG_B is not set\\n' > $(O)/.config
# Like Kconfig dropping an option whose dependency is missing.
olddefconfig:
\t@grep -v '^CONFIG_NEEDS_DEP=' $(O)/.config > $(O)/.config.new; mv $(O)/.config.new $(O)/.config
bzImage:
\t@echo "$(LOCALVERSION)" >> "$$FAKE_MAKE_LOG"
\t@mkdir -p $(O)/arch/x86/boot && cat source.c $(O)/.config > $(O)/arch/x86/boot/bzImage
`;

const MERGE = `#!/bin/sh
# merge_config.sh -m -O DIR BASE FRAGMENT...: later settings replace earlier ones.
shift; shift; out=$1; shift; base=$1; shift
cp "$base" "$out/.merged"
for f in "$@"; do
  grep -E '^(CONFIG_|# CONFIG_)' "$f" | while read -r line; do
    opt=$(echo "$line" | sed -E 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\\1/; s/=.*//')
    grep -v -E "^($opt=|# $opt is not set)" "$out/.merged" > "$out/.m2"; mv "$out/.m2" "$out/.merged"
    echo "$line" >> "$out/.merged"
  done
done
mv "$out/.merged" "$out/.config"
`;

const PATCH = `--- a/source.c
+++ b/source.c
@@ -1 +1,2 @@
 int stock;
+int patched;
`;

let dir: string;
let kernels: string;
let makeLog: string;
const saved = { cache: process.env.ZLAB_CACHE_DIR, log: process.env.FAKE_MAKE_LOG };

function recipe(extra: Record<string, unknown> = {}) {
  return parseRecipe(
    {
      name: 'demo',
      source: { tarball: join(dir, 'linux-fake-*.tar.xz') },
      config: { fragments: ['vm.config'] },
      patches: ['series/0001-patched.patch'],
      ...extra,
    },
    'demo.yaml',
    kernels,
  );
}

const makeCalls = () => (existsSync(makeLog) ? readFileSync(makeLog, 'utf8').split('\n').filter(Boolean).length : 0);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-kbuild-'));
  const tree = join(dir, 'linux-fake');
  mkdirSync(join(tree, 'scripts', 'kconfig'), { recursive: true });
  writeFileSync(join(tree, 'Makefile'), MAKEFILE);
  writeFileSync(join(tree, 'source.c'), 'int stock;\n');
  writeFileSync(join(tree, 'scripts', 'kconfig', 'merge_config.sh'), MERGE);
  chmodSync(join(tree, 'scripts', 'kconfig', 'merge_config.sh'), 0o755);
  execFileSync('tar', ['-cJf', join(dir, 'linux-fake-6.12.tar.xz'), '-C', dir, 'linux-fake']);

  kernels = join(dir, 'kernels');
  mkdirSync(join(kernels, 'configs'), { recursive: true });
  mkdirSync(join(kernels, 'patches', 'series'), { recursive: true });
  writeFileSync(join(kernels, 'configs', 'vm.config'), 'CONFIG_ZRAM=y\n# CONFIG_A is not set\n');
  writeFileSync(join(kernels, 'configs', 'needs-dep.config'), 'CONFIG_ZRAM=y\nCONFIG_NEEDS_DEP=y\n');
  writeFileSync(join(kernels, 'patches', 'series', '0001-patched.patch'), PATCH);
  writeFileSync(join(kernels, 'patches', 'series', '0001-broken.patch'), PATCH.replace(' int stock;', ' int other;'));

  process.env.ZLAB_CACHE_DIR = join(dir, 'cache');
  makeLog = join(dir, 'make.log');
  process.env.FAKE_MAKE_LOG = makeLog;
});

afterAll(() => {
  for (const [key, value] of [['ZLAB_CACHE_DIR', saved.cache], ['FAKE_MAKE_LOG', saved.log]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

// make, tar and patch run as child processes; a loaded machine needs more than jest's 5 s.
const SLOW = 120_000;

describe('buildKernel', () => {
  it('unpacks, patches, configures, checks the fragment, builds and writes the manifest', async () => {
    const build = await buildKernel(recipe());
    expect(build.cached).toBe(false);
    expect(build.dir).toBe(join(dir, 'cache', 'kernels', build.inputHash));
    expect(build.kernelRelease).toBe('6.12.0-demo');
    const image = readFileSync(build.bzImage, 'utf8');
    expect(image).toContain('int patched;');
    expect(image).toContain('CONFIG_ZRAM=y');
    expect(image).toContain('# CONFIG_A is not set');

    const boot = parseBootImage(readFileSync(build.bootImage));
    expect(boot.headerVersion).toBe(2);
    expect(boot.cmdline).toBe('console=ttyS0');
    expect(Buffer.compare(boot.kernel, readFileSync(build.bzImage))).toBe(0);

    const manifest = readManifest(build.dir)!;
    expect(manifest.recipe).toBe('demo');
    expect(manifest.inputHash).toBe(build.inputHash);
    expect(manifest.source).toMatchObject({ kind: 'tarball', kernelVersion: '6.12.0', location: join(dir, 'linux-fake-6.12.tar.xz') });
    expect(manifest.commit).toBeNull();
    expect(manifest.patches.map((p) => p.name)).toEqual(['0001-patched.patch']);
    expect(manifest.kbuild.host).toBe(`zlab-${build.inputHash.slice(0, 12)}`);
    expect(manifest.compiler).toMatch(/gcc/);
    expect(makeCalls()).toBe(1);
  }, SLOW);

  it('reuses a build with the same inputs without running make', async () => {
    const before = makeCalls();
    const build = await buildKernel(recipe());
    expect(build.cached).toBe(true);
    expect(makeCalls()).toBe(before);
  }, SLOW);

  it('rebuilds when forced, and for a different series, leaving the unpacked source pristine', async () => {
    const before = makeCalls();
    const forced = await buildKernel(recipe(), { force: true });
    expect(forced.cached).toBe(false);
    const stock = await buildKernel(recipe({ name: 'demo', patches: [] }));
    expect(stock.inputHash).not.toBe(forced.inputHash);
    expect(readFileSync(stock.bzImage, 'utf8')).not.toContain('int patched;');
    expect(makeCalls()).toBe(before + 2);
    const plan = await planBuild(recipe());
    const pristine = join(dir, 'cache', 'kernel-src', plan.source.version, 'tree', 'source.c');
    expect(readFileSync(pristine, 'utf8')).toBe('int stock;\n');
  }, SLOW);

  it('names the options Kconfig did not keep', async () => {
    const r = recipe({ config: { fragments: ['needs-dep.config'] } });
    await expect(buildKernel(r)).rejects.toThrow(ZlabError);
    await expect(buildKernel(r)).rejects.toThrow(/1 config option\(s\) did not end up as asked: CONFIG_NEEDS_DEP \(wanted y, got n\)/);
  }, SLOW);

  it('names a patch that does not apply', async () => {
    await expect(buildKernel(recipe({ patches: ['series/0001-broken.patch'] }))).rejects.toThrow(/patch 0001-broken\.patch does not apply/);
  }, SLOW);

  it('rejects a source glob that matches nothing', async () => {
    await expect(buildKernel(recipe({ source: { tarball: join(dir, 'linux-none-*.tar.xz') } }))).rejects.toThrow(/no file matches .*linux-none-\*\.tar\.xz/);
  }, SLOW);
});
