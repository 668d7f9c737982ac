import { describe, expect, it } from '@jest/globals';
import { compareOne, compareRun } from './divergence.js';
import { explainRun, parseExplainInput } from './explain.js';
import { parseModelInput } from './model-input.js';
import { phonePreset } from './phone-preset.js';
import { predictRun, type Prediction } from './run-prediction.js';

const calibrated: Prediction = { metric: 'pgstealAnonPerSec', value: 1000, low: 800, high: 1200, kind: 'calibrated', unit: 'pages/s', basis: '' };
const rough: Prediction = { metric: 'allocstallPerSec', value: 10, low: 5, high: 20, kind: 'rough', unit: 'stalls/s', basis: '' };
const exact: Prediction = { metric: 'zramSamePages', value: 500, low: 500, high: 500, kind: 'exact', unit: 'pages', basis: '' };

describe('divergence', () => {
  it('accepts a measurement inside the band, edges included', () => {
    for (const m of [800, 1000, 1200]) expect(compareOne(calibrated, m).within).toBe(true);
  });

  it('flags a measurement outside the band with a severity that follows the kind', () => {
    const high = compareOne(calibrated, 1300);
    expect(high).toMatchObject({ within: false, severity: 'warning', direction: 'above' });
    expect(high.relativeError).toBeCloseTo(0.3, 12);
    expect(high.message).toMatch(/pgstealAnonPerSec: measured 1300 pages\/s is above the calibrated band \[800, 1200\]/);
    expect(compareOne(rough, 1)).toMatchObject({ severity: 'note', direction: 'below' });
    expect(compareOne(exact, 499)).toMatchObject({ severity: 'bug' });
  });

  it('ranks the worst first and lists what was not measured', () => {
    const report = compareRun([calibrated, rough, exact], { allocstallPerSec: 100, zramSamePages: 501 });
    expect(report.flagged.map((f) => f.severity)).toEqual(['bug', 'note']);
    expect(report.worst).toBe('bug');
    expect(report.unmeasured).toEqual(['pgstealAnonPerSec']);
  });

  it('refuses a measurement that is not a number, naming it', () => {
    expect(() => compareRun([calibrated], { pgstealAnonPerSec: Number.NaN })).toThrow(/pgstealAnonPerSec/);
    expect(() => compareRun([calibrated], { pgstealAnonPerSec: '12' as unknown as number })).toThrow(/pgstealAnonPerSec/);
  });
});

describe('explain', () => {
  const prediction = JSON.parse(JSON.stringify(predictRun(parseModelInput(phonePreset(4)))));

  it('splits each folio between kswapd stages and the compressors', () => {
    const e = explainRun(parseExplainInput({ prediction, measured: {} }, 'test'));
    expect(e.bottleneck).toBe('kswapd');
    expect(e.predicted.kswapd.scanUnmap).toBeCloseTo(1.2, 9);
    expect(e.predicted.compressors.compress).toBeCloseTo(2.1, 9);
    expect(e.lines.join('\n')).toMatch(/more compressor threads would not help/);
    expect(e.divergence.unmeasured).toContain('pgstealAnonPerSec');
  });

  it('shows the time the model does not account for', () => {
    // kswapd measured fully busy at 600k folios/s: 1.667 µs per folio against 1.244 predicted.
    const e = explainRun(parseExplainInput({ prediction, measured: { pgstealAnonPerSec: 600_000, kswapdCpuShare: 1, kcompressdCpuShare: 1.5 } }, 'test'));
    expect(e.measuredUsPerFolio.kswapd).toBeCloseTo(1e6 / 600_000, 9);
    expect(e.unexplainedUsPerFolio.kswapd).toBeCloseTo(1e6 / 600_000 - 1.244, 9);
    expect(e.divergence.flagged.map((f) => f.metric)).toContain('pgstealAnonPerSec');
    expect(e.lines.join('\n')).toMatch(/kswapd spends 0\.42\d µs per folio more than the model accounts for/);
  });

  it('names what is wrong with its input', () => {
    expect(() => parseExplainInput({ prediction: { ...prediction, schema: 'other' }, measured: {} }, 'run.json')).toThrow(/run\.json: prediction\.schema/);
    expect(() => parseExplainInput({ prediction, measured: { pgstealAnonPerSec: 'fast' } }, 'run.json')).toThrow(/run\.json: measured/);
  });
});
