/**
 * The one way a value reaches the generated Vagrantfile: as a Ruby literal. Strings become
 * double-quoted literals with every character that Ruby could interpret escaped (`\`, `"`, `#` so
 * `#{…}` never interpolates, control and non-ASCII characters as \u{…}); integers and booleans are
 * checked and printed; anything else is refused.
 */
export function rubyLiteral(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`refusing to write ${value} into a Vagrantfile: not an integer`);
    return String(value);
  }
  if (typeof value !== 'string') throw new TypeError(`refusing to write a ${typeof value} into a Vagrantfile`);
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    // An unpaired UTF-16 surrogate has no UTF-8 form: Ruby rejects \u{d800} as an invalid codepoint.
    if (code >= 0xd800 && code <= 0xdfff) throw new TypeError('refusing to write a string with an unpaired surrogate into a Vagrantfile');
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '#') out += '\\#';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code >= 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}
