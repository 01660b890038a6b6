/**
 * The built CLI (`node bin/cclab.js`) as a real process, with its own lab home and the fake
 * `vagrant` (test/helpers/fake-vagrant.mjs) plus fake `VBoxManage` and `virsh` first on PATH.
 *
 *   await ensureBuilt();                    // once per test file: builds dist/ if it is older than src/
 *   const lab = cliHome(t, { FAKE_VAGRANT_MOVE_PORT: '2999' });
 *   const r = await lab.run(['up', 'laptop', '--no-wait']);   // { code, stdout, stderr }
 *
 * The process gets a small environment of its own (not the test runner's): PATH, HOME, SHELL,
 * CCLAB_HOME, VAGRANT_HOME and the fake's log and state files, plus whatever the test adds.
 * Pass `--no-wait` to `up` and `--no-health` to `status`: health checks would try to reach the
 * lab's machine addresses, and tests talk to 127.0.0.1 only.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeVagrant, type FakeVagrant } from './fake-vagrant.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(REPO, 'bin', 'cclab.js');
const SRC = path.join(REPO, 'src');
const DIST = path.join(REPO, 'dist');

interface TestLike {
  teardown(fn: () => unknown): void;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// ------------------------------------------------------------------------------------------
// Building dist/

function walk(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, ext));
    else if (e.name.endsWith(ext) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Sources whose compiled file is missing or older than they are. */
export function staleSources(): string[] {
  return walk(SRC, '.ts').filter((src) => {
    const js = path.join(DIST, path.relative(SRC, src)).replace(/\.ts$/, '.js');
    try {
      return fs.statSync(js).mtimeMs < fs.statSync(src).mtimeMs;
    } catch {
      return true;
    }
  });
}

let building: Promise<void> | undefined;

/**
 * Builds dist/ when any source is newer than its output. Several test files may do this at once
 * and CLI processes of one may run while another builds, so nothing is written into dist/ in
 * place: tsc compiles into a temporary directory, and each file is then renamed into dist/ (a
 * reader sees the old file or the new one, never half of one; concurrent builds write the same
 * content).
 */
export function ensureBuilt(): Promise<void> {
  building ??= (async () => {
    if (staleSources().length === 0) return;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-build-'));
    try {
      const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
      const diagnostics = await new Promise<string>((resolve) => {
        // Type errors do not stop tsc from emitting; the typecheck is a separate step.
        execFile(process.execPath, [tsc, '-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', tmp], { cwd: REPO }, (_err, stdout, stderr) =>
          resolve(stdout + stderr),
        );
      });
      if (!fs.existsSync(path.join(tmp, 'cli.js'))) throw new Error(`building dist/ failed:\n${diagnostics}`);
      for (const file of walk(tmp, '')) {
        const rel = path.relative(tmp, file);
        const dest = path.join(DIST, rel);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        let content = fs.readFileSync(file);
        if (file.endsWith('.map')) content = Buffer.from(relocateSourceMap(content.toString('utf8'), path.dirname(file), path.dirname(dest)));
        const part = `${dest}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
        fs.writeFileSync(part, content);
        fs.renameSync(part, dest);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  })();
  return building;
}

/** A source map written in `from` names its sources relative to `from`; make them relative to `to`. */
function relocateSourceMap(text: string, from: string, to: string): string {
  const map = JSON.parse(text) as { sources?: string[] };
  map.sources = (map.sources ?? []).map((s) => path.relative(to, path.resolve(from, s)));
  return JSON.stringify(map);
}

// ------------------------------------------------------------------------------------------
// Running it

export interface RunOptions {
  /** Added to (and overriding) the home's environment for this run. */
  env?: Record<string, string>;
  cwd?: string;
}

/** A CLI process still running (for lock and signal tests). */
export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr matches `re` (rejects if the process exits first). */
  waitForStderr(re: RegExp): Promise<void>;
  done: Promise<CliResult>;
}

export interface CliHome {
  /** CCLAB_HOME */
  home: string;
  labsDir: string;
  /** The directory of lab `name`. */
  labDir(name: string): string;
  fake: FakeVagrant;
  /** The environment every run gets. */
  env: Record<string, string>;
  run(args: string[], opts?: RunOptions): Promise<CliResult>;
  start(args: string[], opts?: RunOptions): CliProcess;
  /** The manifest of lab `name` as saved (parsed lab.json). */
  manifest(name: string): Record<string, any>;
}

const VBOXMANAGE = '#!/bin/sh\necho 7.0.14r161095\n';
/** cclab's KVM probe (src/providers/kvm-probe.ts) on a host whose KVM runs its guest: progress R, P, L, exit 85. */
const QEMU = [
  '#!/bin/sh',
  'while [ $# -gt 0 ]; do case "$1" in -debugcon) printf RPL > "${2#file:}"; shift ;; esac; shift; done',
  'exit 85',
  '',
].join('\n');
const VIRSH = [
  '#!/bin/sh',
  'echo "Compiled against library: libvirt 9.0.0"',
  'echo "Using library: libvirt 9.0.0"',
  'echo "Using API: QEMU 9.0.0"',
  'echo "Running hypervisor: QEMU 7.2.0"',
  '',
].join('\n');

/**
 * A lab home for CLI runs: a fake `vagrant` (its log and state in the same temporary directory),
 * a `VBoxManage` that prints a version, a `virsh` that answers and a `qemu-system-x86_64` whose KVM
 * runs the probe guest, all removed after the test.
 */
export function cliHome(t: TestLike, extraEnv: Record<string, string> = {}): CliHome {
  // The fake's directory goes last: first every process the test left running is stopped.
  const cleanups: (() => unknown)[] = [];
  const fake = fakeVagrant({ teardown: (fn) => cleanups.push(fn) });
  const procs: (CliProcess & { stop(): Promise<void> })[] = [];
  t.teardown(async () => {
    for (const p of procs) await p.stop();
    killFakes(fake);
    for (const fn of cleanups) await fn();
  });
  for (const [name, text] of [['VBoxManage', VBOXMANAGE], ['virsh', VIRSH], ['qemu-system-x86_64', QEMU]] as const) {
    fs.writeFileSync(path.join(fake.binDir, name), text, { mode: 0o755 });
  }
  // A test may put the home elsewhere (a tiny tmpfs): the paths below must follow it.
  const home = extraEnv.CCLAB_HOME ?? path.join(fake.dir, 'cclab-home');
  const env: Record<string, string> = {
    PATH: `${fake.binDir}${path.delimiter}/usr/local/bin${path.delimiter}/usr/bin${path.delimiter}/bin`,
    HOME: fake.dir,
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    TMPDIR: os.tmpdir(),
    CCLAB_HOME: home,
    VAGRANT_HOME: fake.env.VAGRANT_HOME!,
    FAKE_VAGRANT_LOG: fake.logFile,
    FAKE_VAGRANT_STATE: fake.stateFile,
    ...extraEnv,
  };
  const labsDir = path.join(home, 'labs');
  const self: CliHome = {
    home,
    labsDir,
    labDir: (name) => path.join(labsDir, name),
    fake,
    env,
    run: (args, opts) => self.start(args, opts).done,
    start(args, opts = {}) {
      const proc = startCli(args, { ...env, ...opts.env }, opts.cwd ?? fake.dir);
      procs.push(proc);
      return proc;
    },
    manifest: (name) => JSON.parse(fs.readFileSync(path.join(labsDir, name, 'lab.json'), 'utf8')) as Record<string, any>,
  };
  return self;
}

function startCli(args: string[], env: Record<string, string>, cwd: string): CliProcess & { stop(): Promise<void> } {
  const child = spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of watchers) w();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      for (const w of watchers) w();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitForStderr(re) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(stderr)) {
            watchers.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            watchers.delete(check);
            reject(new Error(`cclab ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${stderr}`));
          }
        };
        watchers.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await done.catch(() => undefined);
      }
    },
  };
}

/** Fake vagrant processes (each in its own process group) that outlived the test. */
function killFakes(fake: FakeVagrant): void {
  for (const pid of new Set(fake.log().filter((e) => e.argv).map((e) => e.pid))) {
    try {
      // Only if that pid is still the fake (pids get reused).
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fake-vagrant')) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Every lab directory left under the home's labs/ directory. */
export function labDirsLeft(h: CliHome): string[] {
  return fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir) : [];
}
