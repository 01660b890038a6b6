/**
 * Text from outside cclab (an etcd's member names, an HTTP body, Vagrant's output, a file's
 * content, a hand-edited manifest) may hold terminal control sequences: a hostile endpoint could
 * set the window title, clear the screen or hide text. Everything cclab prints passes through
 * printable() at the one place that writes to stdout and stderr (src/cli.ts), so no command and no
 * field can forget it.
 *
 * Kept: newline and tab. Escaped as `\u001b`-style text: every other C0 control, DEL, the C1
 * controls (U+0080–U+009F, which some terminals obey as ESC sequences), and the Unicode bidi
 * overrides and isolates that reorder what is shown (U+202A–U+202E, U+2066–U+2069). In a JSON
 * document the escape is JSON's own, so `--json` output stays valid and means the same.
 *
 * Only node built-ins: `cclab docker-env` loads this.
 */

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Whether `text` would be changed by printable(). */
export function hasUnprintable(text: string): boolean {
  UNPRINTABLE.lastIndex = 0;
  const found = UNPRINTABLE.test(text);
  UNPRINTABLE.lastIndex = 0;
  return found;
}

/** Select Graphic Rendition sequences (colours) that listr2 adds when it believes it writes to a terminal. */
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/g;

/** `text` without colour sequences. */
export function withoutColours(text: string): string {
  return text.replace(SGR, '');
}
