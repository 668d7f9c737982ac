/** `zlab flash`, run in-process on its own commander program, against zlab's bootloader server. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootImage } from '../../deploy/bootimg.js';
import { startFastbootServer, type FastbootServer } from '../../deploy/fastboot-server.js';
import { FlashRefusedError } from '../../deploy/flash.js';
import { runCommand } from '../../testing/run-command.js';
import { flashCommand, register as registerFlash } from './flash.js';

let dir: string;
let server: FastbootServer | undefined;
const savedLab = process.env.ZLAB_LAB;

const run = (...args: string[]): Promise<string> => runCommand(registerFlash, args);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlab-cli-deploy-'));
  delete process.env.ZLAB_LAB;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
  if (savedLab === undefined) delete process.env.ZLAB_LAB;
  else process.env.ZLAB_LAB = savedLab;
});

const file = (name: string, data: Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

describe('zlab flash', () => {
  const startServer = async () => {
    server = await startFastbootServer({ dir: join(dir, 'slots'), product: 'zlab_vd', serialno: 'vd-1' });
    return `tcp:127.0.0.1:${server.port}`;
  };
  const image = (name: string, board = 'zlab_vd') => file(name, buildBootImage({ kernel: Buffer.alloc(3000, 1), cmdline: name, name: board }));

  it('flashes a slot or boots once on a fastboot target', async () => {
    const target = await startServer();
    const result = JSON.parse(await run('flash', '-s', target, image('b.img'), '--slot', 'b', '--json'));
    expect(result).toMatchObject({ target, product: 'zlab_vd', slot: 'b', oneShot: false });
    expect(server!.slotState().slots.b).not.toBeNull();
    expect(await run('flash', '-s', target, image('once.img'), '--one-shot')).toMatch(/once\.img: booted once on tcp:127\.0\.0\.1:\d+ \(product zlab_vd/);
    await expect(run('flash', '-s', target, image('c.img'), '--slot', 'c')).rejects.toThrow(/--slot/);
  });

  it('goes through the bootloader step before talking to the device', async () => {
    const target = await startServer();
    const steps: string[] = [];
    await flashCommand(image('x.img'), { serial: 'vm-serial', timeout: 30 }, async (serial) => ({
      target,
      enterBootloader: async () => {
        steps.push(`enter ${serial}, ${server!.connections} connections so far`);
      },
    }));
    expect(steps).toEqual(['enter vm-serial, 0 connections so far']);
    expect(server!.slotState().slots.a).not.toBeNull();
  });

  it('applies the lab inventory: allowlist and product override', async () => {
    const target = await startServer();
    const lab = join(dir, 'lab.yaml');
    process.env.ZLAB_LAB = lab;
    writeFileSync(lab, `devices:\n  - serial: "${target}"\n    flash: { allowed: false }\n  - serial: phone-1\n    flash: { allowed: true }\n`);
    const refused = await flashCommand(image('a.img'), { serial: target, timeout: 30 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FlashRefusedError);
    expect((refused as FlashRefusedError).reason).toBe('allowlist');
    expect(server!.commands.filter((c) => c.startsWith('download'))).toEqual([]);

    writeFileSync(lab, `devices:\n  - serial: "${target}"\n    flash: { allowed: true, product: zlab_vd }\n`);
    const result = await flashCommand(image('other.img', 'another_board'), { serial: target, timeout: 30 });
    expect(result.declared).toEqual({ product: 'zlab_vd', source: 'override' });
  });
});
