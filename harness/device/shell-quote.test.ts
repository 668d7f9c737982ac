import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { shellCommand, shellQuote } from './shell-quote.js';

describe('shellQuote', () => {
  const payloads = ['plain', '', 'a b', "it's", '$(touch /tmp/x)', '`id`', 'a;b', 'line\nbreak', '"dq"', '\\', "''", '-n', 'x'.repeat(10000), 'ü∂'];

  it.each(payloads)('round-trips %j through a real POSIX shell unchanged', async (payload) => {
    const { stdout } = await execa('sh', ['-c', `printf %s ${shellQuote(payload)}`], { stripFinalNewline: false });
    expect(stdout).toBe(payload);
  });

  it('refuses NUL', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  it('joins words into one command', async () => {
    const { stdout } = await execa('sh', ['-c', shellCommand(['printf', '%s|', 'a b', '$HOME', 3])]);
    expect(stdout).toBe('a b|$HOME|3|');
  });
});
