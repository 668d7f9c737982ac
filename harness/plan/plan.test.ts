import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { listRecipes } from '../kernel/recipe.js';
import { loadPlanFile, parsePlanText } from './load-plan.js';
import { aaPairs, cellKey, comparePairs, expandCells, orderJobs } from './matrix.js';

const plan = `
name: lz4-vs-zstd
devices:
  - virtual: { memory: 1G }
configurations:
  lz4: { zram: { algorithm: lz4, disksize: 2G }, vm: { swappiness: 100 } }
  zstd: { zram: { algorithm: zstd, disksize: 2G }, vm: { swappiness: 100 } }
workloads:
  eat: { size: 150%, ratio: 3, sameFilled: 10% }
compare:
  - { name: algorithm, a: { configuration: lz4 }, b: { configuration: zstd } }
repetitions: 3
`;

describe('plans', () => {
  it('loads a plain plan with defaults and validated workloads', () => {
    const loaded = parsePlanText(plan, 'plan.yaml');
    expect(loaded.plan.kernels).toEqual({ current: { current: true } });
    expect(loaded.plan.order).toBe('interleaved');
    expect(loaded.workloads.eat).toMatchObject({ size: { percent: 150 }, ratio: 3, sameFilledPct: 10 });
    expect(loaded.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('interleaves A and B (ABAB…), every cell once per round', () => {
    const { plan: p } = parsePlanText(plan, 'plan.yaml');
    expect(orderJobs(p).map((j) => j.key)).toEqual([
      'current/lz4/eat#1', 'current/zstd/eat#1',
      'current/lz4/eat#2', 'current/zstd/eat#2',
      'current/lz4/eat#3', 'current/zstd/eat#3',
    ]);
  });

  it('randomizes within blocks reproducibly from the seed', () => {
    const text = plan.replace('repetitions: 3', 'repetitions: 20\norder: randomized-blocks\nseed: 7');
    const { plan: p } = parsePlanText(text, 'plan.yaml');
    const first = orderJobs(p).map((j) => j.key);
    expect(orderJobs(p).map((j) => j.key)).toEqual(first);
    const rounds = Array.from({ length: 20 }, (_, r) => first.slice(2 * r, 2 * r + 2));
    for (const round of rounds) expect(new Set(round.map((k) => k.split('#')[0])).size).toBe(2);
    expect(rounds.some((round) => round[0]!.includes('zstd'))).toBe(true);
    expect(rounds.some((round) => round[0]!.includes('lz4'))).toBe(true);
  });

  it('pairs A and B cells that agree on everything else', () => {
    const { plan: p } = parsePlanText(plan.replace('workloads:\n', 'workloads:\n  small: { size: 50% }\n'), 'plan.yaml');
    const pairs = comparePairs(expandCells(p), { configuration: 'lz4' }, { configuration: 'zstd' });
    expect(pairs.map((x) => [x.a.workload, x.a.configuration, x.b.configuration])).toEqual([
      ['small', 'lz4', 'zstd'],
      ['eat', 'lz4', 'zstd'],
    ]);
  });

  it.each([
    ['an unknown key', plan.replace('repetitions: 3', 'repetitons: 3'), /plan\.yaml: \(top level\).*repetitons/],
    ['a wrong type', plan.replace('repetitions: 3', 'repetitions: many'), /plan\.yaml: repetitions: /],
    ['a bad configuration value', plan.replace('algorithm: zstd', 'algorithm: "zstd; reboot"'), /configurations\.zstd\.zram\.algorithm/],
    ['a bad workload value', plan.replace('ratio: 3', 'ratio: -2'), /workloads\.eat: --ratio/],
    ['an unknown reference', plan.replace('b: { configuration: zstd }', 'b: { configuration: lzo }'), /compare\.0\.b\.configuration: unknown configuration "lzo"/],
    ['no devices', plan.replace(/devices:\n {2}- virtual: \{ memory: 1G \}\n/, 'devices: []\n'), /devices: /],
    ['not YAML', 'name: [', /not valid YAML/],
  ])('rejects %s, naming the field', (_, text, message) => {
    expect(() => parsePlanText(text, 'plan.yaml')).toThrow(message);
  });
});

describe('A/A pairs', () => {
  it('pairs cells that run the same thing under other names, however the YAML spells it', () => {
    const loaded = parsePlanText(
      `
name: aa
devices: [{ virtual: {} }]
configurations:
  lz4: { zram: { algorithm: lz4, disksize: 2G }, vm: { swappiness: 100 } }
  lz4-again: { vm: { swappiness: 100 }, zram: { disksize: 2G, algorithm: lz4 } }
  zstd: { zram: { algorithm: zstd, disksize: 2G }, vm: { swappiness: 100 } }
workloads:
  eat: { size: 120%, ratio: 3 }
`,
      'aa.yaml',
    );
    expect(aaPairs(loaded.plan).map((p) => [cellKey(p.a), cellKey(p.b)])).toEqual([['current/lz4/eat', 'current/lz4-again/eat']]);
  });

  it('finds none when every cell differs', () => {
    expect(aaPairs(parsePlanText(plan, 'plan.yaml').plan)).toEqual([]);
  });
});

describe("the repository's plans", () => {
  const plansDir = join(import.meta.dirname, '..', '..', 'plans');
  const files = readdirSync(plansDir).filter((f) => f.endsWith('.yaml'));

  it('include the default plan', () => {
    expect(files).toContain('default.yaml');
  });

  it.each(files)('%s validates and names only recipes that exist', (file) => {
    const loaded = loadPlanFile(join(plansDir, file));
    expect(loaded.plan.name).toBe(file.replace(/\.yaml$/, ''));
    for (const spec of Object.values(loaded.plan.kernels)) {
      if ('recipe' in spec) expect(listRecipes()).toContain(spec.recipe);
    }
    expect(orderJobs(loaded.plan).length).toBeGreaterThan(0);
  });
});
