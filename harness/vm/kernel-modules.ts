import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ZlabError } from '../util/errors.js';

/**
 * Modules the virtual device wants: zram and its compressors, and the virtio
 * network device. Names absent from a kernel (built in, or not configured at
 * all) are simply skipped; only `zram` itself is required.
 */
export const WANTED_MODULES = [
  'zsmalloc',
  'lz4_compress',
  'lz4hc_compress',
  'lz4',
  'lz4hc',
  'zstd',
  'lzo',
  'lzo_rle',
  'zram',
  'virtio_pci',
  'virtio_net',
] as const;

export interface ModuleFile {
  /** Normalised module name (dashes become underscores, as the kernel does). */
  name: string;
  /** Path relative to the modules directory, e.g. kernel/drivers/block/zram/zram.ko.xz */
  relativePath: string;
}

export interface ModuleIndex {
  /** name → its file and the names it depends on (directly). */
  loadable: Map<string, { file: ModuleFile; depends: string[] }>;
  builtin: Set<string>;
}

export function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');
}

/** Read `modules.dep` and `modules.builtin` text into an index. */
export function parseModuleIndex(modulesDep: string, modulesBuiltin: string): ModuleIndex {
  const loadable = new Map<string, { file: ModuleFile; depends: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const relativePath = line.slice(0, colon).trim();
    const depends = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(moduleName);
    const name = moduleName(relativePath);
    loadable.set(name, { file: { name, relativePath }, depends });
  }
  const builtin = new Set(
    modulesBuiltin
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map(moduleName),
  );
  return { loadable, builtin };
}

export function readModuleIndex(modulesDir: string): ModuleIndex {
  const dep = join(modulesDir, 'modules.dep');
  if (!existsSync(dep)) throw new ZlabError('infrastructure', `${dep} is missing: is the kernel's module package installed?`);
  const builtinPath = join(modulesDir, 'modules.builtin');
  return parseModuleIndex(readFileSync(dep, 'utf8'), existsSync(builtinPath) ? readFileSync(builtinPath, 'utf8') : '');
}

/**
 * The module files to load for the wanted names, dependencies first, each
 * once. Built-in and unknown names are skipped; a dependency that
 * modules.dep names but does not list itself is an error.
 */
export function resolveLoadOrder(index: ModuleIndex, wanted: readonly string[]): ModuleFile[] {
  const order: ModuleFile[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string, requiredBy: string | null): void => {
    if (done.has(name)) return;
    const entry = index.loadable.get(name);
    if (!entry) {
      if (requiredBy !== null && !index.builtin.has(name)) {
        throw new ZlabError('infrastructure', `module ${requiredBy} depends on ${name}, which modules.dep does not list`);
      }
      return;
    }
    if (visiting.has(name)) throw new ZlabError('infrastructure', `module dependency cycle through ${name}`);
    visiting.add(name);
    for (const dep of entry.depends) visit(dep, name);
    visiting.delete(name);
    done.add(name);
    order.push(entry.file);
  };
  for (const name of wanted) visit(name.replace(/-/g, '_'), null);
  return order;
}

/** Whether a module is available in this kernel at all (loadable or built in). */
export function hasModule(index: ModuleIndex, name: string): boolean {
  const n = name.replace(/-/g, '_');
  return index.loadable.has(n) || index.builtin.has(n);
}
