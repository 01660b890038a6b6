/**
 * Shared by the fault-injection suite (test/reliability/fault/). Fault injection: the real CLI (with the fake vagrant) against a tiny tmpfs that fills up at
 * every write of `up`, `halt` and `down`; read-only and vanished directories; SIGINT, SIGTERM and
 * SIGHUP at seeded random points of up, down, render and validate; two and three concurrent
 * up/down of the same and of different labs; hostile HTTP endpoints. After every run:
 *
 *   - the exit code is one the README documents, and no stack trace is printed;
 *   - no fake vagrant process is left running, no temporary file is left in the lab home;
 *   - `cclab ls --json` lists exactly the lab directories on disk, none of them broken;
 *   - the lab is intact or `cclab down` removes it (checked when each scenario ends, at least).
 *
 * The tmpfs mounts need root; without it those parts are skipped (never under CI=true).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { cliHome, type CliHome, type CliResult } from './cli.js';


/** Exit codes the README's table documents. */
export const DOCUMENTED = new Set([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 129, 130, 143]);
export const SIGNAL_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
export const STACK = /internal error|this is a bug|\n\s+at [^\n]*\(?[/\w.-]+:\d+:\d+\)?/i;
export const isRoot = process.getuid?.() === 0;
export const needRoot = !isRoot && (process.env.CI === 'true' ? false : 'needs root to mount a tmpfs');

/** A seeded PRNG (mulberry32), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function codeOf(r: CliResult): number {
  return r.code ?? (r.signal ? 128 + (os.constants.signals[r.signal] ?? 0) : -1);
}

export function liveFakes(h: CliHome): number[] {
  const pids = new Set(h.fake.log().filter((e) => e.argv).map((e) => e.pid));
  return [...pids].filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fake-vagrant');
    } catch {
      return false;
    }
  });
}

export function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(tmp|part|dead)$|^lock\.takeover$/.test(e.name)) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** The invariants after a run. `noLabs`: a command about no lab (check --endpoints): the home must stay empty (no `ls` run). */
export async function invariants(t: Test, h: CliHome, label: string, r: CliResult, opts: { allowed?: number[]; noLabs?: boolean } = {}): Promise<void> {
  const code = codeOf(r);
  t.ok(DOCUMENTED.has(code) && (!opts.allowed || opts.allowed.includes(code)), `${label}: exit ${code} is documented${opts.allowed ? ` and one of ${opts.allowed.join('/')}` : ''}`, { stderr: r.stderr.slice(-2000) });
  t.notMatch(r.stderr, STACK, `${label}: no stack trace`);
  // A vagrant killed by our SIGTERM needs a moment to be reaped.
  for (let i = 0; i < 50 && liveFakes(h).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
  t.same(liveFakes(h), [], `${label}: no vagrant left running`);
  t.same(tempFiles(h.home), [], `${label}: no temporary file left`);
  if (opts.noLabs) {
    t.same(fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir) : [], [], `${label}: no lab made`);
    return;
  }
  const ls = await h.run(['ls', '--json']);
  t.equal(ls.code, 0, `${label}: ls works`, { stderr: ls.stderr });
  const listed = (JSON.parse(ls.stdout || '{"labs":[]}') as { labs: { name: string; state: string }[] }).labs;
  const onDisk = fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir).filter((n) => !n.startsWith('.')) : [];
  t.same(listed.map((l) => l.name).sort(), onDisk.sort(), `${label}: ls agrees with the disk`);
  t.same(listed.filter((l) => l.state === 'broken'), [], `${label}: no broken lab`);
}

/** Every lab is removable with `down`, and then the home holds no lab. */
export async function downAll(t: Test, h: CliHome, label: string): Promise<void> {
  const r = await h.run(['down', '--all']);
  t.equal(r.code, 0, `${label}: down --all removes what is left`, { stderr: r.stderr.slice(-2000) });
  const left = fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir).filter((n) => !n.startsWith('.')) : [];
  t.same(left, [], `${label}: no lab directory left`);
  await invariants(t, h, `${label} (after down)`, r);
}

// ---- a tiny tmpfs -------------------------------------------------------------------------

export interface Tmpfs {
  dir: string;
  /** Fill the file system so that `pages` 4 KiB pages stay free. */
  leave(pages: number): void;
  unfill(): void;
  readOnly(ro: boolean): void;
}

export function tmpfs(t: Test, size = '512k'): Tmpfs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-fault-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'cclab-fault', dir]);
  if (m.status !== 0) throw new Error(`mount failed: ${m.stderr}`);
  const filler = path.join(dir, '.filler');
  t.teardown(() => {
    spawnSync('umount', [dir]);
    fs.rmdirSync(dir);
  });
  const self: Tmpfs = {
    dir,
    unfill: () => fs.rmSync(filler, { force: true }),
    leave(pages) {
      self.unfill();
      const st = fs.statfsSync(dir);
      const free = st.bavail * st.bsize;
      const size = Math.max(0, free - pages * 4096);
      const fd = fs.openSync(filler, 'w');
      try {
        // Written, not truncated: tmpfs charges pages that hold data.
        const chunk = Buffer.alloc(64 * 1024, 1);
        for (let done = 0; done < size; ) {
          const n = Math.min(chunk.length, size - done);
          done += fs.writeSync(fd, chunk, 0, n);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
    readOnly(ro) {
      const r = spawnSync('mount', ['-o', `remount,${ro ? 'ro' : 'rw'}`, dir]);
      if (r.status !== 0) throw new Error(`remount failed: ${r.stderr}`);
    },
  };
  return self;
}

/**
 * SIGINT, SIGTERM and SIGHUP at seeded random points of up, down, render and validate. Two test files run
 * it with different seeds (25 runs each) so each stays inside tap's per-file timeout.
 */
export async function signalRuns(t: Test, defaultSeed: number): Promise<void> {
  const seed = Number(process.env.CCLAB_FAULT_SEED ?? defaultSeed);
  const runs = Number(process.env.CCLAB_FAULT_RUNS ?? 25);
  const random = prng(seed);
  t.comment(`seed ${seed}, ${runs} runs (CCLAB_FAULT_SEED, CCLAB_FAULT_RUNS replay or lengthen them)`);
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '400', FAKE_VAGRANT_CLEANUP_MS: '100' });
  const cfg = path.join(h.fake.dir, 'user-data.yaml');
  fs.writeFileSync(cfg, '#cloud-config\nhostname: a\n');
  const commands = [
    ['up', 'laptop', '--no-wait'],
    ['up', 'dev', '--workers', '2', '--no-wait'],
    ['down', 'dev'],
    ['down', 'laptop'],
    ['render', 'production', '--workers', '20', '--out', 'out'],
    ['validate', cfg, cfg, cfg],
  ];
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (let i = 0; i < runs; i++) {
    const args = commands[Math.floor(random() * commands.length)]!;
    const sig = signals[Math.floor(random() * signals.length)]!;
    const delay = Math.floor(random() * 1500);
    const label = `#${i} ${args.slice(0, 2).join(' ')} + ${sig} after ${delay} ms`;
    const p = h.start(args);
    await new Promise((r) => setTimeout(r, delay));
    p.child.kill(sig);
    const r = await p.done;
    const code = codeOf(r);
    // Finished before the signal, refused (no such lab: 8), or stopped by it.
    await invariants(t, h, label, r, { allowed: [0, 8, SIGNAL_CODES[sig]!] });
    if (code === SIGNAL_CODES[sig] && r.code !== null) t.match(r.stderr, /^error: interrupted/m, `${label}: says it was interrupted`);
  }
  await downAll(t, h, 'signals');
}
