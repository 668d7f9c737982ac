import { describe, expect, it } from '@jest/globals';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { useTemporaryStateDir } from '../testing/temporary-state-dir.js';
import { loadSnapshot, mergeSnapshot, removeSnapshot, saveSnapshot, serialDirName, snapshotPath, type Snapshot } from './snapshot-store.js';

const stateDir = useTemporaryStateDir('zlab-state-');

const snap = (serial: string, value: string, path = '/proc/sys/vm/swappiness'): Snapshot => ({
  version: 1,
  serial,
  takenAt: '2026-01-01T00:00:00.000Z',
  kernel: '6.12',
  settings: [{ kind: 'file', label: 'vm.x', path, value }],
});

describe('snapshot store', () => {
  it('keeps one pending snapshot per device under the state folder, written atomically', () => {
    const path = saveSnapshot(snap('127.0.0.1:6520', '60'));
    expect(path.startsWith(join(stateDir(), 'snapshots'))).toBe(true);
    expect(readdirSync(dirname(path))).toEqual(['pending.json']);
    expect(loadSnapshot('127.0.0.1:6520')).toEqual(snap('127.0.0.1:6520', '60'));
    removeSnapshot('127.0.0.1:6520');
    expect(loadSnapshot('127.0.0.1:6520')).toBeNull();
  });

  it('gives distinct, safe folder names to serials that differ only in odd characters', () => {
    expect(serialDirName('emulator:5554')).not.toBe(serialDirName('emulator/5554'));
    expect(serialDirName('../../etc')).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(serialDirName('../../etc')).not.toContain('/');
  });

  it('refuses a corrupt or foreign file with a message naming it', () => {
    const path = snapshotPath('A');
    writeFileSync(path, '{ nope');
    expect(() => loadSnapshot('A')).toThrow(/not valid JSON; inspect it and remove it/);
    writeFileSync(path, JSON.stringify(snap('B', '1')));
    expect(() => loadSnapshot('A')).toThrow(/belongs to B, not A/);
  });

  it('merges: a knob already pending keeps its older value, new knobs are added', () => {
    const merged = mergeSnapshot(snap('A', '60'), {
      ...snap('A', '100'),
      settings: [...snap('A', '100').settings, { kind: 'file', label: 'vm.y', path: '/proc/sys/vm/page-cluster', value: '3' }],
    });
    expect(merged.settings).toEqual([
      { kind: 'file', label: 'vm.x', path: '/proc/sys/vm/swappiness', value: '60' },
      { kind: 'file', label: 'vm.y', path: '/proc/sys/vm/page-cluster', value: '3' },
    ]);
  });
});
