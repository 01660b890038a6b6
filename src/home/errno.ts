import { existsSync, mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileSystemError } from '../errors.js';

/** The `code` of a Node system error (ENOENT, EEXIST…), or undefined for anything else. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * `mkdir -p` whose error is the real one: Node's recursive mkdir reports ENOENT when a parent
 * cannot be created (a read-only file system, no permission), so the first missing directory is
 * made on its own to learn why. Throws a FileSystemError naming the directory.
 */
export async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (e) {
    throw explainMkdirSync(path, e);
  }
}

export function makeDirectorySync(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    throw explainMkdirSync(path, e);
  }
}

function explainMkdirSync(path: string, e: unknown): unknown {
  let cause = e;
  if (errnoCode(e) === 'ENOENT') {
    // The first missing directory from the top: creating it alone gives the real reason.
    const parts: string[] = [];
    let p = path;
    while (!existsSync(p) && dirname(p) !== p) {
      parts.unshift(p);
      p = dirname(p);
    }
    const first = parts[0];
    if (first !== undefined) {
      try {
        mkdirSync(first);
      } catch (inner) {
        cause = inner;
      }
    }
  }
  return fileSystemError(cause, 'cannot create the directory', path) ?? cause;
}
