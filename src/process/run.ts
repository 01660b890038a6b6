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
  const timers: NodeJS.Timeout[] = [];
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    child.kill('SIGINT');
    timers.push(
      setTimeout(() => {
        child.kill('SIGTERM');
        timers.push(setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs).unref());
      }, opts.interruptGraceMs).unref(),
    );
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
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
    if (r.exitCode === undefined) {
      return { kind: 'failed', code: r.code, signal: r.signal, message: r.originalMessage ?? r.shortMessage ?? '', output, aborted };
    }
    return { kind: 'exited', exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), output, aborted };
  } finally {
    unregister();
    opts.signal?.removeEventListener('abort', onAbort);
    for (const t of timers) clearTimeout(t);
  }
}
