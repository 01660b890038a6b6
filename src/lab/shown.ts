/**
 * A value from a lab file or a flag, shown inside a message: JSON-escaped (control characters
 * become `\n`, `\u001b`…) and capped at 80 characters, since it may be anything. Terminal safety
 * for everything printed is src/terminal/printable.ts; this is about keeping one hostile value
 * readable and short inside a sentence.
 */
export function shown(value: string): string {
  const s = JSON.stringify(value).slice(1, -1);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `shown(value)` in double quotes. */
export function quoted(value: string): string {
  return `"${shown(value)}"`;
}
