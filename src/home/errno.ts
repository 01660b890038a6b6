import { existsSync, mkdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileSystemError, fileSystemError } from '../errors.js';

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
      throw mkdirError(e, dir, path);
    }
  }
}

export function makeDirectorySync(path: string): void {
  for (const dir of missingDirectories(path)) {
    try {
      mkdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && isDirectory(dir)) continue;
      throw mkdirError(e, dir, path);
    }
  }
}

/**
 * mkdir's error as a FileSystemError. ENOENT under a parent that exists is not a vanished directory:
 * the parent is not an ordinary directory (a virtual file system such as /proc or /sys refuses new
 * entries that way), and the hint says so.
 */
function mkdirError(e: unknown, dir: string, path: string): unknown {
  const parent = dirname(dir);
  if (errnoCode(e) === 'ENOENT' && isDirectory(parent)) {
    return new FileSystemError(`cannot create the directory ${path}: ${parent} does not take new directories (ENOENT)`, {
      hint: `${parent} is not an ordinary directory (a virtual file system such as /proc or /sys refuses new entries): choose another location`,
      cause: e,
      path,
      code: 'ENOENT',
    });
  }
  return fileSystemError(e, 'cannot create the directory', path) ?? e;
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
