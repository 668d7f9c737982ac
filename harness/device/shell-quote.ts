/**
 * The single quoting function for everything that enters a device shell.
 *
 * POSIX single quotes make every byte literal except the single quote itself,
 * which is closed, escaped and reopened. NUL cannot be represented in a shell
 * word at all, so it is refused rather than silently truncated.
 */
export function shellQuote(value: string | number): string {
  const text = String(value);
  if (text.includes('\0')) {
    throw new Error('a NUL byte cannot be passed to a device shell');
  }
  if (text.length > 0 && /^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Quote every word and join them into one command line. */
export function shellCommand(words: ReadonlyArray<string | number>): string {
  return words.map(shellQuote).join(' ');
}
