/**
 * Reading a file the user named, with a size limit: a path like /dev/urandom, /dev/zero or a huge log must
 * end in a clear error after `limit` bytes, never grow a buffer until memory runs out. Works for regular
 * files, devices and FIFOs alike (it stops reading instead of trusting the size the file system reports).
 */

import { open } from 'node:fs/promises';

export interface BoundedRead {
  /** At most `limit` bytes. */
  bytes: Buffer;
  /** True when the file holds more than `limit` bytes (then `bytes` is only its beginning). */
  tooLarge: boolean;
}

const CHUNK = 64 * 1024;

export async function readBounded(path: string, limit: number): Promise<BoundedRead> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    // One byte past the limit tells "exactly the limit" from "more".
    while (total <= limit) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
    const all = Buffer.concat(chunks, total);
    return total > limit ? { bytes: all.subarray(0, limit), tooLarge: true } : { bytes: all, tooLarge: false };
  } finally {
    await handle.close();
  }
}

/** "64 KiB", "1 MiB", "20.5 MiB" for messages. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Why these bytes are not text, or undefined: a NUL byte, or a byte sequence that is not UTF-8. Names the
 * offset so the user can look.
 */
export function binaryProblem(bytes: Buffer): string | undefined {
  const nul = bytes.indexOf(0);
  if (nul >= 0) return `it contains a NUL byte (at byte ${nul})`;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'it is not UTF-8 text';
  }
  return undefined;
}
