/** Durations as users write them (`90s`, `2m`, `1m30s`, `500ms`, `10` = seconds) and as cclab prints them. */

import { UsageError } from '../errors.js';

/** `cclab check` waits this long by default. */
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into milliseconds. A plain number is seconds. Throws UsageError naming `flag`
 * for anything else (negative, empty, unknown unit).
 */
export function parseDuration(value: string | number, flag = '--timeout'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw badDuration(String(value), flag);
    return Math.round(value * 1000);
  }
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) throw badDuration(value, flag);
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return Math.round(total);
}

function badDuration(value: string, flag: string): UsageError {
  return new UsageError(`${flag}: "${value}" is not a duration`, {
    hint: 'write a duration such as 90s, 2m, 1m30s, 500ms, or a number of seconds',
  });
}

/** 2000 → `2s`, 1500 → `1.5s`, 90000 → `1m30s`, 250 → `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
