/**
 * Child processes for the benchmarks: timed runs (wall time on the bench's own monotonic clock,
 * optionally peak RSS through /usr/bin/time), long-running daemons tracked by PID, and a cleanup
 * that stops every process the bench started, by PID, on exit, failure or Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePorts, sleep, spawnDaemon } from '../../test/helpers/process.mjs';

export const now = () => performance.now();

/** Every child still running, by PID. */
const live = new Map();
const cleanups = [];

/** Runs `fn` (sync) when the bench exits, however it exits. Last registered, first run. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

function killAll() {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    live.delete(pid);
  }
  while (cleanups.length > 0) {
    try {
      cleanups.pop()();
    } catch {
      /* best effort */
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}: stopping ${live.size} process(es) by PID\n`);
    killAll();
    process.exit(130);
  });
}

function track(child, name) {
  if (child.pid !== undefined) live.set(child.pid, name);
  child.once('exit', () => live.delete(child.pid));
}

const HAVE_TIME = existsSync('/usr/bin/time');

/**
 * Runs argv to completion. Returns { ms, code, stdout, stderr, maxRssKiB?, cpuMs? }.
 * `rss: true` wraps the command in `/usr/bin/time` for its peak resident set (KiB) and CPU time
 * (user + system, 10 ms resolution); use it for the baseline too, so both carry the same small
 * cost of the wrapper. `signal`: aborting it kills the process.
 */
export function timed(argv, { env = process.env, cwd = process.cwd(), rss = false, stdin = 'ignore', capture = true, tmp, signal } = {}) {
  let cmd = argv;
  let rssFile;
  if (rss) {
    if (!HAVE_TIME) throw new Error('/usr/bin/time is needed for peak memory (apt-get install time)');
    rssFile = path.join(tmp ?? cwd, `.rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
    cmd = ['/usr/bin/time', '-f', '%M %U %S', '-o', rssFile, ...argv];
  }
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(cmd[0], cmd.slice(1), { env, cwd, stdio: [stdin, capture ? 'pipe' : 'ignore', capture ? 'pipe' : 'ignore'] });
    track(child, argv.join(' '));
    // Aborting kills the process (by PID) at once: for runs abandoned after a failure elsewhere.
    const kill = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', kill, { once: true });
    child.once('exit', () => signal?.removeEventListener('abort', kill));
    const out = [];
    const err = [];
    child.stdout?.on('data', (c) => out.push(c));
    child.stderr?.on('data', (c) => err.push(c));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const ms = now() - start;
      const result = { ms, code, signal, start, end: start + ms, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (rssFile) {
        const text = existsSync(rssFile) ? readFileSync(rssFile, 'utf8') : '';
        rmSync(rssFile, { force: true });
        // With a non-zero exit, time writes "Command exited with non-zero status N" first.
        const [kib, user, sys] = (text.trim().split('\n').pop() ?? '').split(' ').map(Number);
        if (Number.isFinite(kib)) result.maxRssKiB = kib;
        if (Number.isFinite(user) && Number.isFinite(sys)) result.cpuMs = (user + sys) * 1000;
      }
      resolve(result);
    });
  });
}

/** Like `timed`, but throws (with the output) unless the command exits 0. */
export async function timedOk(argv, opts) {
  const r = await timed(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(' ')} exited ${r.code ?? r.signal}\n${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
  }
  return r;
}

/** A long-running process writing to a log file; stopped by PID (also by the bench's cleanup). */
export function daemon(name, argv, { logFile, env = process.env, cwd } = {}) {
  const d = spawnDaemon(name, argv, logFile, { env, cwd });
  live.set(d.pid, name);
  d.exited.then(() => live.delete(d.pid));
  return d;
}

export { freePorts };

export { sleep };
