import { type Command, Option } from 'commander';
import { Device } from '../device/device.js';
import { type AdbServerAddress, defaultAdbServer, parseAdbServer } from '../device/adb-host.js';
import { listAttachedDevices } from '../device/discovery.js';
import { ZlabError } from '../util/errors.js';

export interface DeviceCliOptions {
  serial?: string;
  adbServer?: AdbServerAddress;
}

/** Add the options every device command shares: -s SERIAL and --adb-server. */
export function withDeviceOptions(command: Command): Command {
  return command
    .option('-s, --serial <serial>', 'device serial (as `adb devices` shows it); default: the only attached device')
    .addOption(new Option('--adb-server <host:port>', 'adb server to use (default 127.0.0.1:5037 or ANDROID_ADB_SERVER_PORT)').argParser(parseAdbServer));
}

/** Open the device a command names, or the only one attached. */
export async function openSelectedDevice(options: DeviceCliOptions): Promise<Device> {
  const server = options.adbServer ?? defaultAdbServer();
  if (options.serial) return Device.open(options.serial, { server });
  const ready = (await listAttachedDevices([server])).filter((d) => d.state === 'device');
  if (ready.length === 1) return Device.open(ready[0]!.serial, { server });
  throw new ZlabError(
    'usage',
    ready.length === 0
      ? `no device is attached to adb server ${server.host}:${server.port}; start the virtual device with \`zlab vm start\` or plug in a phone`
      : `several devices are attached (${ready.map((d) => d.serial).join(', ')}); choose one with -s SERIAL`,
  );
}
