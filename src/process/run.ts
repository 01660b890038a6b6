/**
 * The process layer: one way to run a program that cclab waits for (Vagrant, and whatever else
 * needs the same care). The child runs in a process group of its own, so a Ctrl-C in the terminal
 * reaches cclab only and cclab decides what the child gets: aborting `signal` sends it one SIGINT
 * (Vagrant cleans up on one; a second would make it quit without cleaning up), then SIGTERM after
 * `interruptGraceMs` and SIGKILL `killGraceMs` later. Every running group is registered in
 * ./children.ts, so src/cli.ts can end them if it has to exit first. Output lines reach `onLine`
 * as they arrive, split on `\n` and `\r` (progress bars redraw with `\r`), without terminal escapes.
 *
 * It never throws for how the program ended: the caller turns the result into its own errors.
 */
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { registerChild } from './children.js';

export interface RunInGroupOptions {
  cwd: string;
  /** The whole environment (nothing is inherited). */
  env: Record<string, string>;
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
  /** How long the child gets to clean up after SIGINT before SIGTERM. */
  interruptGraceMs: number;
  /** After SIGTERM, how long before SIGKILL. */
  killGraceMs: number;
}

export type GroupResult =
  /** It ran and exited with a status. */
  | { kind: 'exited'; exitCode: number; stdout: string; stderr: string; output: string; aborted: boolean }
  /** It could not start (`code`: ENOENT, EACCES…) or was killed by a signal (`signal`). */
  | { kind: 'failed'; code: string | undefined; signal: string | undefined; message: string; output: string; aborted: boolean };

// CSI sequences (colours, `ESC [ K` clear-line) and OSC sequences.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/**
 * Splits a chunk of finished output into the lines a progress display should show: carriage
 * returns (download progress rewriting its line) split lines too, terminal escapes are removed,
 * trailing blanks and empty lines are dropped.
 */
export function displayLines(text: string): string[] {
  return text
    .split(/\r\n|\n|\r/)
    .map((l) => l.replace(ANSI, '').trimEnd())
    .filter((l) => l.trim() !== '');
}

/** Splits a byte stream into complete lines for `onLine`, keeping the unfinished tail. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk;
      const cut = Math.max(pending.lastIndexOf('\n'), pending.lastIndexOf('\r'));
      if (cut < 0) return;
      const done = pending.slice(0, cut + 1);
      pending = pending.slice(cut + 1);
      for (const l of displayLines(done)) onLine(l);
    },
    flush() {
      for (const l of displayLines(pending)) onLine(l);
      pending = '';
    },
  };
}

/**
 * Aborting `signal` sends the child one SIGINT, then SIGTERM after `interruptGraceMs` and SIGKILL
 * `killGraceMs` later. Returns whether it was aborted, and the clean-up.
 */
function escalation(child: { kill(signal: NodeJS.Signals): boolean }, opts: Pick<RunInGroupOptions, 'signal' | 'interruptGraceMs' | 'killGraceMs'>) {
  const timers: NodeJS.Timeout[] = [];
  const state = { aborted: false };
  const onAbort = () => {
    state.aborted = true;
    child.kill('SIGINT');
    timers.push(
      setTimeout(() => {
        child.kill('SIGTERM');
        timers.push(setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs).unref());
      }, opts.interruptGraceMs).unref(),
    );
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    state,
    done() {
      opts.signal?.removeEventListener('abort', onAbort);
      for (const t of timers) clearTimeout(t);
    },
  };
}

export async function runInGroup(bin: string, args: string[], opts: RunInGroupOptions): Promise<GroupResult> {
  const child = execa(bin, args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    reject: false,
    detached: true,
    encoding: 'utf8',
    stripFinalNewline: false,
    // The escalation is ours (SIGINT, then SIGTERM, then SIGKILL); execa's is two steps.
    forceKillAfterDelay: false,
  });
  const unregister = registerChild(child.pid);
  const stop = escalation(child, opts);
  const onLine = opts.onLine;
  if (onLine) {
    for (const stream of [child.stdout, child.stderr]) {
      const split = lineSplitter(onLine);
      const decoder = new StringDecoder('utf8');
      stream?.on('data', (chunk: Buffer) => split.push(decoder.write(chunk)));
      stream?.on('end', () => {
        split.push(decoder.end());
        split.flush();
      });
    }
  }
  try {
    const r = await child;
    const output = String(r.all ?? '');
    const aborted = stop.state.aborted;
    if (r.exitCode === undefined) {
      return { kind: 'failed', code: r.code, signal: r.signal, message: r.originalMessage ?? r.shortMessage ?? '', output, aborted };
    }
    return { kind: 'exited', exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), output, aborted };
  } finally {
    unregister();
    stop.done();
  }
}

export interface StreamInGroupOptions extends Omit<RunInGroupOptions, 'onLine'> {
  /** Where the program's stdout goes, with backpressure (a file stream, a hashing transform…). */
  output: NodeJS.WritableStream;
}

export type StreamResult =
  /** It ran and exited with a status (stdout is all in `output` when the status is 0). */
  | { kind: 'exited'; exitCode: number; stderr: string; aborted: boolean }
  /** It could not start (`code`: ENOENT, EACCES…) or was killed by a signal (`signal`). */
  | { kind: 'failed'; code: string | undefined; signal: string | undefined; message: string; stderr: string; aborted: boolean }
  /** `output` failed (a full disk, a format check that refused the bytes): the program was ended. */
  | { kind: 'output-failed'; error: unknown; stderr: string; aborted: boolean };

/**
 * Runs a filter (`bzip2 -dc FILE`) whose stdout is binary data streamed into `output`, in its own
 * process group like runInGroup. stderr is kept (for the error message). When `output` fails, the
 * program is ended with SIGTERM and the output's error is returned (whatever the program's status).
 */
export async function streamInGroup(bin: string, args: string[], opts: StreamInGroupOptions): Promise<StreamResult> {
  const child = execa(bin, args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    encoding: 'buffer',
    reject: false,
    detached: true,
    forceKillAfterDelay: false,
  });
  const unregister = registerChild(child.pid);
  const stop = escalation(child, opts);
  const piped = pipeline(child.stdout, opts.output).then(
    () => undefined,
    (error: unknown) => {
      child.kill('SIGTERM');
      return { error };
    },
  );
  try {
    const [r, outputFailed] = await Promise.all([child, piped]);
    const stderr = new TextDecoder().decode(r.stderr as Uint8Array | undefined);
    const aborted = stop.state.aborted;
    // A program that could not start: its stdout was never there.
    if (r.exitCode === undefined && r.signal === undefined && r.code !== undefined) {
      return { kind: 'failed', code: r.code, signal: undefined, message: r.originalMessage ?? r.shortMessage ?? '', stderr, aborted };
    }
    // The output's own failure explains what happened (the program then dies of SIGPIPE or of
    // our SIGTERM, which says nothing).
    if (outputFailed !== undefined && !aborted) return { kind: 'output-failed', error: outputFailed.error, stderr, aborted };
    if (r.exitCode === undefined) {
      return { kind: 'failed', code: r.code, signal: r.signal, message: r.originalMessage ?? r.shortMessage ?? '', stderr, aborted };
    }
    return { kind: 'exited', exitCode: r.exitCode, stderr, aborted };
  } finally {
    unregister();
    stop.done();
  }
}
