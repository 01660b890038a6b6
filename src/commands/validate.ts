/**
 * `cclab validate FILE… [--os flatcar|coreos] [--json] [--with-ignition-validate]`: check cloud-config
 * files by coreos-cloudinit's rules for the target OS (see src/validate/cloudconfig.ts), and Ignition
 * configs (a .ign/.json file, or any file whose content is JSON) by Ignition spec 3.3.0's rules (see
 * src/validate/ignition.ts); --with-ignition-validate also runs Ignition's own `ignition-validate`
 * on the Ignition files and adds what it finds that cclab did not.
 *
 * stdout: one `FILE:LINE: error|warning: message` line per problem, or with --json one JSON document
 * `{ files: [{ file, diagnostics }], errors, warnings }`. stderr: a one-line summary. Every file is
 * checked and reported before InvalidFileError is thrown (when at least one error was found); a file
 * that cannot be read is reported as an error of that file, not a crash.
 */

import { execa } from 'execa';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { binaryProblem, formatSize, readBounded, type BoundedRead } from '../bounded-read.js';
import type { Context } from '../context.js';
import { InvalidFileError, UsageError } from '../errors.js';
import { OSES } from '../lab/types.js';
import { validateCloudConfig, type Diagnostic, type TargetOs } from '../validate/cloudconfig.js';
import { looksLikeIgnition, validateIgnition } from '../validate/ignition.js';
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
  /** Also run `ignition-validate` (from PATH, or this path) on the Ignition files. */
  withIgnitionValidate?: boolean | string | undefined;
}

export async function run(opts: ValidateCommandOptions, ctx: Context): Promise<ValidationReport> {
  const os = opts.os ?? 'flatcar';
  if (!(OSES as readonly string[]).includes(os)) throw new UsageError(`unknown --os "${String(os)}": use ${OSES.join(' or ')}`);
  if (opts.files.length === 0) {
    throw new UsageError('no file to validate', { hint: 'usage: cclab validate FILE… [--os flatcar|coreos] [--json] [--with-ignition-validate]' });
  }

  const ignitionValidate = opts.withIgnitionValidate ? await findIgnitionValidate(opts.withIgnitionValidate, ctx) : undefined;
  const files: FileReport[] = [];
  let ignitionFiles = 0;
  for (const file of opts.files) {
    const checked = await validateFile(resolve(ctx.cwd, file), os, ignitionValidate, ctx);
    if (checked.ignition) ignitionFiles++;
    files.push({ file, diagnostics: checked.diagnostics });
  }
  const report = buildReport(files);

  ctx.io.out(opts.json === true ? formatValidationJson(report) : formatReport(report));
  ctx.io.err(`${formatSummary(report)}\n`);

  if (report.errors > 0) {
    const failing = files.filter((f) => f.diagnostics.some((d) => d.severity === 'error')).length;
    const what =
      ignitionFiles === files.length ? 'Ignition (spec 3.3.0)' : ignitionFiles === 0 ? `cloud-config for ${os === 'flatcar' ? 'Flatcar' : 'legacy CoreOS'}` : 'cloud-config or Ignition';
    throw new InvalidFileError(
      `${failing} of ${files.length} ${files.length === 1 ? 'file is' : 'files are'} not valid ${what}`,
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
 * seconds and hundreds of MB for a file no machine would be given. Ignition configs are held to the same.
 */
export const MAX_CLOUD_CONFIG_BYTES = 1024 * 1024;

async function validateFile(
  path: string,
  os: TargetOs,
  ignitionValidate: string | undefined,
  ctx: Context,
): Promise<{ ignition: boolean; diagnostics: Diagnostic[] }> {
  const problem = (message: string) => ({ ignition: false, diagnostics: [{ line: 0, severity: 'error' as const, message }] });
  const tooLarge = (what: string) =>
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
  const text = bytes.toString('utf8');
  if (!looksLikeIgnition(path, text)) return { ignition: false, diagnostics: validateCloudConfig(text, { os }) };
  const ours = validateIgnition(text);
  if (ignitionValidate === undefined) return { ignition: true, diagnostics: ours };
  return { ignition: true, diagnostics: mergeDiagnostics(ours, await runIgnitionValidate(ignitionValidate, path, ctx)) };
}

/** `ignition-validate` from PATH (true) or the path given; a usage error when it cannot be run. */
async function findIgnitionValidate(given: boolean | string, ctx: Context): Promise<string> {
  const bin = typeof given === 'string' && given !== '' ? given : 'ignition-validate';
  try {
    await execa(bin, ['--version'], { env: ctx.env as NodeJS.ProcessEnv, extendEnv: true, timeout: 30_000, reject: true });
    return bin;
  } catch {
    throw new UsageError('--with-ignition-validate: ignition-validate is not installed (or cannot be run)', {
      hint: 'install it (Debian and Ubuntu: apt-get install ignition), or leave out --with-ignition-validate',
    });
  }
}

/**
 * ignition-validate's findings as diagnostics. It prints `error at $.path, line L col C: message`,
 * `error at line L col C: message` (JSON it cannot decode) or `couldn't parse config: message`, and
 * exits non-zero on errors.
 */
export function parseIgnitionValidateOutput(output: string, exitCode: number): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const raw of output.split('\n')) {
    const text = raw.trim();
    if (text === '') continue;
    const m = /^(error|warning) at (?:(\$[^,]*), )?line (\d+) col (\d+): (.*)$/.exec(text);
    if (m) {
      out.push({ line: Number(m[3]), column: Number(m[4]), severity: m[1] as Diagnostic['severity'], message: `${m[2] ? `${m[2]}: ` : ''}${m[5]} (ignition-validate)` });
    } else out.push({ line: 0, severity: exitCode === 0 ? 'warning' : 'error', message: `${text} (ignition-validate)` });
  }
  if (exitCode !== 0 && !out.some((d) => d.severity === 'error')) out.push({ line: 0, severity: 'error', message: `ignition-validate exited with status ${exitCode}` });
  return out;
}

async function runIgnitionValidate(bin: string, path: string, ctx: Context): Promise<Diagnostic[]> {
  const r = await execa(bin, [path], { reject: false, all: true, timeout: 60_000, cancelSignal: ctx.signal, stdin: 'ignore' });
  return parseIgnitionValidateOutput(r.all ?? '', typeof r.exitCode === 'number' ? r.exitCode : 1);
}

/** cclab's diagnostics, then each of ignition-validate's whose JSON path and severity cclab did not report. */
function mergeDiagnostics(ours: Diagnostic[], theirs: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => `${d.severity} ${/^(\$[^:]*):/.exec(d.message)?.[1] ?? `line ${d.line}`}`;
  const seen = new Set(ours.map(key));
  const merged = [...ours];
  for (const d of theirs) {
    // A file cclab already refuses as a whole (no version, not JSON) needs no second opinion on it.
    if (d.line === 0 && d.severity === 'error' && ours.some((o) => o.severity === 'error')) continue;
    if (!seen.has(key(d))) merged.push(d);
  }
  return merged.sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
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
