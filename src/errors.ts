/**
 * Every failure cclab reports is one of these classes. Modules throw them; only src/cli.ts turns
 * them into text on stderr and an exit code. The exit codes are a public contract (README).
 */

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
  interrupted: 130,
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

export interface Problem {
  /** Where the problem is: a field path such as `spec.workers`, or `FILE:LINE`. */
  path: string;
  message: string;
}

/** A lab definition (built-in, --config file or flags) that breaks the rules. Carries every problem at once. */
export class LabConfigError extends CclabError {
  override readonly exitCode = ExitCode.invalidLab;
  override readonly kind = 'invalid-lab';
  readonly problems: Problem[];

  constructor(source: string, problems: Problem[], details: ErrorDetails = {}) {
    super(
      `${source} is not a valid lab:\n` + problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'),
      details,
    );
    this.problems = problems;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}

/** Files checked by `cclab validate` had errors. */
export class InvalidFileError extends CclabError {
  override readonly exitCode = ExitCode.invalidFile;
  override readonly kind = 'invalid-file';
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

  constructor(failures: PreflightFailure[], details: ErrorDetails = {}) {
    super(
      'preflight failed:\n' + failures.map((f) => `  ✗ ${f.check}: ${f.message}\n    fix: ${f.fix}`).join('\n'),
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

/** The user pressed Ctrl-C (or the process got SIGTERM). */
export class InterruptedError extends CclabError {
  override readonly exitCode = ExitCode.interrupted;
  override readonly kind = 'interrupted';
}

/** The last `lines` non-empty lines of a command's output. */
export function tail(output: string, lines: number): string {
  const all = output.replace(/\r/g, '').split('\n');
  while (all.length > 0 && all[all.length - 1]!.trim() === '') all.pop();
  return all.slice(-lines).join('\n');
}
