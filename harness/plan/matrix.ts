import { seededRandom } from '../util/seeded-random.js';
import type { CellSelector, Plan } from './plan-schema.js';

/** One combination of the matrix. */
export interface Cell {
  kernel: string;
  configuration: string;
  workload: string;
}

export function cellKey(cell: Cell): string {
  return `${cell.kernel}/${cell.configuration}/${cell.workload}`;
}

/** One run of one cell: the unit the scheduler hands to a device. */
export interface PlannedJob {
  key: string;
  cell: Cell;
  cellKey: string;
  repetition: number;
  /** Position in the planned order. */
  order: number;
}

export function expandCells(plan: Plan): Cell[] {
  if (plan.matrix) return plan.matrix.map((c) => ({ ...c }));
  const cells: Cell[] = [];
  for (const kernel of Object.keys(plan.kernels)) {
    for (const configuration of Object.keys(plan.configurations)) {
      for (const workload of Object.keys(plan.workloads)) cells.push({ kernel, configuration, workload });
    }
  }
  return cells;
}

/**
 * Jobs in the order they should run. Interleaved: every cell once per round
 * (ABAB…), so slow drift — heat, fragmentation, a neighbour's load — hits all
 * cells alike. Randomized blocks: each round in a seeded random order, which
 * also breaks any effect of always running A right after B.
 */
export function orderJobs(plan: Plan, cells: Cell[] = expandCells(plan)): PlannedJob[] {
  const random = seededRandom(plan.seed);
  const jobs: PlannedJob[] = [];
  for (let repetition = 1; repetition <= plan.repetitions; repetition++) {
    const round = [...cells];
    if (plan.order === 'randomized-blocks') {
      for (let i = round.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [round[i], round[j]] = [round[j]!, round[i]!];
      }
    }
    for (const cell of round) {
      const key = cellKey(cell);
      jobs.push({ key: `${key}#${repetition}`, cell, cellKey: key, repetition, order: jobs.length });
    }
  }
  return jobs;
}

export function matchesSelector(cell: Cell, selector: CellSelector): boolean {
  return (
    (selector.kernel === undefined || selector.kernel === cell.kernel) &&
    (selector.configuration === undefined || selector.configuration === cell.configuration) &&
    (selector.workload === undefined || selector.workload === cell.workload)
  );
}

/**
 * The cell pairs an A/B comparison covers: each A cell with the B cell that
 * agrees with it on every dimension neither selector fixes.
 */
export function comparePairs(cells: Cell[], a: CellSelector, b: CellSelector): Array<{ a: Cell; b: Cell }> {
  const free = (['kernel', 'configuration', 'workload'] as const).filter((d) => a[d] === undefined && b[d] === undefined);
  const pairs: Array<{ a: Cell; b: Cell }> = [];
  for (const cellA of cells.filter((c) => matchesSelector(c, a))) {
    const cellB = cells.find((c) => matchesSelector(c, b) && free.every((d) => c[d] === cellA[d]));
    if (cellB && cellKey(cellB) !== cellKey(cellA)) pairs.push({ a: cellA, b: cellB });
  }
  return pairs;
}

/** JSON with sorted keys: two specs that say the same thing compare equal however they were written. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A/A pairs: cells under different names that run the same thing — the same
 * kernel spec, configuration and workload, as parsed. A plan asks for an A/A
 * self-check by defining, say, a configuration twice; the report then checks
 * that the statistics call no change between them.
 */
export function aaPairs(plan: Plan, cells: Cell[] = expandCells(plan)): Array<{ a: Cell; b: Cell }> {
  const identity = (c: Cell) => canonical([plan.kernels[c.kernel], plan.configurations[c.configuration], plan.workloads[c.workload]]);
  const pairs: Array<{ a: Cell; b: Cell }> = [];
  cells.forEach((a, i) => {
    const b = cells.slice(i + 1).find((c) => identity(c) === identity(a));
    if (b && !pairs.some((p) => cellKey(p.b) === cellKey(a))) pairs.push({ a, b });
  });
  return pairs;
}
