import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ZlabError } from '../util/errors.js';
import { bootCheckOptionsSchema, checkBoot, initScript, parseConsole, reportFrom } from './boot-check.js';

const consoleText = [
  '[    0.000000] Linux version 6.12.117-kcompressd-6.12',
  'ZLAB release 6.12.117-kcompressd-6.12',
  'ZLAB zram yes',
  'ZLAB comp_algorithms lzo [lzo-rle] lz4 zstd',
  'ZLAB swap_kib 2097148',
  'ZLAB threads kcompressd0',
  'ZLAB depth 256',
  'ZLAB nthreads 1',
  'ZLAB threads_after_3 kcompressd0:2 kcompressd0 kcompressd0:1',
  'ZLAB threads_after_0 ',
  'ZLAB threads_after_1 kcompressd0',
  'ZLAB eater_exit 0',
  'ZLAB eater {"tool":"memeater","pages":{"written":524288,"verified":524288,"corrupt":0},"corruptPages":0}',
  'ZLAB vmstat pswpin 300000 pswpout 400000 pgsteal_anon 410000 ',
  'ZLAB counter_queued 380000',
  'ZLAB counter_completed 380000',
  'ZLAB done 1',
  '[   40.1] reboot: Power down',
].join('\r\n');

describe('boot check console', () => {
  it('collects the ZLAB lines, even with CRLF line ends', () => {
    const facts = parseConsole(consoleText);
    expect(facts.get('release')).toBe('6.12.117-kcompressd-6.12');
    expect(facts.get('threads_after_0')).toBe('');
    expect(facts.has('Linux')).toBe(false);
  });

  it('turns them into a report', () => {
    const r = reportFrom(parseConsole(consoleText), consoleText, 40.5);
    expect(r.completed).toBe(true);
    expect(r.zram).toBe(true);
    expect(r.swapKib).toBe(2097148);
    expect(r.kcompressdThreads).toEqual(['kcompressd0']);
    expect(r.knobs).toEqual({
      depth: 256,
      threads: 1,
      threadsAfter: { '3': ['kcompressd0', 'kcompressd0:1', 'kcompressd0:2'], '0': [], '1': ['kcompressd0'] },
    });
    expect(r.vmstat).toEqual({ pswpin: 300000, pswpout: 400000, pgsteal_anon: 410000 });
    expect(r.counters).toEqual({ queued: 380000, completed: 380000 });
    expect(r.eater).toMatchObject({ corruptPages: 0, verifiedPages: 524288, writtenPages: 524288 });
  });

  it('reports a stock kernel without knobs, and an unfinished boot', () => {
    const text = 'ZLAB release 6.12.117-stock-6.12\nZLAB threads \nKernel panic - not syncing';
    const r = reportFrom(parseConsole(text), text, 3);
    expect(r.completed).toBe(false);
    expect(r.knobs).toBeUndefined();
    expect(r.kcompressdThreads).toEqual([]);
    expect(r.eater).toBeUndefined();
    expect(r.consoleTail).toContain('Kernel panic');
  });

  it('names an eater that printed no summary', () => {
    const text = 'ZLAB eater_exit 137\nZLAB eater \n';
    expect(() => reportFrom(parseConsole(text), text, 3)).toThrow(ZlabError);
    expect(() => reportFrom(parseConsole(text), text, 3)).toThrow(/no JSON summary \(exit 137\)/);
  });
});

describe('boot check script', () => {
  it('is valid sh, with the eater only when asked for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlab-init-'));
    try {
      for (const input of [{ bzImage: 'k' }, { bzImage: 'k', eater: '/x/memeater', eaterMib: 512 }]) {
        const script = initScript(bootCheckOptionsSchema.parse(input));
        writeFileSync(join(dir, 'init'), script);
        execFileSync('sh', ['-n', join(dir, 'init')]);
        expect(script.includes('memeater --size-mib 512')).toBe('eaterMib' in input);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options before starting anything', async () => {
    await expect(checkBoot({ bzImage: '/nonexistent/bzImage' })).rejects.toThrow(/no kernel at \/nonexistent\/bzImage/);
    await expect(checkBoot({ bzImage: '/bin/sh', memMib: 64 })).rejects.toThrow(/memMib/);
    await expect(checkBoot({ bzImage: '/bin/sh', eaterMib: 100, eater: '/nonexistent/memeater' })).rejects.toThrow(/needs the memeater binary/);
  });
});
