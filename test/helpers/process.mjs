/**
 * The one process helper the tests, the benchmarks and the e2e suite share: free TCP ports on
 * 127.0.0.1 (chosen by the kernel), and daemons (etcd, dockerd, sshd…) spawned with a log file,
 * tracked by PID and stopped by PID — on request, and as a last resort when the process exits.
 * Plain JavaScript with types in process.d.mts, so the .mjs benchmarks and e2e runner load it as
 * it is and the TypeScript tests get its types.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';

/** `n` distinct free ports: every listener stays open until all are known, then all close. */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort() {
  return (await freePorts(1))[0];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Daemons still running: killed by PID if this process exits before they are stopped. */
const live = new Set();
process.on('exit', () => {
  for (const d of live) {
    try {
      process.kill(d.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export function spawnDaemon(name, argv, logFile, { env, cwd } = {}) {
  const fd = openSync(logFile, 'a');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: ${argv[0]} did not start`);
  let alive = true;
  const exited = new Promise((resolve) => {
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
  const daemon = {
    name,
    pid: child.pid,
    logFile,
    exited,
    running: () => alive,
    async stop(graceMs = 10_000) {
      if (!alive) return;
      process.kill(daemon.pid, 'SIGTERM');
      const timer = new Promise((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([exited.then(() => 'done'), timer])) === 'late' && alive) {
        process.kill(daemon.pid, 'SIGKILL');
        await exited;
      }
    },
    async kill() {
      if (!alive) return;
      try {
        process.kill(daemon.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
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
export async function waitUntil(what, ready, timeoutMs = 20_000, daemon) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (daemon && !daemon.running()) throw new Error(`${what}: ${daemon.name} exited\n${daemon.logTail()}`);
    if (Date.now() > until) throw new Error(`${what}: not ready after ${timeoutMs / 1000}s${daemon ? `\n${daemon.logTail()}` : ''}`);
    await sleep(100);
  }
}
