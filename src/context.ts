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
  /** Aborted on SIGINT, SIGTERM or SIGHUP. */
  signal: AbortSignal;
  /**
   * Runs `work`, which handles a stop signal itself (it watches `signal`, stops Vagrant and records
   * where the lab stands) and must be waited for. Outside such work, the CLI ends a command at
   * once on the first signal. Absent in tests: then it just runs `work`.
   */
  orderly?: <T>(work: () => Promise<T>) => Promise<T>;
  /**
   * Asks the user a question on the terminal and resolves with the answer; absent when stdin is
   * not a terminal (then nothing that needs a yes may happen without a flag saying so).
   */
  ask?: (question: string) => Promise<string>;
}

/** `work` under ctx.orderly when there is one. */
export function orderly<T>(ctx: Pick<Context, 'orderly'>, work: () => Promise<T>): Promise<T> {
  return ctx.orderly ? ctx.orderly(work) : work();
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
