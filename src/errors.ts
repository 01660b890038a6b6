/**
 * Every failure cclab reports is one of these classes. Modules throw them; only src/cli.ts turns
 * them into text on stderr and an exit code. The exit codes are a public contract (README).
 */
import { dirname } from 'node:path';

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalidLab: 3,
  preflight: 4,
  commandFailed: 5,
  unhealthy: 6,
  busy: 7,
  notFound: 8,
  invalidFile: 9,
  /** A file or directory could not be read or written (full disk, permissions, a file in the way). */
  fileSystem: 10,
  /** A download failed: the server answered with an error, went away, or sent less than it announced. */
  download: 11,
  /** Stopped by SIGHUP (the terminal went away): 128 + 1. */
  hangup: 129,
  /** Stopped by Ctrl-C (SIGINT): 128 + 2. */
  interrupted: 130,
  /** Stopped by SIGTERM: 128 + 15. */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  hint?: string;
  cause?: unknown;
}

export class CclabError extends Error {
  readonly exitCode: ExitCode = ExitCode.internal;
  readonly hint: string | undefined;
  /** A short machine-readable kind for --json output. */
  readonly kind: string = 'internal';

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, message: this.message, exitCode: this.exitCode, hint: this.hint };
  }
}

/** Wrong flags or arguments. */
export class UsageError extends CclabError {
  override readonly exitCode = ExitCode.usage;
  override readonly kind = 'usage';
}

/**
 * Options that each make sense but not together (Ignition for a VirtualBox lab, cloud-config for
 * matchbox): the message names the combination, the hint what to use instead. A usage error (exit 2).
 */
export class UnsupportedCombinationError extends CclabError {
  override readonly exitCode = ExitCode.usage;
  override readonly kind = 'unsupported-combination';
  /** The options that clash, e.g. { provisioning: 'ignition', provider: 'virtualbox' }. */
  readonly combination: Record<string, string>;

  constructor(combination: Record<string, string>, message: string, details: ErrorDetails = {}) {
    super(message, details);
    this.combination = combination;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), combination: this.combination };
  }
}

export interface Problem {
  /** Where the problem is: a field path such as `spec.workers`, or `FILE:LINE`. */
  path: string;
  message: string;
  /** The command-line flag the value came from (`workers` for --workers), when it came from one. */
  flag?: string;
}

function problemLines(problems: Problem[]): string {
  return problems.map((p) => `  - ${p.flag ? `--${p.flag}: ` : p.path ? `${p.path}: ` : ''}${p.message}`).join('\n');
}

/** A lab definition (built-in, --config file or flags) that breaks the rules. Carries every problem at once. */
export class LabConfigError extends CclabError {
  override readonly exitCode = ExitCode.invalidLab;
  override readonly kind = 'invalid-lab';
  readonly problems: Problem[];

  constructor(source: string, problems: Problem[], details: ErrorDetails = {}) {
    super(`${source} is not a valid lab:\n` + problemLines(problems), details);
    this.problems = problems;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}

/**
 * Values given on the command line that break the lab's rules (`--workers 0` for dev): a usage
 * error (exit 2), as a value that is not a whole number is, naming the flags and not the lab file.
 */
export class OptionValuesError extends UsageError {
  readonly problems: Problem[];

  constructor(problems: Problem[], details: ErrorDetails = {}) {
    const only = problems.length === 1 ? problems[0]! : undefined;
    super(only ? `--${only.flag}: ${only.message}` : `these options are not valid:\n${problemLines(problems)}`, details);
    this.problems = problems;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}

/** A LabConfigError whose every problem came from a flag is about the command line: OptionValuesError. */
export function blameFlags(e: unknown): unknown {
  if (e instanceof LabConfigError && e.problems.length > 0 && e.problems.every((p) => p.flag)) {
    return new OptionValuesError(e.problems, { hint: e.hint, cause: e });
  }
  return e;
}
/** Files checked by `cclab validate` had errors. */
export class InvalidFileError extends CclabError {
  override readonly exitCode = ExitCode.invalidFile;
  override readonly kind = 'invalid-file';
}

/**
 * An image that is not what it must be: its SHA-512 differs from the release's DIGESTS (or the
 * DIGESTS do not list it), its signature does not verify, or it is not a qcow2. Exit 9, as for
 * files `cclab validate` refuses. Names the file.
 */
export class InvalidImageError extends CclabError {
  override readonly exitCode = ExitCode.invalidFile;
  override readonly kind = 'invalid-image';
  readonly path: string | undefined;

  constructor(message: string, details: ErrorDetails & { path?: string | undefined } = {}) {
    super(message, details);
    this.path = details.path;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), path: this.path };
  }
}

/**
 * A download that failed: a status other than 2xx (named with the URL), a connection that broke
 * or went quiet, a body shorter than announced, a redirect loop. What was received of an image is
 * kept for the next run to resume.
 */
export class DownloadError extends CclabError {
  override readonly exitCode = ExitCode.download;
  override readonly kind = 'download';
  readonly url: string;
  readonly status: number | undefined;

  constructor(message: string, details: ErrorDetails & { url: string; status?: number | undefined }) {
    super(message, details);
    this.url = details.url;
    this.status = details.status;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), url: this.url, status: this.status };
  }
}

export interface PreflightFailure {
  check: string;
  message: string;
  fix: string;
}

/** The host cannot run the lab (Vagrant missing, provider unusable, subnet clash, port taken…). */
export class PreflightError extends CclabError {
  override readonly exitCode = ExitCode.preflight;
  override readonly kind = 'preflight';
  readonly failures: PreflightFailure[];

  /** `printed`: the failures are already on the screen (doctor's list): the message only counts them. */
  constructor(failures: PreflightFailure[], details: ErrorDetails & { printed?: boolean } = {}) {
    super(
      details.printed
        ? `preflight failed: ${failures.length} check${failures.length === 1 ? '' : 's'} failed (✗ above)`
        : 'preflight failed:\n' + failures.map((f) => `  ✗ ${f.check}: ${f.message}\n    fix: ${f.fix}`).join('\n'),
      details,
    );
    this.failures = failures;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failures: this.failures };
  }
}

/** An external command (vagrant, ssh) failed. Names the argv and carries the tail of its output. */
export class CommandError extends CclabError {
  override readonly exitCode = ExitCode.commandFailed;
  override readonly kind = 'command-failed';
  readonly command: string[];
  readonly exitStatus: number | undefined;
  readonly outputTail: string;
  readonly machine: string | undefined;

  constructor(
    message: string,
    info: { command: string[]; exitStatus?: number | undefined; output?: string; machine?: string | undefined },
    details: ErrorDetails = {},
  ) {
    super(message, details);
    this.command = info.command;
    this.exitStatus = info.exitStatus;
    this.outputTail = tail(info.output ?? '', 20);
    this.machine = info.machine;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      command: this.command,
      exitStatus: this.exitStatus,
      machine: this.machine,
      outputTail: this.outputTail,
    };
  }
}

/** Health checks finished with at least one failure. */
export class UnhealthyError extends CclabError {
  override readonly exitCode = ExitCode.unhealthy;
  override readonly kind = 'unhealthy';
}

/** Another cclab process holds the lab's lock. */
export class LabBusyError extends CclabError {
  override readonly exitCode = ExitCode.busy;
  override readonly kind = 'busy';
}

/** A lab (or machine) named by the user does not exist. */
export class NotFoundError extends CclabError {
  override readonly exitCode = ExitCode.notFound;
  override readonly kind = 'not-found';
}

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

const SIGNAL_EXIT: Record<StopSignal, ExitCode> = { SIGINT: ExitCode.interrupted, SIGTERM: ExitCode.terminated, SIGHUP: ExitCode.hangup };

/** The user pressed Ctrl-C, or the process got SIGTERM or SIGHUP: exit 128 + the signal's number. */
export class InterruptedError extends CclabError {
  override readonly exitCode: ExitCode;
  override readonly kind = 'interrupted';
  readonly signal: StopSignal;

  constructor(message: string, details: ErrorDetails & { signal?: StopSignal | undefined } = {}) {
    super(message, details);
    this.signal = details.signal ?? 'SIGINT';
    this.exitCode = SIGNAL_EXIT[this.signal];
  }

  /** The same interruption with another message and hint (the signal is kept). */
  restated(message: string, hint?: string): InterruptedError {
    return new InterruptedError(message, { hint, signal: this.signal, cause: this });
  }
}

/** A lab.json that cannot be read as a manifest: bad JSON, another program's file, a newer schema. */
export class CorruptManifestError extends CclabError {
  override readonly kind = 'corrupt-manifest';
  /** Not a bug in cclab: the lab's state on disk is unusable (same code as an invalid lab). */
  override readonly exitCode = ExitCode.invalidLab;
  readonly path: string;

  constructor(path: string, reason: string, details: ErrorDetails = {}) {
    super(`${path} is not a usable cclab manifest: ${reason}`, details);
    this.path = path;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), path: this.path };
  }
}

/**
 * A file or directory cclab needed could not be read or written: the disk is full, permission is
 * denied, a file stands where a directory must be, the directory vanished. Names the path and a fix.
 */
export class FileSystemError extends CclabError {
  override readonly exitCode = ExitCode.fileSystem;
  override readonly kind = 'file-system';
  readonly path: string | undefined;
  readonly code: string | undefined;

  constructor(message: string, details: ErrorDetails & { path?: string | undefined; code?: string | undefined } = {}) {
    super(message, details);
    this.path = details.path;
    this.code = details.code;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), path: this.path, code: this.code };
  }
}

const FS_PROBLEMS: Record<string, { what: string; fix: (path: string) => string }> = {
  ENOSPC: { what: 'no space left on the device', fix: (p) => `free some space on the file system of ${p} (\`df -h ${dirname(p)}\`), then run the command again` },
  EDQUOT: { what: 'disk quota exceeded', fix: (p) => `free some space under your quota on the file system of ${p}, then run the command again` },
  EROFS: { what: 'the file system is read-only', fix: (p) => `use a writable location instead of ${p} (for labs: set CCLAB_HOME)` },
  EACCES: { what: 'permission denied', fix: (p) => `check the permissions of ${p} and its parent directories, or use another location (for labs: set CCLAB_HOME)` },
  EPERM: { what: 'operation not permitted', fix: (p) => `check the permissions and attributes of ${p}, or use another location` },
  EEXIST: { what: 'a file is in the way', fix: (p) => `remove or rename ${p}, or choose another path` },
  ENOTDIR: { what: 'a part of the path is a file, not a directory', fix: (p) => `remove or rename the file in the path ${p}, or choose another path` },
  EISDIR: { what: 'it is a directory', fix: (p) => `give the path of a file, not the directory ${p}` },
  ENOENT: { what: 'no such file or directory', fix: (p) => `check that ${p} exists (a directory may have been removed while cclab ran); run the command again` },
  ENAMETOOLONG: { what: 'the path is too long', fix: () => 'choose a shorter path' },
  ELOOP: { what: 'too many symbolic links', fix: (p) => `check the symbolic links in ${p}` },
  EMFILE: { what: 'too many open files', fix: () => 'raise the open-file limit (`ulimit -n`) and run the command again' },
  ENFILE: { what: 'too many open files on this system', fix: () => 'close some programs and run the command again' },
  EIO: { what: 'an input/output error', fix: (p) => `check the device that holds ${p}` },
  ENXIO: { what: 'no such device', fix: (p) => `${p} is a special file cclab cannot use; give a regular file` },
  ETXTBSY: { what: 'the file is busy', fix: (p) => `wait for the program using ${p} to finish` },
  EBUSY: { what: 'the file is busy', fix: (p) => `wait for the program using ${p} to finish` },
};

/** The Node system error `e` (ENOSPC, EACCES…) as a FileSystemError naming `path`; undefined for anything else. */
export function fileSystemError(e: unknown, action?: string, path?: string): FileSystemError | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as NodeJS.ErrnoException;
  const code = typeof err.code === 'string' ? err.code : undefined;
  const problem = code !== undefined ? FS_PROBLEMS[code] : undefined;
  if (code === undefined || problem === undefined) return undefined;
  const where = path ?? err.path ?? (err as { dest?: string }).dest;
  if (where === undefined && !(typeof err.syscall === 'string')) return undefined;
  const doing = action ?? describeSyscall(err.syscall);
  return new FileSystemError(`${doing}${where !== undefined ? ` ${where}` : ''}: ${problem.what} (${code})`, {
    hint: problem.fix(where ?? 'the path'),
    cause: e,
    path: where,
    code,
  });
}

function describeSyscall(syscall: string | undefined): string {
  switch (syscall) {
    case 'open':
    case 'read':
    case 'scandir':
    case 'stat':
    case 'lstat':
    case 'readlink':
      return 'cannot read';
    case 'mkdir':
      return 'cannot create the directory';
    case 'rmdir':
    case 'unlink':
    case 'rm':
      return 'cannot remove';
    case 'rename':
    case 'link':
    case 'symlink':
    case 'write':
    case 'fsync':
    case 'copyfile':
      return 'cannot write';
    default:
      return 'cannot use';
  }
}

/**
 * Any error as a CclabError: file-system errors of Node become FileSystemError, everything else
 * that is not a CclabError is left alone (it is a bug, reported as such).
 */
export function classify(e: unknown): unknown {
  if (e instanceof CclabError) return e;
  return fileSystemError(e) ?? e;
}

/** The last `lines` non-empty lines of a command's output. */
export function tail(output: string, lines: number): string {
  const all = output.replace(/\r/g, '').split('\n');
  while (all.length > 0 && all[all.length - 1]!.trim() === '') all.pop();
  return all.slice(-lines).join('\n');
}
