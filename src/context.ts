/**
 * What a command needs from the outside world, passed in by src/cli.ts (and by tests).
 * Commands never read process.argv, process.env or process.exit themselves.
 */

export interface Io {
  /** Data (the command's result): stdout. */
  out(text: string): void;
  /** Progress, logs and errors: stderr. */
  err(text: string): void;
  /** Whether stderr is a terminal (live progress rendering). */
  isTTY: boolean;
  /** The real stderr stream, for the live progress renderer when isTTY. */
  errStream?: NodeJS.WriteStream;
}

export interface Context {
  io: Io;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/** An Io that collects output in memory, for tests. */
export function memoryIo(isTTY = false): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTTY,
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
  };
  return io;
}
