import { existsSync, mkdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileSystemError } from '../errors.js';

/** The `code` of a Node system error (ENOENT, EEXIST…), or undefined for anything else. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * `mkdir -p` whose error is the real one, done one directory at a time from the first missing
 * one. Node's own recursive mkdir is not used: it reports ENOENT when a parent cannot be created
 * (a read-only file system, no permission), and where mkdir itself answers ENOENT under a
 * directory that exists (/proc, /sys) it retries forever at 100 % CPU. Throws a FileSystemError
 * naming the directory.
 */
export async function makeDirectory(path: string): Promise<void> {
  for (const dir of missingDirectories(path)) {
    try {
      await mkdir(dir);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && isDirectory(dir)) continue;
      throw fileSystemError(e, 'cannot create the directory', path) ?? e;
    }
  }
}

export function makeDirectorySync(path: string): void {
  for (const dir of missingDirectories(path)) {
    try {
      mkdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && isDirectory(dir)) continue;
      throw fileSystemError(e, 'cannot create the directory', path) ?? e;
    }
  }
}

/** The directories of `path` that do not exist, from the top down. */
function missingDirectories(path: string): string[] {
  const parts: string[] = [];
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) {
    parts.unshift(p);
    p = dirname(p);
  }
  // A file where the directory should be: mkdir gives the error (EEXIST) that names it.
  if (parts.length === 0 && !isDirectory(p)) parts.push(p);
  return parts;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
