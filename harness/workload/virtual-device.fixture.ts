import { z } from 'zod';
import { startAdbServer, type AdbServer } from '../device/adb-server.js';
import { parseAdbServer } from '../device/adb-host.js';
import { Device } from '../device/device.js';
import { shellQuote } from '../device/shell-quote.js';
import { ZlabError } from '../util/errors.js';
import { startVirtualDevice, stopVirtualDevice } from '../vm/api.js';

/**
 * The device a device-gated workload suite talks to: the one ZLAB_SERIAL
 * names (on ZLAB_ADB_SERVER, default the usual server), or else a fresh
 * virtual device — 1 GiB of RAM, 2 GiB of zram with lz4 — on a private adb
 * server. close() stops whatever was started, by pid.
 */
export interface DeviceFixture {
  device: Device;
  serial: string;
  close(): Promise<void>;
}

export async function openWorkloadDevice(progress: (line: string) => void = () => undefined): Promise<DeviceFixture> {
  const serial = process.env.ZLAB_SERIAL;
  if (serial) {
    const server = process.env.ZLAB_ADB_SERVER ? parseAdbServer(process.env.ZLAB_ADB_SERVER) : undefined;
    const device = await Device.open(serial, server ? { server } : {});
    return { device, serial, close: async () => undefined };
  }
  let adb: AdbServer | undefined;
  let started: string | undefined;
  try {
    adb = await startAdbServer();
    const vd = await startVirtualDevice({ memory: 1024, cpus: 2, zramSize: '2G', zramAlgorithm: 'lz4', adbServerPort: adb.port }, progress);
    started = vd.serial;
    const device = await Device.open(vd.serial, { server: { host: '127.0.0.1', port: adb.port } });
    const running = { adb, serial: vd.serial };
    return {
      device,
      serial: vd.serial,
      close: async () => {
        await stopVirtualDevice(running.serial);
        await running.adb.stop();
      },
    };
  } catch (err) {
    if (started) await stopVirtualDevice(started).catch(() => undefined);
    if (adb) await adb.stop();
    throw err;
  }
}

const zramSetting = z.object({
  algorithm: z.enum(['lz4', 'lz4hc', 'zstd', 'lzo', 'lzo-rle', 'deflate', '842']),
  disksizeBytes: z.number().int().positive(),
});
export type ZramSetting = z.infer<typeof zramSetting>;

const ZRAM = '/sys/block/zram0';

/** The algorithm in brackets and the disksize of zram0. */
async function readZram(device: Device): Promise<ZramSetting> {
  const out = (await device.run(`cat ${ZRAM}/comp_algorithm ${ZRAM}/disksize`)).trim().split('\n');
  const algorithm = /\[([^\]]+)\]/.exec(out[0] ?? '')?.[1];
  return zramSetting.parse({ algorithm, disksizeBytes: Number(out[1]) });
}

/** Rebuild zram0 as swap with a setting: swapoff, reset, algorithm, size, mkswap, swapon — one round trip. */
async function writeZram(device: Device, setting: ZramSetting): Promise<void> {
  const s = zramSetting.parse(setting);
  const script = [
    'set -e',
    `swapoff /dev/zram0 2>/dev/null || true`,
    `echo 1 > ${ZRAM}/reset`,
    `echo ${shellQuote(s.algorithm)} > ${ZRAM}/comp_algorithm`,
    `echo ${shellQuote(s.disksizeBytes)} > ${ZRAM}/disksize`,
    'mkswap /dev/zram0 >/dev/null',
    'swapon /dev/zram0',
  ].join('\n');
  await device.run(script, { timeoutMs: 120_000 });
  const now = await readZram(device);
  if (now.algorithm !== s.algorithm || now.disksizeBytes !== s.disksizeBytes) {
    throw new ZlabError('device', `zram0 is ${now.algorithm} ${now.disksizeBytes} B after setting ${s.algorithm} ${s.disksizeBytes} B`);
  }
}

/**
 * Make zram0 the swap a run needs (a shared device may have been set up
 * otherwise); returns how to put the previous setting back.
 */
export async function useZram(device: Device, wanted: ZramSetting): Promise<() => Promise<void>> {
  const before = await readZram(device);
  if (before.algorithm === wanted.algorithm && before.disksizeBytes === wanted.disksizeBytes) return async () => undefined;
  await writeZram(device, wanted);
  return () => writeZram(device, before);
}
