import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

// scripts/bisect-fixture.sh makes a ~2 GB kernel history (docs/bisect.md, "A real
// kernel bisect"); here only its refusals, which must come before it touches anything.
const script = resolve('scripts/bisect-fixture.sh');
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'zlab-fixture-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function run(args: string[]) {
  return execa('bash', [script, ...args], { reject: false, stdin: 'ignore' });
}

describe('scripts/bisect-fixture.sh refuses bad destinations', () => {
  it('without a destination', async () => {
    const r = await run([]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('bisect-fixture: error: give the destination folder');
  });

  it('inside the zlab checkout, creating nothing there', async () => {
    const inside = resolve('reports', 'out', `fixture-${process.pid}`, 'linux');
    const r = await run([inside]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${inside} is inside the zlab checkout`);
    expect(existsSync(resolve('reports', 'out', `fixture-${process.pid}`))).toBe(false);
  });

  it('a folder that is not empty', async () => {
    const dest = join(root, 'busy');
    mkdirSync(dest);
    writeFileSync(join(dest, 'keep.txt'), 'mine\n');
    const r = await run([dest]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${dest} is not empty`);
  });

  it('a file', async () => {
    const dest = join(root, 'a-file');
    writeFileSync(dest, '');
    const r = await run([dest]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${dest} exists and is not a folder`);
  });
});
