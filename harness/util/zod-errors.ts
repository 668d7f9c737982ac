import type { z } from 'zod';

/**
 * One line per problem, each naming the path of the bad field, e.g.
 * `plan.yaml: kernels.stock.recipe: expected string, received number`.
 */
export function describeZodError(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
      return `${source}: ${path}: ${issue.message}`;
    })
    .join('\n');
}
