import { describe, it } from '@jest/globals';
import { parseAdbServer } from '../device/adb-host.js';
import { Device } from '../device/device.js';
import { errorMessage } from '../util/errors.js';
import { type DeviceRequirements, unmetRequirements } from './requirements.js';

export type { DeviceRequirements } from './requirements.js';

export interface OnDeviceOptions {
  requires?: DeviceRequirements;
}

/**
 * The device a device suite runs against: ZLAB_SERIAL (on ZLAB_ADB_SERVER),
 * which a lab user sets for a phone and the device project's global setup
 * sets for the virtual device it starts. Resolves to a reason when there is
 * no device, so the suite can say why it did not run.
 */
export async function resolveTestDevice(): Promise<Device | string> {
  const serial = process.env.ZLAB_SERIAL;
  if (!serial) {
    return process.env.ZLAB_NO_DEVICE_REASON ?? 'no device: set ZLAB_SERIAL to a phone, or let the device project start the virtual device';
  }
  try {
    const server = process.env.ZLAB_ADB_SERVER ? parseAdbServer(process.env.ZLAB_ADB_SERVER) : undefined;
    return await Device.open(serial, server ? { server } : {});
  } catch (err) {
    // A named device that cannot be opened is a failure, not a reason to skip.
    throw new Error(`ZLAB_SERIAL=${serial} cannot be used: ${errorMessage(err)}`);
  }
}

/**
 * A jest `describe` that runs only on a device meeting the requirements, and
 * otherwise is skipped with the reason in its title and on stderr — never a
 * silent pass. Use with top-level await:
 *
 *   await describeOnDevice('zram round trip', { requires: { root: true, zram: true } }, (device) => { … });
 */
export async function describeOnDevice(name: string, options: OnDeviceOptions, body: (device: Device) => void): Promise<void> {
  const resolved = await resolveTestDevice();
  let reason: string | undefined;
  if (typeof resolved === 'string') reason = resolved;
  else {
    const unmet = await unmetRequirements(resolved, options.requires ?? {});
    if (unmet.length) reason = `${resolved.serial} lacks: ${unmet.join('; ')}`;
  }
  if (reason !== undefined) {
    process.stderr.write(`[device suite skipped] ${name}: ${reason}\n`);
    describe.skip(`${name} [skipped: ${reason}]`, () => {
      // jest needs at least one test to list the skipped suite with its reason
      it.skip('requires a device', () => undefined);
    });
    return;
  }
  describe(`${name} (${(resolved as Device).serial})`, () => body(resolved as Device));
}
