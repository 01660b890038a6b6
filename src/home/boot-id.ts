/** This boot of the kernel (Linux's boot_id), read once; undefined where there is none. */
import { readFileSync } from 'node:fs';

let cached: string | null | undefined;

export function bootId(): string | undefined {
  if (cached === undefined) {
    try {
      cached = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}
