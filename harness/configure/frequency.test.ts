import { describe, expect, it } from '@jest/globals';
import { frequencyIn, parseFrequency } from './frequency.js';

describe('parseFrequency', () => {
  it('keeps bare numbers in the file unit and converts units', () => {
    expect(frequencyIn(parseFrequency(1804800, 'f'), 1000)).toBe(1804800);
    expect(frequencyIn(parseFrequency('1.8GHz', 'f'), 1000)).toBe(1800000);
    expect(frequencyIn(parseFrequency('800MHz', 'f'), 1)).toBe(800_000_000);
    expect(frequencyIn(parseFrequency('300000kHz', 'f'), 1000)).toBe(300000);
  });

  it.each(['fast', '1.8 GHz; reboot', '0', '-5MHz', '2THz'])('refuses %j', (text) => {
    expect(() => parseFrequency(text, 'cpufreq.all.max')).toThrow(/cpufreq\.all\.max/);
  });

  it('refuses zero and fractions', () => {
    expect(() => parseFrequency(0, 'f')).toThrow();
    expect(() => parseFrequency(1.5, 'f')).toThrow();
  });
});
