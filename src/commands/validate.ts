/**
 * `cclab validate FILE… [--os flatcar|coreos] [--json]`: check cloud-config files by coreos-cloudinit's
 * rules for the target OS (see src/validate/cloudconfig.ts).
 *
 * stdout: one `FILE:LINE: error|warning: message` line per problem, or with --json one JSON document
 * `{ files: [{ file, diagnostics }], errors, warnings }`. stderr: a one-line summary. Every file is
 * checked and reported before InvalidFileError is thrown (when at least one error was found); a file
 * that cannot be read is reported as an error of that file, not a crash.
 */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import { InvalidFileError, UsageError } from '../errors.js';
import { OSES } from '../lab/types.js';
import { validateCloudConfig, type Diagnostic, type TargetOs } from '../validate/cloudconfig.js';
import {
  buildReport,
  formatValidationJson,
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

  ctx.io.out(opts.json === true ? formatValidationJson(report) : formatReport(report));
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

async function validateFile(path: string, os: TargetOs): Promise<Diagnostic[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return [{ line: 0, severity: 'error', message: `cannot read the file: ${readProblem(error)}` }];
  }
  return validateCloudConfig(text, { os });
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
