import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultsStore } from '../store/results-store.js';
import { checkPage } from './headless-chromium.js';
import { colourVariety, decodePng, pixelsNear } from './png-pixels.js';
import { fillSyntheticNights } from './synthetic-nightly.js';
import { writeNightlyReport } from './write-report.js';

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('the HTML report in headless Chromium', () => {
  let dir: string;
  let store: ResultsStore;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zlab-browser-'));
    store = ResultsStore.open(join(dir, 'results.sqlite'));
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens without console errors or network requests, and the screenshot shows the charts', async () => {
    const { tonight } = fillSyntheticNights(store, { pastNights: 6, repetitions: 4, tonightDrop: 0.2 });
    const written = await writeNightlyReport(store, tonight, { outRoot: join(dir, 'out'), resamples: 1000 });
    const page = await checkPage(written.files.html);
    writeFileSync(join(dir, 'screenshot.png'), page.png);
    expect(gone(page.pid)).toBe(true);
    expect(page.consoleErrors).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.title).toBe('zlab nightly zram-ab — 2026-11-07');

    const pixels = decodePng(page.png);
    expect(pixels.width).toBe(1200);
    expect(pixels.height).toBeGreaterThan(3000);
    // Charts draw lines and points in vega's categorical colours; a page of
    // text and tables alone would have next to none of them.
    expect(colourVariety(pixels)).toBeGreaterThan(150);
    expect(pixelsNear(pixels, '#4c78a8', 20)).toBeGreaterThan(1000);
    expect(pixelsNear(pixels, '#f58518', 20)).toBeGreaterThan(1000);
    expect(pixelsNear(pixels, '#e45756', 20)).toBeGreaterThan(500);
  }, 180_000);

  it('does see console errors, exceptions and outside requests when a page has them', async () => {
    const html = join(dir, 'broken.html');
    writeFileSync(html, '<!DOCTYPE html><title>broken</title><img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); missingFunction();</script>');
    const page = await checkPage(html);
    expect(gone(page.pid)).toBe(true);
    expect(page.title).toBe('broken');
    expect(page.consoleErrors.join('\n')).toMatch(/console\.error: boom/);
    expect(page.consoleErrors.join('\n')).toMatch(/missingFunction is not defined/);
    expect(page.externalRequests).toEqual(['http://127.0.0.1:9/x.png']);
    // A blank page has hardly any colours: the chart check above means something.
    expect(colourVariety(decodePng(page.png))).toBeLessThan(150);
  }, 120_000);
});
