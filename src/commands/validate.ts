/**
 * `cclab validate FILE… [--os flatcar|coreos] [--json]`: check cloud-config files by coreos-cloudinit's
 * rules for the target OS (see src/validate/cloudconfig.ts).
 *
 * stdout: one `FILE:LINE: error|warning: message` line per problem, or with --json one JSON document
 * `{ files: [{ file, diagnostics }], errors, warnings }`. stderr: a one-line summary. Every file is
 * checked and reported before InvalidFileError is thrown (when at least one error was found); a file
 * that cannot be read is reported as an error of that file, not a crash.
 */

import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { binaryProblem, formatSize, readBounded, type BoundedRead } from '../bounded-read.js';
import type { Context } from '../context.js';
import { InvalidFileError, UsageError } from '../errors.js';
import { OSES } from '../lab/types.js';
import { validateCloudConfig, type Diagnostic, type TargetOs } from '../validate/cloudconfig.js';
import {
  buildReport,
  formatJson,
  formatReport,
  formatSummary,
  type FileReport,
  type ValidationReport,
} from '../validate/report.js';

export interface ValidateCommandOptions {
  /** Files to check (relative to ctx.cwd). */
  files: string[];
  /** Whose rules apply: Flatcar (default) or legacy CoreOS Container Linux. */
  os?: TargetOs | undefined;
  /** Print one JSON document instead of lines. */
  json?: boolean | undefined;
}

export async function run(opts: ValidateCommandOptions, ctx: Context): Promise<ValidationReport> {
  const os = opts.os ?? 'flatcar';
  if (!(OSES as readonly string[]).includes(os)) throw new UsageError(`unknown --os "${String(os)}": use ${OSES.join(' or ')}`);
  if (opts.files.length === 0) {
    throw new UsageError('no file to validate', { hint: 'usage: cclab validate FILE… [--os flatcar|coreos] [--json]' });
  }

  const files: FileReport[] = [];
  for (const file of opts.files) {
    files.push({ file, diagnostics: await validateFile(resolve(ctx.cwd, file), os) });
  }
  const report = buildReport(files);

  ctx.io.out(opts.json === true ? formatJson(report) : formatReport(report));
  ctx.io.err(`${formatSummary(report)}\n`);

  if (report.errors > 0) {
    const failing = files.filter((f) => f.diagnostics.some((d) => d.severity === 'error')).length;
    throw new InvalidFileError(
      `${failing} of ${files.length} ${files.length === 1 ? 'file is' : 'files are'} not valid cloud-config for ${os === 'flatcar' ? 'Flatcar' : 'legacy CoreOS'}`,
      {
        hint: 'fix the lines marked "error" above (warnings alone do not fail validation)',
      },
    );
  }
  return report;
}

/**
 * The most `validate` reads of one file (after gunzip): 4× the largest user-data common platforms accept
 * (GCE: 256 KB per metadata value; Azure and OpenStack: 64 KB; EC2: 16 KB). Past it, parsing would take
 * seconds and hundreds of MB for a file no machine would be given.
 */
export const MAX_CLOUD_CONFIG_BYTES = 1024 * 1024;

async function validateFile(path: string, os: TargetOs): Promise<Diagnostic[]> {
  const problem = (message: string): Diagnostic[] => [{ line: 0, severity: 'error', message }];
  const tooLarge = (what: string): Diagnostic[] =>
    problem(
      `${what} is larger than ${formatSize(MAX_CLOUD_CONFIG_BYTES)}, the most cclab validate reads: no platform passes that much user-data to a machine (GCE takes 256 KB); is it the right file?`,
    );
  let read: BoundedRead;
  try {
    read = await readBounded(path, MAX_CLOUD_CONFIG_BYTES);
  } catch (error) {
    return problem(`cannot read the file: ${readProblem(error)}`);
  }
  if (read.tooLarge) return tooLarge('the file');
  let bytes = read.bytes;
  // coreos-cloudinit gunzips user-data that starts with gzip's magic bytes before reading it.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_CLOUD_CONFIG_BYTES });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge('the gzip-compressed file, uncompressed,');
      return problem('the file starts like gzip data but does not decompress: coreos-cloudinit would read it as it is, and it is not text');
    }
  }
  const binary = binaryProblem(bytes);
  if (binary) return problem(`not a text file: ${binary}; a cloud-config is UTF-8 text starting with "#cloud-config"`);
  return validateCloudConfig(bytes.toString('utf8'), { os });
}

function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a parent of it is not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
