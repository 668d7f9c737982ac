import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ZlabError } from '../util/errors.js';
import { assertFragmentApplied, checkFragment, parseKconfig } from './config-fragment.js';
import { kernelsDir } from './recipe.js';

describe('parseKconfig', () => {
  it('reads values, "is not set" lines, and skips comments and blanks', () => {
    const m = parseKconfig('# comment\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_C="lz4"\nCONFIG_D=64\n');
    expect([...m]).toEqual([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'n'],
      ['CONFIG_C', '"lz4"'],
      ['CONFIG_D', '64'],
    ]);
  });

  it('names a line that is not Kconfig', () => {
    expect(() => parseKconfig('CONFIG_A=y\nZRAM=y\n', 'frag.config')).toThrow('frag.config:2: not a Kconfig line: "ZRAM=y"');
  });

  it('rejects an option set twice to different values, and an empty value', () => {
    expect(() => parseKconfig('CONFIG_A=y\n# CONFIG_A is not set\n', 'f')).toThrow(/f:2: CONFIG_A is set twice \(y, then n\)/);
    expect(() => parseKconfig('CONFIG_A=\n', 'f')).toThrow(/f:1: CONFIG_A has no value/);
  });
});

describe('checkFragment', () => {
  const configured = parseKconfig('CONFIG_ZRAM=y\nCONFIG_SWAP=y\n# CONFIG_MODULES is not set\nCONFIG_NR_CPUS=64\n');

  it('passes when every option is as asked; an absent option counts as n', () => {
    const wanted = parseKconfig('CONFIG_ZRAM=y\n# CONFIG_MODULES is not set\n# CONFIG_KALLSYMS is not set\n');
    expect(checkFragment(wanted, configured)).toEqual([]);
    expect(() => assertFragmentApplied(wanted, configured, 'vm')).not.toThrow();
  });

  it('names every option that Kconfig did not keep', () => {
    const wanted = parseKconfig('CONFIG_ZRAM=y\nCONFIG_ZSWAP=y\nCONFIG_NR_CPUS=8\n# CONFIG_SWAP is not set\n');
    expect(checkFragment(wanted, configured)).toEqual([
      { option: 'CONFIG_ZSWAP', wanted: 'y', got: 'n' },
      { option: 'CONFIG_NR_CPUS', wanted: '8', got: '64' },
      { option: 'CONFIG_SWAP', wanted: 'n', got: 'y' },
    ]);
    let error: unknown;
    try {
      assertFragmentApplied(wanted, configured, 'vm.config');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ZlabError);
    expect((error as ZlabError).kind).toBe('kernel');
    expect((error as ZlabError).message).toMatch(/vm\.config: 3 config option\(s\).*CONFIG_ZSWAP \(wanted y, got n\).*CONFIG_NR_CPUS \(wanted 8, got 64\).*CONFIG_SWAP \(wanted n, got y\)/);
  });

  it('parses the virtual device fragment and finds what it needs in it', () => {
    const fragment = parseKconfig(readFileSync(join(kernelsDir, 'configs', 'virtual-device.config'), 'utf8'));
    for (const option of ['CONFIG_ZRAM', 'CONFIG_ZSWAP', 'CONFIG_PSI', 'CONFIG_SWAP', 'CONFIG_VIRTIO_NET', 'CONFIG_ACPI', 'CONFIG_SERIAL_8250_CONSOLE', 'CONFIG_DEVTMPFS', 'CONFIG_PROC_SYSCTL']) {
      expect(fragment.get(option)).toBe('y');
    }
    expect(fragment.get('CONFIG_MODULES')).toBe('n');
    expect(fragment.get('CONFIG_KALLSYMS')).toBe('n');
  });
});
