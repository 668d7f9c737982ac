import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from './inventory.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'zlab-lab-')), 'lab.yaml');
  writeFileSync(path, text);
  return path;
}

describe('lab inventory', () => {
  it('reads devices with labels, adb servers and flashing rules', () => {
    const inventory = loadInventory(
      file(`devices:
  - serial: 1A2B3C
    adbServer: 10.1.2.3:5037
    labels: [pixel8, arm64]
    flash: { allowed: true, product: shiba }
    powerCycle: [relayctl, --port, "3", cycle]
  - serial: 127.0.0.1:6520
`),
    );
    expect(inventory.devices[0]).toMatchObject({ serial: '1A2B3C', adbServer: { host: '10.1.2.3', port: 5037 }, labels: ['pixel8', 'arm64'], flash: { allowed: true, product: 'shiba' } });
    expect(inventory.devices[1]).toMatchObject({ labels: [], flash: { allowed: false } });
  });

  it('names the bad field', () => {
    expect(() => loadInventory(file('devices:\n  - serial: "a;b"\n'))).toThrow(/devices\.0\.serial/);
    expect(() => loadInventory(file('devices:\n  - serial: x\n    colour: red\n'))).toThrow(/devices\.0.*colour/);
    expect(() => loadInventory(file('devices:\n  - serial: x\n    adbServer: "host:99999"\n'))).toThrow(/adbServer/);
    expect(() => loadInventory(file('devices:\n  - serial: x\n  - serial: x\n'))).toThrow(/listed twice/);
  });

  it('treats no inventory as an empty lab', () => {
    expect(loadInventory(undefined)).toEqual({ devices: [] });
  });
});
