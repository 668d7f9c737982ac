import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ZlabError, errorMessage } from '../util/errors.js';
import { describeZodError } from '../util/zod-errors.js';
import { parseEatOptions, type EatOptionsInput, type EatRequest } from '../workload/eat-options.js';
import { type Plan, type WorkloadSpec, planSchema } from './plan-schema.js';

export interface LoadedPlan {
  plan: Plan;
  /** The eater request of each workload, validated as `zlab eat` validates its flags. */
  workloads: Record<string, EatRequest>;
  source: string;
  text: string;
  /** Identifies this exact plan text in history. */
  hash: string;
}

export function loadPlanFile(path: string): LoadedPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ZlabError('plan', `cannot read plan ${path}: ${errorMessage(err)}`);
  }
  return parsePlanText(text, path);
}

/** Parse and check a plan completely — before any device is touched. */
export function parsePlanText(text: string, source: string): LoadedPlan {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ZlabError('plan', `${source}: not valid YAML: ${errorMessage(err).split('\n')[0]}`);
  }
  const parsed = planSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ZlabError('plan', describeZodError(parsed.error, source));
  const plan = parsed.data;
  checkReferences(plan, source);
  const workloads = Object.fromEntries(Object.entries(plan.workloads).map(([name, spec]) => [name, workloadRequest(spec, `${source}: workloads.${name}`)]));
  return { plan, workloads, source, text, hash: createHash('sha256').update(text).digest('hex').slice(0, 16) };
}

function workloadRequest(spec: WorkloadSpec, where: string): EatRequest {
  const input: EatOptionsInput = {};
  for (const [key, value] of Object.entries(spec)) {
    (input as Record<string, unknown>)[key] = typeof value === 'boolean' ? value : String(value);
  }
  try {
    return parseEatOptions(input);
  } catch (err) {
    // The eater's messages name its flags (--same-filled); name the plan field too.
    throw new ZlabError('plan', `${where}: ${errorMessage(err)}`);
  }
}

function checkReferences(plan: Plan, source: string): void {
  const known = { kernel: Object.keys(plan.kernels), configuration: Object.keys(plan.configurations), workload: Object.keys(plan.workloads) };
  const problems: string[] = [];
  const check = (path: string, dimension: keyof typeof known, value: string | undefined) => {
    if (value !== undefined && !known[dimension].includes(value)) {
      problems.push(`${source}: ${path}: unknown ${dimension} "${value}" (the plan defines ${known[dimension].join(', ')})`);
    }
  };
  plan.matrix?.forEach((cell, i) => {
    check(`matrix.${i}.kernel`, 'kernel', cell.kernel);
    check(`matrix.${i}.configuration`, 'configuration', cell.configuration);
    check(`matrix.${i}.workload`, 'workload', cell.workload);
  });
  plan.compare.forEach((pair, i) => {
    for (const side of ['a', 'b'] as const) {
      check(`compare.${i}.${side}.kernel`, 'kernel', pair[side].kernel);
      check(`compare.${i}.${side}.configuration`, 'configuration', pair[side].configuration);
      check(`compare.${i}.${side}.workload`, 'workload', pair[side].workload);
    }
    if (JSON.stringify(pair.a) === JSON.stringify(pair.b)) problems.push(`${source}: compare.${i}: a and b select the same cells`);
  });
  if (problems.length) throw new ZlabError('plan', problems.join('\n'));
}
