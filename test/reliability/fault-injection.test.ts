/**
 * Fault injection: the real CLI (with the fake vagrant) against a tiny tmpfs that fills up at
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
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { cliHome, ensureBuilt, type CliHome, type CliResult } from '../helpers/cli.js';

t.before(ensureBuilt);

/** Exit codes the README's table documents. */
const DOCUMENTED = new Set([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 129, 130, 143]);
const SIGNAL_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
const STACK = /internal error|this is a bug|\n\s+at [^\n]*\(?[/\w.-]+:\d+:\d+\)?/i;
const isRoot = process.getuid?.() === 0;
const needRoot = !isRoot && (process.env.CI === 'true' ? false : 'needs root to mount a tmpfs');

/** A seeded PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function codeOf(r: CliResult): number {
  return r.code ?? (r.signal ? 128 + (os.constants.signals[r.signal] ?? 0) : -1);
}

function liveFakes(h: CliHome): number[] {
  const pids = new Set(h.fake.log().filter((e) => e.argv).map((e) => e.pid));
  return [...pids].filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fake-vagrant');
    } catch {
      return false;
    }
  });
}

function tempFiles(dir: string): string[] {
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

/** The invariants after a run. `labsOk`: also check ls against the disk (needs a readable home). */
async function invariants(t: Test, h: CliHome, label: string, r: CliResult, opts: { allowed?: number[] } = {}): Promise<void> {
  const code = codeOf(r);
  t.ok(DOCUMENTED.has(code) && (!opts.allowed || opts.allowed.includes(code)), `${label}: exit ${code} is documented${opts.allowed ? ` and one of ${opts.allowed.join('/')}` : ''}`, { stderr: r.stderr.slice(-2000) });
  t.notMatch(r.stderr, STACK, `${label}: no stack trace`);
  // A vagrant killed by our SIGTERM needs a moment to be reaped.
  for (let i = 0; i < 50 && liveFakes(h).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
  t.same(liveFakes(h), [], `${label}: no vagrant left running`);
  t.same(tempFiles(h.home), [], `${label}: no temporary file left`);
  const ls = await h.run(['ls', '--json']);
  t.equal(ls.code, 0, `${label}: ls works`, { stderr: ls.stderr });
  const listed = (JSON.parse(ls.stdout || '{"labs":[]}') as { labs: { name: string; state: string }[] }).labs;
  const onDisk = fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir).filter((n) => !n.startsWith('.')) : [];
  t.same(listed.map((l) => l.name).sort(), onDisk.sort(), `${label}: ls agrees with the disk`);
  t.same(listed.filter((l) => l.state === 'broken'), [], `${label}: no broken lab`);
}

/** Every lab is removable with `down`, and then the home holds no lab. */
async function downAll(t: Test, h: CliHome, label: string): Promise<void> {
  const r = await h.run(['down', '--all']);
  t.equal(r.code, 0, `${label}: down --all removes what is left`, { stderr: r.stderr.slice(-2000) });
  const left = fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir).filter((n) => !n.startsWith('.')) : [];
  t.same(left, [], `${label}: no lab directory left`);
  await invariants(t, h, `${label} (after down)`, r);
}

// ---- a tiny tmpfs -------------------------------------------------------------------------

interface Tmpfs {
  dir: string;
  /** Fill the file system so that `pages` 4 KiB pages stay free. */
  leave(pages: number): void;
  unfill(): void;
  readOnly(ro: boolean): void;
}

function tmpfs(t: Test, size = '512k'): Tmpfs {
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

t.test('ENOSPC at every write of up, halt and down', { skip: needRoot }, async (t) => {
  const fsys = tmpfs(t);
  const h = cliHome(t, { CCLAB_HOME: path.join(fsys.dir, 'home') });
  // How many pages a whole `up laptop` needs: sweep from none to enough, one page at a time, so
  // that each of its writes is in turn the one that fails.
  let succeededAt: number | undefined;
  for (let pages = 0; pages <= 24 && succeededAt === undefined; pages++) {
    fsys.leave(pages);
    const r = await h.run(['up', 'laptop', '--no-wait']);
    await invariants(t, h, `up with ${pages} free pages`, r, { allowed: [0, 10] });
    if (codeOf(r) === 0) succeededAt = pages;
    else t.match(r.stderr, /no space left on the device \(ENOSPC\)[\s\S]*hint: free some space/, `up with ${pages} free pages: says the disk is full`);
    // Taking the lab down needs no space at all.
    const down = await h.run(['down', 'laptop']);
    if (fs.existsSync(path.join(h.labsDir, 'laptop')) || codeOf(down) !== 8) t.equal(codeOf(down), 0, `down with ${pages} free pages`, { stderr: down.stderr });
    await invariants(t, h, `down with ${pages} free pages`, down, { allowed: [0, 8] });
  }
  t.ok(succeededAt !== undefined, `up succeeded once there was room (${succeededAt} pages)`);

  // halt and down of a running lab, with the disk full to every level below what they write.
  for (let pages = 0; pages <= 4; pages++) {
    fsys.unfill();
    t.equal((await h.run(['up', 'laptop', '--no-wait'])).code, 0, 'a lab to halt');
    fsys.leave(pages);
    const halt = await h.run(['halt', 'laptop']);
    await invariants(t, h, `halt with ${pages} free pages`, halt, { allowed: [0, 10] });
    const down = await h.run(['down', 'laptop']);
    t.equal(down.code, 0, `down with ${pages} free pages after halt`, { stderr: down.stderr });
    await invariants(t, h, `down with ${pages} free pages after halt`, down);
  }
  fsys.unfill();
  await downAll(t, h, 'ENOSPC');
});

t.test('read-only and vanished directories', { skip: needRoot }, async (t) => {
  const fsys = tmpfs(t);
  const h = cliHome(t, { CCLAB_HOME: path.join(fsys.dir, 'home') });
  t.equal((await h.run(['up', 'dev', '--workers', '1', '--no-wait'])).code, 0);
  fsys.readOnly(true);
  for (const args of [['up', 'dev'], ['up', 'laptop', '--no-wait'], ['halt', 'dev'], ['down', 'dev'], ['status', 'dev', '--no-health'], ['render', 'dev', '--out', path.join(fsys.dir, 'out')]]) {
    const r = await h.run(args);
    await invariants(t, h, `read-only: ${args.join(' ')}`, r, { allowed: [0, 5, 10] });
  }
  t.ok(fs.existsSync(h.labDir('dev')), 'the lab is intact');
  fsys.readOnly(false);
  t.equal(h.manifest('dev').name, 'dev');

  // The lab directory vanishes (someone removed it by hand).
  fs.rmSync(h.labDir('dev'), { recursive: true, force: true });
  for (const args of [['status', 'dev', '--no-health'], ['down', 'dev'], ['halt', 'dev'], ['docker-env', 'dev'], ['check', 'dev']]) {
    const r = await h.run(args);
    await invariants(t, h, `vanished: ${args.join(' ')}`, r, { allowed: [8] });
  }
  // The whole home vanishes.
  fs.rmSync(path.join(fsys.dir, 'home'), { recursive: true, force: true });
  for (const args of [['ls'], ['down', '--all'], ['up', 'laptop', '--no-wait']]) {
    const r = await h.run(args);
    await invariants(t, h, `no home: ${args.join(' ')}`, r, { allowed: [0] });
  }
  await downAll(t, h, 'vanished');
});

t.test('SIGINT, SIGTERM and SIGHUP at seeded random points of up, down, render and validate', async (t) => {
  const seed = Number(process.env.CCLAB_FAULT_SEED ?? 15);
  const runs = Number(process.env.CCLAB_FAULT_RUNS ?? 50);
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
});

t.test('two and three concurrent up/down of the same and of different labs', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '200' });
  const rounds: string[][][] = [
    [['up', 'dev', '--no-wait'], ['up', 'dev', '--no-wait']],
    [['up', 'dev', '--no-wait'], ['down', 'dev']],
    [['down', 'dev'], ['down', 'dev'], ['up', 'dev', '--no-wait']],
    [['up', 'laptop', '--name', 'a', '--no-wait'], ['up', 'laptop', '--name', 'b', '--no-wait'], ['up', 'laptop', '--name', 'c', '--no-wait']],
    [['down', 'a'], ['up', 'laptop', '--name', 'a', '--no-wait'], ['down', 'b']],
    [['up', 'small', '--no-wait'], ['down', 'c'], ['up', 'laptop', '--name', 'c', '--no-wait']],
  ];
  for (const [i, round] of rounds.entries()) {
    const results = await Promise.all(round.map((args) => h.run(args)));
    for (const [j, r] of results.entries()) {
      const label = `round ${i}: ${round[j]!.join(' ')}`;
      await invariants(t, h, label, r, { allowed: [0, 7, 8] });
      if (r.code === 7) t.match(r.stderr, /is busy: `cclab (up|down)` \(pid \d+\) holds its lock/, `${label}: names the holder`);
    }
    const subnets = (JSON.parse((await h.run(['ls', '--json'])).stdout) as { labs: { subnet: string }[] }).labs.map((l) => l.subnet);
    t.equal(new Set(subnets).size, subnets.length, `round ${i}: no two labs share a subnet (${subnets.join(', ')})`);
  }
  await downAll(t, h, 'concurrent');
});

t.test('hostile HTTP endpoints', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024, 'a');
  const sockets = new Set<net.Socket>();
  const behaviours: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
    hang: () => undefined,
    huge: (_q, res) => res.end(big),
    escapes: (_q, res) => res.end(JSON.stringify({ members: [{ id: '\u001b[2J', name: '\u001b]0;x\u0007', clientURLs: ['\u009b'] }], etcdserver: '\u001b[31m' })),
    notjson: (_q, res) => res.end('<html>nope'),
    redirect: (req, res) => {
      res.statusCode = 302;
      res.setHeader('location', req.url ?? '/');
      res.end();
    },
    dribble: (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    },
    reset: (req) => req.socket.destroy(),
  };
  const servers: { name: string; url: string }[] = [];
  for (const [name, handle] of Object.entries(behaviours)) {
    const s = http.createServer(handle);
    s.on('connection', (c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push({ name, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` });
    t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  }
  // Not HTTP at all: undici's parser errors.
  const garbage = net.createServer((c) => c.end('NOT HTTP\r\n\r\n\u001b[2J'));
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
  servers.push({ name: 'garbage', url: `http://127.0.0.1:${(garbage.address() as AddressInfo).port}` });
  t.teardown(() => {
    for (const c of sockets) c.destroy();
    return new Promise<void>((r) => garbage.close(() => r()));
  });

  const h = cliHome(t);
  for (const s of servers) {
    for (const args of [
      ['check', '--endpoints', s.url, '--timeout', '1s'],
      ['check', '--endpoints', s.url, '--timeout', '1s', '--json'],
      ['check', '--docker-host', s.url.replace('http:', 'tcp:'), '--timeout', '1s'],
    ]) {
      const started = Date.now();
      const r = await h.run(args);
      const label = `${s.name}: ${args.slice(3).join(' ') || 'check'}${args.includes('--docker-host') ? ' docker' : ''}`;
      await invariants(t, h, label, r, { allowed: [6] });
      t.ok(Date.now() - started < 30_000, `${label}: bounded (${Date.now() - started} ms)`);
      // eslint-disable-next-line no-control-regex
      t.notMatch(r.stdout + r.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, `${label}: printable`);
      if (args.includes('--json')) t.doesNotThrow(() => JSON.parse(r.stdout), `${label}: one JSON document`);
    }
  }
});
