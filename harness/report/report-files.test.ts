import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderAtomically } from './report-files.js';

describe('writeFolderAtomically', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'zlab-files-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('writes a folder and replaces it whole', () => {
    writeFolderAtomically(parent, 'r', { 'a.txt': 'one', 'b.txt': 'two' });
    writeFolderAtomically(parent, 'r', { 'a.txt': 'three' });
    expect(readdirSync(parent)).toEqual(['r']);
    expect(readdirSync(join(parent, 'r'))).toEqual(['a.txt']);
    expect(readFileSync(join(parent, 'r', 'a.txt'), 'utf8')).toBe('three');
  });

  it('keeps the previous folder intact when a write fails half way', () => {
    writeFolderAtomically(parent, 'r', { 'a.txt': 'good' });
    const broken = { 'a.txt': 'new', 'b.txt': 42 as unknown as string };
    expect(() => writeFolderAtomically(parent, 'r', broken)).toThrow(/cannot write report/);
    expect(readdirSync(parent)).toEqual(['r']);
    expect(readFileSync(join(parent, 'r', 'a.txt'), 'utf8')).toBe('good');
  });

  it('refuses names that are paths', () => {
    expect(() => writeFolderAtomically(parent, '../x', {})).toThrow(/not a plain file name/);
    expect(() => writeFolderAtomically(parent, 'r', { '../x': '' })).toThrow(/"\.\.\/x" is not a plain file name/);
  });
});
