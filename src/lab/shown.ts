/** Shows a hostile value safely inside a message (control characters escaped, length capped). */
export function printable(value: string): string {
  const s = JSON.stringify(value).slice(1, -1);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
