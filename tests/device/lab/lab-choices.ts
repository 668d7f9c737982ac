import { parseConfiguration, type Configuration } from '../../../harness/configure/config-schema.js';
import type { DeviceState } from '../../../harness/configure/device-state.js';
import { UsageError } from '../../../harness/util/errors.js';

/*
 * What the lab suite asks of a device, chosen from what the device shows now
 * so that every value written differs from the value it replaces: a round
 * trip that writes what is already there proves nothing.
 */

const MIB = 1024 ** 2;

/** Preferred second algorithms, most common on phones first. */
const ALGORITHM_PREFERENCE = ['zstd', 'lz4', 'lzo-rle', 'lzo', 'lz4hc', 'deflate', '842'];

/**
 * A zram algorithm other than `current` for the round trip: ZLAB_LAB_ALGORITHM
 * when set, else the first offered one. When the device offers no other, a
 * name it does not offer, so that the requirement check skips with the reason.
 */
export function otherAlgorithm(current: string | null, offered: string[], override = process.env.ZLAB_LAB_ALGORITHM): string {
  if (override !== undefined && override !== '') {
    if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(override)) throw new UsageError(`ZLAB_LAB_ALGORITHM: "${override}" is not an algorithm name (e.g. lz4, zstd)`);
    if (override === current) throw new UsageError(`ZLAB_LAB_ALGORITHM: "${override}" is already zram0's algorithm; name a different one`);
    return override;
  }
  const ranked = [...ALGORITHM_PREFERENCE.filter((a) => offered.includes(a)), ...offered.filter((a) => !ALGORITHM_PREFERENCE.includes(a))];
  return ranked.find((a) => a !== current) ?? ALGORITHM_PREFERENCE.find((a) => a !== current)!;
}

export interface RoundTripTarget {
  config: Configuration;
  algorithm: string;
  disksizeBytes: number;
  swappiness: string;
  pageCluster: string;
}

/** The configuration the round trip applies: every knob moved off its current value. */
export function roundTripTarget(state: DeviceState, algorithm: string): RoundTripTarget {
  const zram0 = state.zram.find((z) => z.index === 0);
  if (!zram0) throw new UsageError('the device has no zram0');
  if (state.memTotalBytes === null) throw new UsageError('the device did not report MemTotal');
  // Half of RAM in whole MiB, nudged when that is the current size.
  let disksizeBytes = Math.max(256, Math.round(state.memTotalBytes / MIB / 2)) * MIB;
  if (disksizeBytes === zram0.disksize) disksizeBytes += 64 * MIB;
  // Values every kernel accepts (swappiness above 100 needs 5.8+).
  const swappiness = state.sysctls.swappiness === '80' ? 90 : 80;
  const pageCluster = state.sysctls['page-cluster'] === '0' ? 1 : 0;
  const config = parseConfiguration({
    zram: { device: 0, algorithm, disksize: `${disksizeBytes / MIB}M` },
    vm: { swappiness, page_cluster: pageCluster },
  });
  return { config, algorithm, disksizeBytes, swappiness: String(swappiness), pageCluster: String(pageCluster) };
}

/** ZLAB_EXPECT_KCOMPRESSD: 1 = the kernel under test has kcompressd, 0 = stock, unset = report only. */
export function expectedKcompressd(value = process.env.ZLAB_EXPECT_KCOMPRESSD): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === '1') return true;
  if (value === '0') return false;
  throw new UsageError(`ZLAB_EXPECT_KCOMPRESSD: "${value}" is not 1 (kcompressd expected), 0 (stock kernel expected) or unset`);
}
