import { describe, expect, it } from '@jest/globals';
import { unmetRequirements } from './requirements.js';

// A small fake shell that answers the requirements probe as a given device would.
function deviceAnswering(lines: string[]) {
  return { shell: async () => ({ stdout: lines.join('\n'), stderr: '', exitCode: 0, durationMs: 1 }) };
}

describe('unmetRequirements', () => {
  const stock = ['uid=0', 'mem=1012340', 'algs=lzo-rle [lz4] zstd', 'kcompressd=0 0', 'kthreads=0'];

  it('accepts a device that meets everything', async () => {
    expect(await unmetRequirements(deviceAnswering(stock), { root: true, zram: true, algorithms: ['lz4', 'zstd'], kcompressd: false, minMemoryMiB: 900 })).toEqual([]);
  });

  it('names each unmet requirement', async () => {
    const unmet = await unmetRequirements(deviceAnswering(['uid=2000', 'mem=512000', 'algs=', 'kcompressd=0 0', 'kthreads=0']), {
      root: true,
      zram: true,
      kcompressd: true,
      minMemoryMiB: 1024,
    });
    expect(unmet).toEqual(['root (shell uid is 2000)', 'zram (no /sys/block/zram0)', 'kcompressd (a stock kernel)', '1024 MiB of RAM (has 500 MiB)']);
  });

  it('tells a missing algorithm and what is offered', async () => {
    expect(await unmetRequirements(deviceAnswering(stock), { algorithms: ['lzo'] })).toEqual(['zram algorithm lzo (offers lzo-rle, lz4, zstd)']);
  });

  it('sees kcompressd from threads alone', async () => {
    const withThreads = stock.map((l) => (l.startsWith('kthreads') ? 'kthreads=1' : l));
    expect(await unmetRequirements(deviceAnswering(withThreads), { kcompressd: false })).toEqual(['a stock kernel (kcompressd is present)']);
  });
});
