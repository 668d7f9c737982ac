import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBootImage, repackBootImage } from '../deploy/bootimg.js';
import { manifestPath } from '../deploy/image-target.js';
import { stateDir } from '../util/state-dir.js';

/**
 * A recipe builds a kernel, not a boot image for a product. To run it on a
 * device, the kernel goes into that device's own known-good boot image: its
 * ramdisk, command line, header and product stay (what a phone lab does with
 * the stock boot.img). The result is content-addressed, so the same kernel on
 * the same device is the same file, and a job that finds it running skips the
 * deploy.
 */
export function kernelInDeviceImage(kernelImagePath: string, deviceImagePath: string, deviceProduct: string | null, serial: string): string {
  const kernel = parseBootImage(readFileSync(kernelImagePath)).kernel;
  const bytes = repackBootImage(parseBootImage(readFileSync(deviceImagePath)), { kernel });
  const digest = createHash('sha256').update(bytes).digest('hex');
  const path = join(stateDir('kernels', 'per-device', serial.replace(/[^A-Za-z0-9._-]/g, '_')), `${digest.slice(0, 16)}.img`);
  if (!existsSync(path)) {
    // Written aside and renamed, so that a half-written image is never taken for one.
    writeFileSync(`${path}.tmp`, bytes);
    renameSync(`${path}.tmp`, path);
  }
  // The device image may declare its product in a sidecar rather than its header; the copy keeps it.
  if (deviceProduct !== null) writeFileSync(manifestPath(path), `${JSON.stringify({ product: deviceProduct })}\n`);
  return path;
}
