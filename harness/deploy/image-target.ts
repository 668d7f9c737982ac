import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import type { BootImage } from './bootimg-types.js';

/**
 * Which product a boot image is meant for, so that it is never flashed onto
 * another. In order of precedence:
 *  1. an explicit override (the lab's inventory or `--product`),
 *  2. a sidecar manifest next to the image, `IMAGE.zlab.json`: {"product": "…"},
 *  3. the header's `name` field (v0-v2; mkbootimg --board).
 * v3/v4 boot images have no name field, so they need 1 or 2.
 */
export type TargetSource = 'override' | 'manifest' | 'name';

export interface DeclaredTarget {
  product: string;
  source: TargetSource;
}

export const productSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a product is 1-64 letters, digits, _ . -');
const manifestSchema = z.strictObject({ product: productSchema });

export function manifestPath(imagePath: string): string {
  return `${imagePath}.zlab.json`;
}

export function declaredTarget(image: BootImage, imagePath: string, override?: string): DeclaredTarget {
  if (override !== undefined) {
    if (!productSchema.safeParse(override).success) throw new UsageError(`product "${override}": a product is 1-64 letters, digits, _ . -`);
    return { product: override, source: 'override' };
  }
  const manifest = manifestPath(imagePath);
  if (existsSync(manifest)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(manifest, 'utf8'));
    } catch (err) {
      throw new UsageError(`${manifest}: not valid JSON: ${(err as Error).message}`);
    }
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) {
      throw new UsageError(`${manifest}: expected {"product": "<name>"}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    return { product: parsed.data.product, source: 'manifest' };
  }
  if (image.name !== '') {
    if (!productSchema.safeParse(image.name).success) {
      throw new UsageError(`boot image name "${image.name}" is not a product name (letters, digits, _ . -)`);
    }
    return { product: image.name, source: 'name' };
  }
  throw new UsageError(
    `${imagePath} declares no target product: boot image v${image.headerVersion} has ${image.headerVersion >= 3 ? 'no name field' : 'an empty name field'}; ` +
      `write ${manifest} with {"product": "…"} or give the product explicitly`,
  );
}
