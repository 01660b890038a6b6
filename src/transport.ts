/**
 * The side-effect interfaces that pure code (health policy, pipeline) is given. Real
 * implementations live beside the thing they talk to (src/health/http.ts, src/vagrant/ssh.ts);
 * tests pass real ones against real processes, or small in-memory ones.
 */

export interface HttpResponse {
  status: number;
  body: string;
}

/** One HTTP GET with its own timeout. Rejects on network errors and timeouts (never hangs). */
export type HttpGet = (url: string, timeoutMs: number, signal?: AbortSignal) => Promise<HttpResponse>;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command on a lab machine (direct SSH with the data of `vagrant ssh-config`).
 * `argv` is passed as separate words; implementations quote for the remote shell.
 */
export interface RemoteExec {
  exec(machine: string, argv: string[], timeoutMs: number, signal?: AbortSignal): Promise<ExecResult>;
}
