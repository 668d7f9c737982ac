import { describe, expect, it } from '@jest/globals';
import { headline } from './headline.js';
import { parseSamplerRecord } from './sampler-record.js';
import { checkValidity, isCounter, prefixRate, windowDelta, windowRate } from './series.js';
import { groupCpuShares, threadCpuShares } from './thread-cpu.js';

const S = 1e9;
const COLUMNS = ['vmstat.pgsteal_anon', 'vmstat.nr_free_pages', 'vmstat.allocstall_normal', 'vmstat.allocstall_movable', 'psi.some.total', 'zram0.mm.orig_data_size', 'zram0.mm.compr_data_size', 'zram0.mm.same_pages', 'zram0.mm.huge_pages'];

/** A small record in the sampler's format: one sample a second. */
function record(rows: Array<Array<number | '-'>>, extra: string[] = [], bootId = '11111111-2222-3333-4444-555555555555'): string {
  const header = [
    '# zlab-sampler 1', `# boot_id ${bootId}`, '# anchor 1000000000 1700000000000000000', '# period_ns 1000000000', '# clk_tck 100',
    '# page_size 4096', '# ncpu 2', '# pid 99', '# comm kswapd', '# comm memeater', '# source vmstat /proc/vmstat ok 4',
    '# meta zram0.comp_algorithm lz4', `# columns ${COLUMNS.length + 1} t_ns ${COLUMNS.join(' ')}`, '# end',
  ];
  const body = rows.map((r, i) => `S ${(i + 1) * S} ${r.join(' ')}`);
  return `${[...header, ...body, ...extra].join('\n')}\n`;
}

const steady = [
  [0, 500, 0, 0, 0, 0, 0, 0, 0],
  [100, 400, 1, 0, 100000, 4096000, 1365000, 10, 0],
  [300, 300, 3, 1, 300000, 8192000, 2730000, 20, 1],
  [600, 350, 6, 1, 600000, 12288000, 4096000, 30, 1],
];

describe('window deltas and rates', () => {
  const rec = parseSamplerRecord(record(steady));

  it('takes the samples inside the window', () => {
    expect(windowDelta(rec, 'vmstat.pgsteal_anon', { startNs: 1.5 * S, endNs: 4 * S })).toEqual({ startNs: 2 * S, endNs: 4 * S, seconds: 2, delta: 500 });
    expect(windowRate(rec, 'vmstat.pgsteal_anon', { startNs: 0, endNs: 10 * S })).toBe(200);
    expect(prefixRate(rec, 'vmstat.allocstall_', { startNs: 0, endNs: 10 * S })).toBeCloseTo(7 / 3);
    expect(windowDelta(rec, 'vmstat.pgsteal_anon', { startNs: 2.5 * S, endNs: 3.5 * S })).toBeNull();
  });

  it('knows counters from gauges', () => {
    expect(isCounter('vmstat.pgsteal_anon')).toBe(true);
    expect(isCounter('vmstat.nr_free_pages')).toBe(false);
    expect(isCounter('psi.some.total')).toBe(true);
    expect(isCounter('psi.some.avg10')).toBe(false);
    expect(isCounter('zram0.stat.write_ios')).toBe(true);
    expect(isCounter('zram0.stat.in_flight')).toBe(false);
    expect(isCounter('zram0.mm.orig_data_size')).toBe(false);
  });

  it('gives headline figures for a valid record', () => {
    const h = headline(rec, { startNs: 0, endNs: 10 * S });
    expect(h.valid).toBe(true);
    expect(h.pgstealAnonPerSec).toBe(200);
    expect(h.allocstallPerSec).toBeCloseTo(7 / 3);
    expect(h.psiSomeShare).toBeCloseTo(0.2);
    expect(h.zram).toMatchObject({ device: 'zram0', algorithm: 'lz4', origDataGrowthBytes: 12288000, samePagesMax: 30, samePagesGrowth: 30, hugePagesMax: 1 });
    expect(h.zram!.compressionRatio).toBeCloseTo(3);
    expect(h.warnings).toContain('the sampler did not stop cleanly (no stop line): the record may end early');
  });

  it('marks a counter going backwards as invalid data and gives no rates', () => {
    const rebooted = parseSamplerRecord(record([...steady, [5, 900, 0, 0, 1000, 0, 0, 0, 0]]));
    const v = checkValidity(rebooted);
    expect(v.valid).toBe(false);
    expect(v.reasons.join('\n')).toMatch(/counter vmstat.pgsteal_anon went backwards at sample 5 \(600 → 5\)/);
    const h = headline(rebooted, { startNs: 0, endNs: 10 * S });
    expect(h.valid).toBe(false);
    expect(h.pgstealAnonPerSec).toBeNull();
    expect(() => windowDelta(rebooted, 'vmstat.pgsteal_anon', { startNs: 0, endNs: 10 * S })).toThrow(/went backwards/);
  });

  it('marks a boot id change as invalid data', () => {
    const v = checkValidity(rec, { bootIdAfter: '99999999-2222-3333-4444-555555555555' });
    expect(v.valid).toBe(false);
    expect(v.reasons[0]).toMatch(/boot id changed .* the device rebooted/);
    expect(checkValidity(rec, { bootIdAfter: rec.header.bootId }).valid).toBe(true);
  });

  it('treats a missing value as unknown, not zero', () => {
    const gap = parseSamplerRecord(record([steady[0]!, steady[1]!.map((v, i) => (i === 0 ? '-' : v)), steady[2]!]));
    expect(Number.isNaN(gap.columns.get('vmstat.pgsteal_anon')![1]!)).toBe(true);
    expect(windowDelta(gap, 'vmstat.pgsteal_anon', { startNs: 2 * S, endNs: 3 * S })).toBeNull();
    expect(windowDelta(gap, 'vmstat.pgsteal_anon', { startNs: 1 * S, endNs: 3 * S })?.delta).toBe(300);
  });

  it('sees a counter going backwards across a missing value', () => {
    const rows = [steady[0]!, steady[3]!, steady[1]!.map((v, i) => (i === 0 ? '-' : v)), [5, 1, 1, 1, 1, 1, 1, 1, 1]];
    const v = checkValidity(parseSamplerRecord(record(rows as Array<Array<number | '-'>>)));
    expect(v.reasons.join('\n')).toMatch(/vmstat.pgsteal_anon went backwards at sample 4 \(600 → 5\)/);
  });
});

describe('per-thread CPU shares', () => {
  const threads = [
    'N 1000000000 40 40 kswapd0 kswapd0',
    'N 1000000000 41 41 kcompressd0 kcompressd0',
    'T 1000000000 40:0:10 41:0:0',
    'T 2000000000 40:0:30 41:0:5',
    'N 2500000000 77 77 memeater memeater',
    'N 2500000000 78 77 memeater memeater',
    'T 3000000000 40:0:60 41:0:15 77:20:5 78:40:0',
    'G 3500000000 78',
    'T 4000000000 40:0:80 41:0:20 77:60:5',
    'X 4000000000 SIGTERM samples=4 overruns=0',
  ];
  const rec = parseSamplerRecord(record(steady, threads));

  it('divides CPU ticks by the window', () => {
    const shares = threadCpuShares(rec, { startNs: 1 * S, endNs: 4 * S });
    const by = Object.fromEntries(shares.map((s) => [s.tid, s.share]));
    expect(by[40]).toBeCloseTo(0.7 / 3); // 70 ticks at 100 Hz over 3 s
    expect(by[41]).toBeCloseTo(0.2 / 3);
    expect(by[77]).toBeCloseTo(0.65 / 3); // born inside the window: counted from 0
    expect(by[78]).toBeCloseTo(0.4 / 3); // gone before the end: its last sample counts
    expect(rec.threads.get(78)?.goneNs).toBe(3.5 * S);
  });

  it('groups kswapd, kcompressd and named processes', () => {
    const groups = groupCpuShares(rec, { startNs: 1 * S, endNs: 4 * S });
    expect(groups.kswapd).toBeCloseTo(0.7 / 3);
    expect(groups.kcompressd).toBeCloseTo(0.2 / 3);
    expect(groups.memeater).toBeCloseTo(1.05 / 3);
    expect(headline(rec, { startNs: 1 * S, endNs: 4 * S }).kswapdCpuShare).toBeCloseTo(0.7 / 3);
  });

  it('marks thread CPU time going backwards as invalid', () => {
    const bad = parseSamplerRecord(record(steady, ['N 1000000000 40 40 kswapd0 kswapd0', 'T 1000000000 40:0:10', 'T 2000000000 40:0:5']));
    expect(checkValidity(bad).reasons.join()).toMatch(/CPU time of thread 40 \(kswapd0\) went backwards/);
  });
});
