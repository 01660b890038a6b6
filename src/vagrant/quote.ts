/**
 * Quoting argv words for a POSIX shell (sh, bash, dash, zsh): what `ssh HOST CMD` and
 * `vagrant ssh -c CMD` hand to the login shell on the machine.
 */

// Words made only of these characters mean the same to every POSIX shell when left bare.
const BARE = /^[A-Za-z0-9_\/.,:@%+-]+$/;

/** One word, quoted so that the remote shell sees exactly it: `'…'`, with `'` written as `'\''`. */
export function quoteWord(word: string): string {
  if (word.includes('\0')) throw new TypeError('a command word cannot contain a NUL byte');
  if (BARE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one shell command line. */
export function quoteCommand(argv: string[]): string {
  return argv.map(quoteWord).join(' ');
}
