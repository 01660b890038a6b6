/**
 * Local resources for tests: free TCP ports on 127.0.0.1 (chosen by the kernel at run time), and the
 * daemons tests start on them.
 */

import { spawn } from 'node:child_process';
import { accessSync, constants, openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';

/** `n` distinct free ports: every listener stays open until all are known, then all close. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

// ---------------------------------------------------------------------------------------------
// The daemons tests start on those ports (etcd, dockerd): spawned with a log file, tracked by PID,
// stopped by PID — on teardown, and as a last resort when the test process exits.

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

const live = new Set<Daemon>();
process.on('exit', () => {
  for (const d of live) {
    try {
      process.kill(d.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export function spawnDaemon(name: string, argv: string[], logFile: string): Daemon {
  const fd = openSync(logFile, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: ${argv[0]} did not start`);
  let alive = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      alive = false;
      live.delete(daemon);
      resolve(code);
    });
    child.once('error', () => {
      alive = false;
      live.delete(daemon);
      resolve(null);
    });
  });
  const daemon: Daemon = {
    name,
    pid: child.pid,
    logFile,
    exited,
    running: () => alive,
    async stop(graceMs = 10_000) {
      if (!alive) return;
      process.kill(daemon.pid, 'SIGTERM');
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([exited.then(() => 'done' as const), timer])) === 'late' && alive) {
        process.kill(daemon.pid, 'SIGKILL');
        await exited;
      }
    },
    async kill() {
      if (!alive) return;
      process.kill(daemon.pid, 'SIGKILL');
      await exited;
    },
    logTail(lines = 15) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
  live.add(daemon);
  return daemon;
}

/** Polls `ready` every 100 ms until it returns true; throws (with the daemon's log) after `timeoutMs`. */
export async function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs = 20_000, daemon?: Daemon): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (daemon && !daemon.running()) throw new Error(`${what}: ${daemon.name} exited\n${daemon.logTail()}`);
    if (Date.now() > until) throw new Error(`${what}: not ready after ${timeoutMs / 1000}s${daemon ? `\n${daemon.logTail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

interface TapLike {
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
}

/**
 * True when every binary is installed. Otherwise: under CI=true the test fails (a CI machine must
 * have them); elsewhere the test is skipped with a message naming what is missing.
 */
export function requireBinaries(t: TapLike, binaries: string[]): boolean {
  const missing = binaries.filter((b) => !onPath(b));
  if (missing.length === 0) return true;
  const what = `${missing.join(', ')} not installed`;
  if (process.env.CI === 'true') t.fail(`${what} (CI=true: these tests must run)`);
  else t.plan(0, `skipped: ${what} (install them to run these tests against real processes)`);
  return false;
}
