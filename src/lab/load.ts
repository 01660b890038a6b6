/**
 * Reading lab definitions from disk: the built-in ones in labs/ and the user's --config file,
 * plus the SSH public keys they name. The only file I/O of the lab model.
 */
import { readFile } from 'node:fs/promises';
import { readText } from '../bounded-read.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabConfigError, NotFoundError, UsageError } from '../errors.js';
import { shown } from './shown.js';
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

/** The most read of a lab file: hand-written lab files are a few KiB. */
export const MAX_LAB_FILE_BYTES = 1024 * 1024;
/** The most read of an SSH public key file: an OpenSSH public key line is well under 16 KiB. */
export const MAX_SSH_KEY_BYTES = 16 * 1024;

export async function loadLabFile(path: string, cwd: string): Promise<LoadedDocument> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  const text = await readText(file, MAX_LAB_FILE_BYTES, 'a lab file', (e) => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new NotFoundError(`lab file ${shown(path)} does not exist`, { hint: 'check the path given to --config' });
    return new LabConfigError(shown(path), [{ path: '', message: `cannot read it: ${shown((e as Error).message)}` }]);
  }, (message) => new LabConfigError(shown(path), [{ path: '', message }]));
  return { document: parseLabDocument(text, path), source: path, baseDir: dirname(file) };
}

/**
 * Reads each public key file (at most MAX_SSH_KEY_BYTES of each); every unreadable file is reported
 * at once. `flag`: the flag that named them (`ssh-key`), so problems name it.
 */
export async function readSshKeys(paths: string[], baseDir: string, source: string, flag?: string): Promise<{ source: string; content: string; flag?: string }[]> {
  // Read in parallel, reported in the order the files were given.
  const results = await Promise.all(
    paths.map((p) =>
      readText(
        isAbsolute(p) ? p : resolve(baseDir, p),
        MAX_SSH_KEY_BYTES,
        'a public key file',
        (e) => new Error(`cannot read ${shown(p)}: ${shown((e as Error).message)}`),
        (message) => new Error(`${shown(p)}: ${message}`),
      ).then(
        (content) => ({ content }),
        (e: Error) => ({ problem: { path: 'sshKeys', message: e.message, ...(flag && { flag }) } }),
      ),
    ),
  );
  const problems = results.flatMap((r) => ('problem' in r ? [r.problem] : []));
  if (problems.length > 0) throw new LabConfigError(source, problems);
  const contents = results.map((r) => ('content' in r ? r.content : ''));
  return contents.map((content, i) => ({ source: paths[i]!, content, ...(flag && { flag }) }));
}

