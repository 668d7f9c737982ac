import { ZlabError } from '../util/errors.js';
import { adbClient, type AdbServerAddress, defaultAdbServer } from './adb-host.js';

/** A device as an adb server reports it. */
export interface AttachedDevice {
  serial: string;
  /** adb's state: device, offline, unauthorized, bootloader, recovery, … */
  state: string;
  server: AdbServerAddress;
}

/** Every device on one or more adb servers. */
export async function listAttachedDevices(servers: AdbServerAddress[] = [defaultAdbServer()]): Promise<AttachedDevice[]> {
  const perServer = await Promise.all(
    servers.map(async (server) => {
      const client = await adbClient(server);
      const devices = await client.listDevices();
      return devices.map((d: { id: string; type: string }) => ({ serial: d.id, state: d.type, server }));
    }),
  );
  return perServer.flat();
}

/**
 * Find one device by serial. An unknown serial is an error that lists what is
 * attached, so a typo is obvious.
 */
export async function findDevice(serial: string, servers: AdbServerAddress[] = [defaultAdbServer()]): Promise<AttachedDevice> {
  const attached = await listAttachedDevices(servers);
  const found = attached.find((d) => d.serial === serial);
  if (!found) {
    const list = attached.length ? attached.map((d) => `${d.serial} (${d.state})`).join(', ') : 'none';
    throw new ZlabError('usage', `no device with serial "${serial}" on adb server ${servers.map((s) => `${s.host}:${s.port}`).join(', ')}; attached: ${list}`, {
      serial,
    });
  }
  return found;
}

/**
 * Follow devices appearing and disappearing on one server until the signal
 * aborts. Uses adb's own tracking, not polling.
 */
export async function trackAttachedDevices(
  onChange: (event: 'add' | 'remove' | 'change', device: AttachedDevice) => void,
  signal: AbortSignal,
  server: AdbServerAddress = defaultAdbServer(),
): Promise<void> {
  const client = await adbClient(server);
  const tracker = await client.trackDevices();
  const forward = (event: 'add' | 'remove' | 'change') => (d: { id: string; type: string }) =>
    onChange(event, { serial: d.id, state: d.type, server });
  tracker.on('add', forward('add'));
  tracker.on('remove', forward('remove'));
  tracker.on('change', forward('change'));
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      tracker.end();
      resolve();
    };
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    tracker.on('error', (err: Error) => {
      signal.removeEventListener('abort', stop);
      reject(new ZlabError('infrastructure', `device tracking on ${server.host}:${server.port} failed: ${err.message}`));
    });
  });
}
