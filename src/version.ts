import { readFileSync } from 'node:fs';

/** cclab's version, from package.json (read once, when first asked). */
let cached: string | undefined;
export function version(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
