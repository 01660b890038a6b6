// Child processes for the e2e runner: every command runs in its own process group, is logged to
// the run's log file, is killed (the whole group, by PID) when its timeout passes or the run is
// interrupted, and hands back its exit status and output.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const live = new Set();
let interrupted = false;

/** Vagrant's progress bars ("\e[KProgress: 42%…") make logs unreadable: drop them. */
export function cleanOutput(text) {
  return text.replace(/\x1b\[KProgress: [^\x1b\n]*/g, '').replace(/\x1b\[K/g, '').replace(/\r(?!\n)/g, '\n');
}

export class CommandFailed extends Error {
  constructor(argv, result, why) {
    const tail = cleanOutput(`${result.stdout}\n${result.stderr}`).trim().split('\n').slice(-25).join('\n');
    super(`${why}: ${argv.join(' ')}\n${tail}`);
    this.result = result;
  }
}

/** Kills every live child's process group (SIGTERM, then SIGKILL 10 s later). */
export function interruptAll() {
  interrupted = true;
  for (const child of live) killGroup(child);
}

/** Lets commands run again after an interruption (for the teardown). */
export function resumeAfterInterrupt() {
  interrupted = false;
}

export function wasInterrupted() {
  return interrupted;
}

function killGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, 10_000);
  timer.unref();
}

/**
 * Runs argv. Options: env, cwd, timeoutMs, input (string for stdin), log (file to append to),
 * check (throw CommandFailed on non-zero exit or timeout; default true).
 * Resolves { code, signal, stdout, stderr, timedOut, ms }.
 */
export function run(argv, opts = {}) {
  const { env = process.env, cwd, timeoutMs = 120_000, input, log, check = true } = opts;
  if (interrupted && !opts.evenIfInterrupted) {
    return Promise.reject(new CommandFailed(argv, { code: null, signal: null, stdout: '', stderr: '', timedOut: false, ms: 0 }, 'interrupted'));
  }
  const started = Date.now();
  if (log) appendFileSync(log, `\n$ ${argv.join(' ')}${cwd ? `   (in ${cwd})` : ''}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env,
      cwd,
      detached: true,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    const keep = (s) => (s.length > 4_000_000 ? s.slice(-2_000_000) : s);
    child.stdout.on('data', (d) => {
      stdout = keep(stdout + d);
      if (log) appendFileSync(log, d);
    });
    child.stderr.on('data', (d) => {
      stderr = keep(stderr + d);
      if (log) appendFileSync(log, d);
    });
    if (input !== undefined) child.stdin.end(input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (log) appendFileSync(log, `\n[e2e] timeout after ${Math.round(timeoutMs / 1000)} s: killing process group ${child.pid}\n`);
      killGroup(child);
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`cannot run ${argv[0]}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const result = { code, signal, stdout, stderr, timedOut, ms: Date.now() - started };
      if (log) appendFileSync(log, `[e2e] exit ${code ?? signal} after ${(result.ms / 1000).toFixed(1)} s\n`);
      if (check && (timedOut || code !== 0)) {
        const why = timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : interrupted ? 'interrupted' : `exit ${code ?? signal}`;
        reject(new CommandFailed(argv, result, why));
      } else {
        resolve(result);
      }
    });
  });
}

/** Starts a long-lived child (not awaited), in its own process group; returns it. */
export function startBackground(argv, { env = process.env, stdoutFd, stderrFd } = {}) {
  const child = spawn(argv[0], argv.slice(1), { env, detached: true, stdio: ['ignore', stdoutFd ?? 'ignore', stderrFd ?? 'ignore'] });
  child.on('error', () => {});
  return child;
}

export function stopBackground(child) {
  killGroup(child);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Calls fn until it returns a truthy value or timeoutMs passes; returns that value or throws the last error. */
export async function waitFor(what, fn, { timeoutMs = 120_000, intervalMs = 3_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    if (wasInterrupted()) throw new Error(`interrupted while waiting for ${what}`);
    try {
      const value = await fn();
      if (value) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}
