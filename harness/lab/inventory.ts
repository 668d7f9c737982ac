import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseAdbServer } from '../device/adb-host.js';
import { ZlabError } from '../util/errors.js';
import { stateDir } from '../util/state-dir.js';
import { describeZodError } from '../util/zod-errors.js';

/**
 * The lab's inventory: which devices exist, how to reach them, what they are
 * (labels that plans select on), and what may be done to them (flashing).
 */
const labelSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'labels are letters, digits, _ . - (at most 64)');

export const labDeviceSchema = z.strictObject({
  serial: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'a serial is letters, digits and . _ : -'),
  adbServer: z.string().transform((text, ctx) => {
    try {
      return parseAdbServer(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }).optional(),
  labels: z.array(labelSchema).default([]),
  /** Flashing is refused unless the lab allows it for this device. */
  flash: z
    .strictObject({
      allowed: z.boolean().default(false),
      product: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
    })
    .default({ allowed: false }),
  /** A lab relay or PDU command, as an argument vector (never a shell string). */
  powerCycle: z.array(z.string().min(1)).min(1).optional(),
  knownGoodImage: z.string().min(1).optional(),
});

export const inventorySchema = z.strictObject({
  devices: z.array(labDeviceSchema).default([]),
});

export type LabDevice = z.output<typeof labDeviceSchema>;
export type Inventory = z.output<typeof inventorySchema>;

/** $ZLAB_LAB, else lab.yaml in the working directory, else in the state directory; none is an empty lab. */
export function inventoryPath(): string | undefined {
  const candidates = [process.env.ZLAB_LAB, join(process.cwd(), 'lab.yaml'), join(stateDir(), 'lab.yaml')];
  return candidates.find((path): path is string => Boolean(path && existsSync(path)));
}

export function loadInventory(path = inventoryPath()): Inventory {
  if (!path) return { devices: [] };
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ZlabError('plan', `${path}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = inventorySchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ZlabError('plan', describeZodError(parsed.error, path));
  const seen = new Set<string>();
  for (const device of parsed.data.devices) {
    if (seen.has(device.serial)) throw new ZlabError('plan', `${path}: device ${device.serial} is listed twice`);
    seen.add(device.serial);
  }
  return parsed.data;
}

export function labelsOf(inventory: Inventory, serial: string): string[] {
  return inventory.devices.find((d) => d.serial === serial)?.labels ?? [];
}
