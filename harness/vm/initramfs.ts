import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ZlabError } from '../util/errors.js';
import { cacheDir } from '../util/state-dir.js';
import { type CpioEntry, writeCpioNewc } from './cpio-newc.js';
import { guestProperties, propertiesFile } from './guest-props.js';
import type { KernelChoice } from './kernel.js';
import { WANTED_MODULES, readModuleIndex, resolveLoadOrder } from './kernel-modules.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GUEST_SCRIPTS_DIR = join(repoRoot, 'device-scripts', 'guest');
export const DEFAULT_ADBD = join(repoRoot, 'device-scripts', 'out', 'x86_64', 'adbd');
const DEFAULT_BUSYBOX = '/bin/busybox';

// Bump when the layout below changes, so cached images are rebuilt.
const LAYOUT_VERSION = 'zlab-initramfs-2';

export interface InitramfsOptions {
  kernel: KernelChoice;
  adbdPath?: string;
  busyboxPath?: string;
}

export interface Initramfs {
  path: string;
  /** Module file names in the order init loads them (empty for a kernel without modules). */
  modules: string[];
  /** Whether an existing image was reused. */
  cached: boolean;
}

interface GuestFile {
  path: string;
  data: Buffer;
  mode: number;
}

function readRequired(path: string, what: string, hint: string): Buffer {
  if (!existsSync(path)) throw new ZlabError('infrastructure', `${what} not found at ${path}; ${hint}`);
  return readFileSync(path);
}

async function decompressModule(path: string): Promise<Buffer> {
  if (path.endsWith('.ko')) return readFileSync(path);
  if (path.endsWith('.ko.gz')) return gunzipSync(readFileSync(path));
  // busybox insmod reads plain ELF only: unpack xz and zstd here on the host.
  const tool = path.endsWith('.ko.xz') ? 'xz' : path.endsWith('.ko.zst') ? 'zstd' : null;
  if (!tool) throw new ZlabError('infrastructure', `unknown module compression: ${path}`);
  const result = await execa(tool, ['-dc', path], { encoding: 'buffer', reject: false });
  if (result.exitCode !== 0) throw new ZlabError('infrastructure', `${tool} could not unpack ${path}: ${Buffer.from(result.stderr).toString()}`);
  return Buffer.from(result.stdout);
}

/**
 * Build (or reuse) the virtual device's initramfs for a kernel: busybox with
 * its applet links, zram's modules, adbd, the guest scripts and properties.
 * Images are cached under cacheDir('initramfs') by a hash of their inputs.
 */
export async function buildInitramfs(options: InitramfsOptions): Promise<Initramfs> {
  const busyboxPath = options.busyboxPath ?? DEFAULT_BUSYBOX;
  const adbdPath = options.adbdPath ?? DEFAULT_ADBD;
  const busybox = readRequired(busyboxPath, 'busybox', 'install busybox-static');
  const adbd = readRequired(adbdPath, 'the guest adbd', 'build it with: make -C device-scripts');

  const modules = options.kernel.modulesDir ? resolveLoadOrder(readModuleIndex(options.kernel.modulesDir), WANTED_MODULES) : [];
  const moduleSources = modules.map((m) => join(options.kernel.modulesDir as string, m.relativePath));
  const props = propertiesFile(guestProperties(options.kernel.release));
  const guest = (name: string, mode = 0o755): GuestFile => ({
    path: name,
    data: readRequired(join(GUEST_SCRIPTS_DIR, name), `guest file ${name}`, 'is the checkout complete?'),
    mode,
  });
  const guestFiles = [guest('init'), guest('inittab', 0o644), guest('getprop'), guest('setprop'), guest('zlab-boot-completed'), guest('zlab-reboot')];

  const hash = createHash('sha256');
  const feed = (label: string, data: Buffer | string): void => {
    hash.update(`${label}\0${Buffer.byteLength(data)}\0`);
    hash.update(data);
  };
  feed('layout', LAYOUT_VERSION);
  feed('busybox', busybox);
  feed('adbd', adbd);
  feed('props', props);
  for (const file of guestFiles) feed(file.path, file.data);
  for (const source of moduleSources) feed(source, readFileSync(source));
  const digest = hash.digest('hex').slice(0, 32);
  const path = join(cacheDir('initramfs'), `${digest}.cpio.gz`);
  const moduleNames = modules.map((m) => `${m.name}.ko`);
  if (existsSync(path)) return { path, modules: moduleNames, cached: true };

  const applets = await execa(busyboxPath, ['--list-full'], { reject: false });
  if (applets.exitCode !== 0) throw new ZlabError('infrastructure', `${busyboxPath} --list-full failed: ${applets.stderr}`);

  const entries: CpioEntry[] = [];
  const dirs = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'etc/zlab', 'lib', 'lib/modules', 'dev', 'proc', 'sys', 'run', 'tmp', 'mnt', 'root', 'data', 'system', 'system/bin'];
  for (const dir of dirs) entries.push({ type: 'dir', path: dir, mode: dir === 'tmp' ? 0o1777 : 0o755 });
  entries.push({ type: 'chardev', path: 'dev/console', major: 5, minor: 1 });
  entries.push({ type: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
  entries.push({ type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  const taken = new Set(['bin/busybox', 'init']);
  for (const line of applets.stdout.split('\n')) {
    const applet = line.trim().replace(/^\/+/, '');
    if (!applet || taken.has(applet) || applet === 'linuxrc') continue;
    taken.add(applet);
    entries.push({ type: 'symlink', path: applet, target: '/bin/busybox' });
  }
  entries.push({ type: 'symlink', path: 'system/bin/sh', target: '/bin/busybox' });
  const placeOf: Record<string, string> = {
    init: 'init',
    inittab: 'etc/inittab',
    getprop: 'system/bin/getprop',
    setprop: 'system/bin/setprop',
    'zlab-boot-completed': 'system/bin/zlab-boot-completed',
    'zlab-reboot': 'sbin/zlab-reboot',
  };
  for (const file of guestFiles) entries.push({ type: 'file', path: placeOf[file.path] as string, data: file.data, mode: file.mode });
  entries.push({ type: 'file', path: 'sbin/adbd', data: adbd, mode: 0o755 });
  entries.push({ type: 'file', path: 'etc/zlab/props', data: Buffer.from(props), mode: 0o644 });
  entries.push({ type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/data/local/tmp:/bin/sh\nshell:x:2000:2000:shell:/data/local/tmp:/bin/sh\n') });
  entries.push({ type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nshell:x:2000:\n') });
  for (let i = 0; i < modules.length; i++) {
    entries.push({ type: 'file', path: `lib/modules/${moduleNames[i]}`, data: await decompressModule(moduleSources[i] as string) });
  }
  if (modules.length > 0) {
    entries.push({ type: 'file', path: 'lib/modules/load-order', data: Buffer.from(moduleNames.map((n) => `${n}\n`).join('')) });
    // the kernel they were built for: a kernel flashed into the same boot image (a recipe build) has what it needs built in
    entries.push({ type: 'file', path: 'lib/modules/release', data: Buffer.from(`${options.kernel.release}\n`) });
  }

  const image = gzipSync(writeCpioNewc(entries), { level: 6 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, image);
  renameSync(temporary, path);
  return { path, modules: moduleNames, cached: false };
}
