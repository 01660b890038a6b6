/**
 * Programs started early: a command that knows it will ask a question (`up` asking Vagrant its
 * version) starts the program before it has loaded the process layer (./run.ts, which loads execa),
 * and the runner later adopts the finished run instead of starting the same one again. Only node
 * built-ins. A run is adopted once, and only by a runner that would run exactly the same program:
 * binary, arguments, directory and environment.
 *
 * Like runInGroup, the child runs in a process group of its own (registered in ./children.ts, so a
 * second Ctrl-C ends it), its stdin is closed, and the result never throws for how it ended.
 */
import { spawn } from 'node:child_process';
import { registerChild } from './children.js';
import type { GroupResult } from './run.js';

interface EarlyRun {
  env: Record<string, string>;
  result: Promise<GroupResult>;
}

const started = new Map<string, EarlyRun>();

const keyOf = (bin: string, args: readonly string[], cwd: string) => JSON.stringify([bin, cwd, ...args]);

function sameEnv(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * Starts `bin args` in `cwd` with exactly `env`, unless the same run is already waiting to be
 * adopted. Resolves when it has ended (for the caller's clock; the result is the adopter's).
 */
export function startEarly(bin: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<GroupResult> {
  const key = keyOf(bin, args, opts.cwd);
  const waiting = started.get(key);
  if (waiting !== undefined && sameEnv(waiting.env, opts.env)) return waiting.result;
  const result = captured(bin, args, opts.cwd, opts.env);
  started.set(key, { env: opts.env, result });
  return result;
}

/** The early run of exactly this program, taken (a second call runs it anew), or undefined. */
export function takeEarly(bin: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<GroupResult> | undefined {
  const key = keyOf(bin, args, opts.cwd);
  const run = started.get(key);
  if (run === undefined || !sameEnv(run.env, opts.env)) return undefined;
  started.delete(key);
  return run.result;
}

function captured(bin: string, args: string[], cwd: string, env: Record<string, string>): Promise<GroupResult> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const all: Buffer[] = [];
    let spawnError: NodeJS.ErrnoException | undefined;
    let settled = false;
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const unregister = registerChild(child.pid);
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    const finish = (r: GroupResult) => {
      if (settled) return;
      settled = true;
      unregister();
      resolve(r);
    };
    child.stdout.on('data', (c: Buffer) => void (stdout.push(c), all.push(c)));
    child.stderr.on('data', (c: Buffer) => void (stderr.push(c), all.push(c)));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
      // A program that could not start has no streams to wait for.
      if (child.pid === undefined) finish({ kind: 'failed', code: e.code, signal: undefined, message: e.message, output: '', aborted: false });
    });
    child.on('close', (exitCode, signal) => {
      const output = text(all);
      if (exitCode === null || spawnError !== undefined) {
        finish({ kind: 'failed', code: spawnError?.code, signal: signal ?? undefined, message: spawnError?.message ?? `killed by ${signal}`, output, aborted: false });
      } else {
        finish({ kind: 'exited', exitCode, stdout: text(stdout), stderr: text(stderr), output, aborted: false });
      }
    });
  });
}
