import type { Command } from 'commander';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseBootImage, parseVendorBootImage, repackBootImage, type BootImage, type VendorBootImage } from '../../deploy/bootimg.js';
import { UsageError } from '../../util/errors.js';
import { printJson } from '../output.js';

function readImageFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${what} ${path}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** What `bootimg info` shows: header fields and section sizes, no section contents. */
export function describeImage(image: BootImage | VendorBootImage): Record<string, unknown> {
  const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  if (image.kind === 'vendor_boot') {
    return {
      kind: image.kind,
      headerVersion: image.headerVersion,
      pageSize: image.pageSize,
      headerSize: image.headerSize,
      name: image.name,
      cmdline: image.cmdline,
      sizes: { vendorRamdisk: image.vendorRamdisk.length, dtb: image.dtb.length, bootconfig: image.bootconfig.length },
      ramdisks: image.ramdiskTable.map((r) => ({ name: r.name, type: r.type, offset: r.offset, size: r.size })),
      addresses: { kernel: hex(image.kernelAddr), ramdisk: hex(image.ramdiskAddr), tags: hex(image.tagsAddr), dtb: hex(image.dtbAddr) },
      imageSize: image.imageSize,
      fileSize: image.fileSize,
    };
  }
  const legacy = image.headerVersion <= 2;
  return {
    kind: image.kind,
    headerVersion: image.headerVersion,
    pageSize: image.pageSize,
    headerSize: image.headerSize,
    name: image.name,
    cmdline: image.cmdline,
    osVersion: image.osVersion,
    sizes: {
      kernel: image.kernel.length,
      ramdisk: image.ramdisk.length,
      second: image.second.length,
      recoveryDtbo: image.recoveryDtbo.length,
      dtb: image.dtb.length,
      signature: image.signature.length,
    },
    addresses: legacy
      ? { kernel: hex(image.kernelAddr), ramdisk: hex(image.ramdiskAddr), second: hex(image.secondAddr), tags: hex(image.tagsAddr), dtb: hex(image.dtbAddr) }
      : null,
    id: legacy ? image.id.toString('hex') : null,
    imageSize: image.imageSize,
    fileSize: image.fileSize,
  };
}

function printInfo(path: string, info: Record<string, unknown>): void {
  const lines = [`${path}: ${String(info.kind)} image, header v${String(info.headerVersion)}`];
  for (const [key, value] of Object.entries(info)) {
    if (key === 'kind' || key === 'headerVersion' || value === null) continue;
    let text: string;
    if (key === 'osVersion') {
      const os = value as BootImage['osVersion'];
      text = `${os.version}, patch level ${os.patchLevel ?? 'unset'}`;
    } else if (typeof value === 'object') {
      text = Array.isArray(value)
        ? value.map((v) => JSON.stringify(v)).join(' ')
        : Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    } else {
      text = key === 'cmdline' || key === 'name' ? JSON.stringify(value) : String(value);
    }
    lines.push(`  ${key.padEnd(11)} ${text}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function register(program: Command): void {
  const bootimg = program.command('bootimg').description('read and repack Android boot images (v0-v4) and vendor_boot images (v3-v4)');

  bootimg
    .command('info')
    .description('header version, sizes, command line, os_version, name and page size of an image')
    .argument('<image>', 'boot.img or vendor_boot.img')
    .option('--json', 'print one JSON document')
    .action((path: string, options: { json?: boolean }) => {
      const buf = readImageFile(path, 'image');
      const vendor = buf.subarray(0, 8).toString('latin1') === 'VNDRBOOT';
      const info = describeImage(vendor ? parseVendorBootImage(buf) : parseBootImage(buf));
      if (options.json) printJson({ path, ...info });
      else printInfo(path, info);
    });

  bootimg
    .command('repack')
    .description('replace the kernel (and optionally the command line or ramdisk) of a boot image, keeping the rest')
    .argument('<image>', 'the boot image to start from')
    .requiredOption('--kernel <file>', 'the new kernel')
    .option('--cmdline <text>', 'the new kernel command line')
    .option('--ramdisk <file>', 'the new ramdisk')
    .requiredOption('-o, --output <file>', 'where to write the new image')
    .option('--json', 'print one JSON document describing the new image')
    .action((path: string, options: { kernel: string; cmdline?: string; ramdisk?: string; output: string; json?: boolean }) => {
      const image = parseBootImage(readImageFile(path, 'image'));
      const out = repackBootImage(image, {
        kernel: readImageFile(options.kernel, '--kernel'),
        ramdisk: options.ramdisk === undefined ? undefined : readImageFile(options.ramdisk, '--ramdisk'),
        cmdline: options.cmdline,
      });
      // Check what was written reads back before it replaces anything.
      const info = describeImage(parseBootImage(out));
      const tmp = `${options.output}.tmp-${process.pid}`;
      writeFileSync(tmp, out);
      renameSync(tmp, options.output);
      if (options.json) printJson({ path: options.output, ...info });
      else printInfo(options.output, info);
    });
}
