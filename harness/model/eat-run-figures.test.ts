import { describe, expect, it } from '@jest/globals';
import { parseSamplerRecord } from '../collect/sampler-record.js';
import type { EaterSummary } from '../workload/eater-summary.js';
import { samePagesForPagesOut } from './device-calibration.js';
import { baselineObservation, directReclaimObservation, eatRunFigures } from './eat-run-figures.js';

const S = 1e9;
const COLUMNS = [
  'vmstat.pgsteal_anon', 'vmstat.pgsteal_file', 'vmstat.pgsteal_kswapd', 'vmstat.pgsteal_direct', 'vmstat.pswpout', 'vmstat.swpout_zero',
  'meminfo.AnonPages', 'meminfo.MemAvailable', 'meminfo.MemTotal', 'zram0.mm.same_pages',
];
// one sample a second, t = 1 … 10 s; reclaim starts at 5 s and runs at 1000 pages/s from 6 s
const steal = [0, 0, 0, 0, 10, 1000, 2000, 3000, 4000, 5000];
const kswapd = [0, 0, 0, 0, 10, 400, 800, 1200, 1600, 2000];
const rows = steal.map((s, i) => [s, 0, kswapd[i], s - kswapd[i]!, s, i * 10, i * 4000, 800_000, 1_000_000, Math.round(s * 0.09)]);

function record(): string {
  const header = [
    '# zlab-sampler 1', '# boot_id 11111111-2222-3333-4444-555555555555', '# anchor 1000000000 1700000000000000000', '# period_ns 1000000000',
    '# clk_tck 100', '# page_size 4096', '# ncpu 2', '# pid 99', '# comm kswapd', '# comm memeater', '# source vmstat /proc/vmstat ok 6',
    '# meta zram0.comp_algorithm lz4', `# columns ${COLUMNS.length + 1} t_ns ${COLUMNS.join(' ')}`, '# end',
  ];
  const body = rows.map((r, i) => `S ${(i + 1) * S} ${r.join(' ')}`);
  // memeater: 1 s of CPU while memory was free (1 → 6 s); kswapd: 3 s of CPU from 6 to 10 s
  const threads = [
    'N 1000000000 40 40 kswapd0 kswapd0',
    'N 1000000000 77 77 memeater memeater',
    'T 1000000000 40:0:0 77:0:0',
    'T 6000000000 40:0:0 77:60:40',
    'T 10000000000 40:100:200 77:200:100',
  ];
  return `${[...header, ...body.slice(0, 1), threads[0], threads[1], threads[2], ...body.slice(1, 5), body[5], threads[3], ...body.slice(6), threads[4]].join('\n')}\n`;
}

const summary = {
  config: { ratio: 3 },
  pages: { zero: 500, sameFilled: 1000, data: 8500 },
  phases: [{ name: 'fill', startBoottimeNs: 1 * S, endBoottimeNs: 10 * S, pages: 10_000, mibPerSec: 4 }],
  swappedBeforeRetouch: null,
} as unknown as EaterSummary;

describe('figures of an eater run', () => {
  const figures = eatRunFigures(parseSamplerRecord(record()), summary);

  it('takes the pressure window from 1 % of the fill\'s steals to the end of the fill', () => {
    expect(figures.pressure).toEqual({ startNs: 6 * S, endNs: 10 * S, seconds: 4 });
    expect(figures.freeFill).toEqual({ startNs: 1 * S, endNs: 6 * S, seconds: 5 });
    expect(figures.pgstealAnonPerSec).toBe(1000);
    expect(figures.anonSteals).toBe(4000);
  });

  it("splits kswapd's steals from direct reclaim and reads its CPU time", () => {
    expect(figures.kswapdSteals).toBe(1600);
    expect(figures.directSteals).toBe(2400);
    expect(figures.kswapdAnonSteals).toBe(1600);
    expect(figures.kswapdFileSteals).toBe(0);
    expect(figures.kswapdCpuUs).toBeCloseTo(3e6, 3);
  });

  it("gives the eater's cost per page from the fill before pressure", () => {
    // 1 s of CPU over 20,000 kB of AnonPages growth = 5,000 pages
    expect(figures.faultUs).toBeCloseTo(200, 6);
    expect(figures.availableBytes).toBe(800_000 * 1024);
  });

  it('counts the pages out (pswpout and swpout_zero) and same_pages over the fill', () => {
    expect(figures.pagesOutOverFill).toBe(5000 + 90);
    expect(figures.samePagesFillGrowth).toBe(450);
    // 1,000 of 10,000 pages are same-filled: a tenth of the 5,090 pages out
    expect(samePagesForPagesOut(summary, figures.pagesOutOverFill)).toBe(509);
  });

  it("makes a baseline of kswapd's CPU and steals with the run's page mix", () => {
    expect(baselineObservation(figures, summary, 'lz4')).toEqual({
      algorithm: 'lz4',
      ratio: 3,
      mix: { zero: 0.05, sameFilled: 0.1, compressible: 0.85 },
      kswapdCpuUs: figures.kswapdCpuUs,
      anonSteals: 1600,
      fileSteals: 0,
      // the eater's 2 s of CPU in the window, the 4,000 pages it allocated there (one per steal), its 2,400 direct steals
      direct: { eaterCpuUs: figures.eaterCpuUs, allocatedPages: 4000, faultUs: figures.faultUs, anonSteals: 2400, fileSteals: 0 },
    });
    expect(figures.eaterCpuUs).toBeCloseTo(2e6, 3);
  });

  it('leaves the direct part out when the eater reclaimed nothing itself or its fault cost is unknown', () => {
    expect(directReclaimObservation({ ...figures, directSteals: 0 })).toBeNull();
    expect(directReclaimObservation({ ...figures, faultUs: null })).toBeNull();
    expect(baselineObservation({ ...figures, faultUs: null }, summary, 'lz4')).not.toHaveProperty('direct');
  });

  it('refuses a run without reclaim', () => {
    const calm = { ...summary, phases: [{ ...summary.phases[0]!, endBoottimeNs: 4 * S }] } as EaterSummary;
    expect(() => eatRunFigures(parseSamplerRecord(record()), calm)).toThrow(/no anonymous page was reclaimed/);
  });
});
