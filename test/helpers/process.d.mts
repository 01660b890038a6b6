/** Types of ./process.mjs. */
export declare function freePorts(n: number): Promise<number[]>;
export declare function freePort(): Promise<number>;
export declare function sleep(ms: number): Promise<void>;

export interface Daemon {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or null after a signal) when the process has exited. */
  exited: Promise<number | null>;
  running(): boolean;
  /** SIGTERM by PID, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL by PID (for teardown, when the data is thrown away) and wait until it has exited. */
  kill(): Promise<void>;
  logTail(lines?: number): string;
}

export declare function spawnDaemon(
  name: string,
  argv: string[],
  logFile: string,
  opts?: { env?: NodeJS.ProcessEnv | undefined; cwd?: string | undefined },
): Daemon;

/** Polls `ready` every 100 ms until it returns true; throws (with the daemon's log) after `timeoutMs`. */
export declare function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs?: number, daemon?: Daemon): Promise<void>;
