import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { judge } from './doctor.js';
import { PROBE_SCRIPT, parseProbeOutput } from './probe.js';

const stockVm = `@@uid
0
@@uname
6.12.117+deb12-amd64
@@version
Linux version 6.12.117+deb12-amd64
@@abi
x86_64
@@model
zlab-virtual
@@zram
zram0\tlzo-rle [lz4] lz4hc zstd deflate\t805306368\t
@@swaps
Filename\tType\tSize\tUsed\tPriority
/dev/zram0                              partition\t786428\t0\t100
@@psi
some avg10=0.00 avg60=0.00 avg300=0.00 total=0
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
@@thermal
@@cpufreq
@@threads
kswapd0
@@knobs
@@end
`;

describe('doctor', () => {
  it('judges a stock virtual device ready, with zram, swap and PSI and no kcompressd', () => {
    const report = judge('127.0.0.1:6520', parseProbeOutput(stockVm));
    const verdict = Object.fromEntries(report.checks.map((c) => [c.name, c.verdict]));
    expect(verdict).toMatchObject({ root: 'ok', zram: 'ok', swap: 'ok', psi: 'ok', kswapd: 'ok', kcompressd: 'info' });
    expect(report.checks.find((c) => c.name === 'zram')?.detail).toContain('zram0: lz4 of {lzo-rle lz4 lz4hc zstd deflate}, disksize 768 MiB');
    expect(report.kcompressd).toEqual({ present: false, threads: [], knobs: {}, design: 'none' });
    expect(report.healthy).toBe(true);
  });

  it('finds per-node kcompressd from its threads and sysctls', () => {
    const output = stockVm.replace('kswapd0\n', 'kswapd0\nkcompressd0\n').replace('@@knobs\n', '@@knobs\n/proc/sys/vm/kcompressd\t256\n/proc/sys/vm/kcompressd_threads\t1\n');
    const report = judge('s', parseProbeOutput(output));
    expect(report.kcompressd).toMatchObject({ present: true, design: 'per-node-sysctl', threads: ['kcompressd0'] });
    expect(report.kcompressd.knobs['/proc/sys/vm/kcompressd_threads']).toBe('1');
  });

  it('fails a device without root, zram or PSI', () => {
    const output = stockVm.replace('@@uid\n0', '@@uid\n2000').replace(/@@zram\n[^@]*/, '@@zram\n').replace(/@@psi\n[^@]*/, '@@psi\n');
    const report = judge('s', parseProbeOutput(output));
    expect(report.healthy).toBe(false);
    expect(report.checks.filter((c) => c.verdict === 'fail').map((c) => c.name)).toEqual(['root', 'zram', 'psi']);
  });

  it('runs as a POSIX shell script and yields every section even where sources are missing', async () => {
    const { stdout, exitCode } = await execa('sh', ['-c', PROBE_SCRIPT], { reject: false });
    expect(exitCode).toBe(0);
    const sections = parseProbeOutput(stdout);
    expect(Object.keys(sections)).toEqual(expect.arrayContaining(['uid', 'uname', 'zram', 'swaps', 'psi', 'thermal', 'cpufreq', 'threads', 'knobs', 'end']));
    expect(sections.uname?.[0]).toMatch(/^\d+\.\d+/);
  });
});
