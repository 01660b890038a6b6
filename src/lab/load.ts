/**
 * Reading lab definitions from disk: the built-in ones in labs/ and the user's --config file,
 * plus the SSH public keys they name. The only file I/O of the lab model.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabConfigError, NotFoundError, UsageError } from '../errors.js';
import { parseLabDocument, type LabDocument } from './schema.js';
import { ARCHITECTURES, type Architecture } from './types.js';

/** labs/ at the package root (../../labs from both src/lab and dist/lab). */
export const BUILTIN_LABS_DIR = fileURLToPath(new URL('../../labs/', import.meta.url));

export interface LoadedDocument {
  document: LabDocument;
  source: string;
  /** Directory that relative paths in the document are taken from. */
  baseDir: string;
}

export async function loadBuiltinLab(architecture: string): Promise<LoadedDocument> {
  if (!(ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new UsageError(`unknown architecture "${architecture}"`, {
      hint: `choose one of ${ARCHITECTURES.join(', ')}, or pass your own lab file with --config FILE`,
    });
  }
  const file = resolve(BUILTIN_LABS_DIR, `${architecture as Architecture}.yaml`);
  const text = await readFile(file, 'utf8');
  return { document: parseLabDocument(text, `labs/${architecture}.yaml`), source: `labs/${architecture}.yaml`, baseDir: BUILTIN_LABS_DIR };
}

export async function loadLabFile(path: string, cwd: string): Promise<LoadedDocument> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`lab file ${path} does not exist`, { hint: 'check the path given to --config' });
    throw new LabConfigError(path, [{ path: '', message: `cannot read it: ${(e as Error).message}` }]);
  }
  return { document: parseLabDocument(text, path), source: path, baseDir: dirname(file) };
}

/** Reads each public key file; every unreadable file is reported at once. */
export async function readSshKeys(paths: string[], baseDir: string, source: string): Promise<{ source: string; content: string }[]> {
  const results = await Promise.allSettled(paths.map((p) => readFile(isAbsolute(p) ? p : resolve(baseDir, p), 'utf8')));
  const problems = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ path: 'sshKeys', message: `cannot read ${paths[i]}: ${(r.reason as Error).message}` }] : [],
  );
  if (problems.length > 0) throw new LabConfigError(source, problems);
  return results.map((r, i) => ({ source: paths[i]!, content: (r as PromiseFulfilledResult<string>).value }));
}
