import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ExitCode, LabBusyError, NotFoundError } from '../../src/errors.js';
import { acquireLock, isProcessAlive, readLock } from '../../src/home/lock.js';
import type { LockInfo } from '../../src/home/lock.js';

// Child processes run the TypeScript sources through the same loader tap uses for test files.
const tsLoader = import.meta.resolve('@tapjs/typescript/import');
const holderScript = fileURLToPath(new URL('../helpers/lock-holder.ts', import.meta.url));

interface Holder {
  child: ChildProcess;
  pid: number;
  /** The next JSON line the holder prints. */
  next(): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startHolder(t: Test, labDir: string, command: string, flags: string[] = []): Holder {
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [`--import=${tsLoader}`, holderScript, labDir, command, ...flags], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    pid: child.pid!,
    exited,
    async next() {
      const r = await lines.next();
      if (r.done) throw new Error(`holder ${child.pid} exited without output`);
      return JSON.parse(r.value) as Record<string, unknown>;
    },
  };
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

async function writeLock(labDir: string, info: Partial<LockInfo>): Promise<void> {
  const full = { pid: 1, command: 'cclab up', startedAt: '2025-01-01T00:00:00.000Z', hostname: hostname(), ...info };
  await writeFile(join(labDir, 'lock'), JSON.stringify(full) + '\n');
}

t.test('acquire writes the holder, release removes the file', async (t) => {
  const dir = t.testdir({});
  const lock = await acquireLock(dir, { command: 'cclab up' });
  const info = JSON.parse(await readFile(join(dir, 'lock'), 'utf8'));
  t.match(info, { pid: process.pid, command: 'cclab up', hostname: hostname() });
  t.ok(!Number.isNaN(Date.parse(info.startedAt)), 'startedAt is a time');
  t.same(await readLock(dir), lock.info);
  t.equal(lock.tookOverFrom, undefined);
  lock.release();
  t.same(await readdir(dir), []);
  lock.release();
  t.pass('release is idempotent');
});

t.test('in one process, a second acquire is refused too', async (t) => {
  const dir = t.testdir({});
  const lock = await acquireLock(dir, { command: 'cclab up' });
  t.teardown(() => lock.release());
  const e = await acquireLock(dir, { command: 'cclab down' }).catch((e: unknown) => e);
  t.type(e, LabBusyError);
  t.equal((e as LabBusyError).exitCode, ExitCode.busy);
});

t.test('release leaves a lock that is no longer ours', async (t) => {
  const dir = t.testdir({});
  const lock = await acquireLock(dir, { command: 'cclab up' });
  await writeLock(dir, { pid: 999_999, command: 'cclab destroy' });
  lock.release();
  t.match(JSON.parse(await readFile(join(dir, 'lock'), 'utf8')), { command: 'cclab destroy' });
});

t.test('a live holder in another process: busy at once, naming its pid and command', async (t) => {
  const dir = t.testdir({});
  const holder = startHolder(t, dir, 'cclab up');
  t.match(await holder.next(), { acquired: true, pid: holder.pid });

  const e = await acquireLock(dir, { command: 'cclab down' }).catch((e: unknown) => e);
  t.type(e, LabBusyError);
  const err = e as LabBusyError;
  t.match(err.message, new RegExp(`^lab ${dir.split('/').pop()} is busy: \`cclab up\` \\(pid ${holder.pid}\\) holds its lock since \\d{4}-`));
  t.match(err.hint, `remove ${join(dir, 'lock')}`);
  t.match(err.hint, /wait for it to finish/);

  // SIGTERM: the holder releases and exits.
  holder.child.kill('SIGTERM');
  t.same(await holder.exited, { code: 0, signal: null });
  t.same(await readdir(dir), [], 'released');
});

t.test('a holder killed with SIGKILL leaves a stale lock that the next acquire takes over', async (t) => {
  const dir = t.testdir({});
  const holder = startHolder(t, dir, 'cclab up');
  t.match(await holder.next(), { acquired: true });
  holder.child.kill('SIGKILL');
  t.same(await holder.exited, { code: null, signal: 'SIGKILL' });
  t.equal((await readLock(dir))?.pid, holder.pid, 'the lock is still there');
  t.notOk(isProcessAlive(holder.pid));

  const lock = await acquireLock(dir, { command: 'cclab down' });
  t.teardown(() => lock.release());
  t.equal(lock.tookOverFrom?.pid, holder.pid, 'reports whose lock it took over');
  t.equal((await readLock(dir))?.pid, process.pid);
  t.same(await readdir(dir), ['lock'], 'no takeover leftovers');
});

t.test('a holder that exits without calling release() still removes its lock', async (t) => {
  const dir = t.testdir({});
  const holder = startHolder(t, dir, 'cclab up', ['--exit']);
  t.match(await holder.next(), { acquired: true });
  t.same(await holder.exited, { code: 0, signal: null });
  t.same(await readdir(dir), []);
});

async function race(t: Test, dir: string, n: number): Promise<Record<string, unknown>[]> {
  const holders = Array.from({ length: n }, (_, i) => startHolder(t, dir, `cclab up #${i}`, ['--wait-stdin']));
  for (const h of holders) t.match(await h.next(), { ready: true });
  for (const h of holders) h.child.stdin!.write('go\n');
  return Promise.all(holders.map((h) => h.next()));
}

t.test('concurrent acquirers on a free lab: exactly one wins', async (t) => {
  for (let round = 0; round < 2; round++) {
    const dir = t.testdir({});
    const results = await race(t, dir, 4);
    const winners = results.filter((r) => r.acquired === true);
    t.equal(winners.length, 1, `round ${round}: one winner`);
    for (const r of results.filter((r) => r.acquired !== true)) t.match(r, { error: { kind: 'busy' } });
    t.equal((await readLock(dir))?.pid, winners[0]!.pid, 'the lock names the winner');
  }
});

t.test('concurrent acquirers on a stale lock: exactly one takes it over', async (t) => {
  for (let round = 0; round < 2; round++) {
    const dir = t.testdir({});
    const dead = await deadPid();
    await writeLock(dir, { pid: dead });
    const results = await race(t, dir, 4);
    const winners = results.filter((r) => r.acquired === true);
    t.equal(winners.length, 1, `round ${round}: one winner`);
    // The winner either took the stale lock over or arrived just after another racer removed it.
    const from = winners[0]!.tookOverFrom as { pid: number } | null;
    t.ok(from === null || from.pid === dead, 'the winner took over the stale lock or found the lab free');
    for (const r of results.filter((r) => r.acquired !== true)) t.match(r, { error: { kind: 'busy' } });
    t.equal((await readLock(dir))?.pid, winners[0]!.pid);
    t.same(await readdir(dir), ['lock'], 'no takeover leftovers');
  }
});

t.test('many acquirers in one process, their file operations interleaved: exactly one wins each time', async (t) => {
  let rounds = 0;
  for (let round = 0; round < 40; round++) {
    const dir = t.testdir({});
    if (round % 2 === 0) await writeLock(dir, { pid: await deadPidCached() });
    const settled = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(dir, { command: 'cclab up' })));
    const won = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (won.length === 1 && lost.every((e) => e instanceof LabBusyError)) rounds++;
    for (const l of won) l.release();
  }
  t.equal(rounds, 40, 'every round had one winner and busy errors for the rest');
});

let cachedDead: number | undefined;
async function deadPidCached(): Promise<number> {
  cachedDead ??= await deadPid();
  return cachedDead;
}

t.test('stale by other means: garbage, a previous boot, a dead takeover guard', async (t) => {
  const dir = t.testdir({});
  await writeFile(join(dir, 'lock'), 'not json');
  const a = await acquireLock(dir, { command: 'cclab up' });
  t.equal(a.tookOverFrom, undefined, 'garbage names no holder');
  a.release();

  if (a.info.bootId !== undefined) {
    // Our own pid is alive, but the lock says it was taken before the machine rebooted.
    await writeLock(dir, { pid: process.pid, bootId: '00000000-0000-0000-0000-000000000000' });
    const b = await acquireLock(dir, { command: 'cclab up' });
    t.equal(b.tookOverFrom?.bootId, '00000000-0000-0000-0000-000000000000');
    b.release();
  }

  const dead = await deadPid();
  await writeLock(dir, { pid: dead });
  await writeFile(join(dir, 'lock.takeover'), JSON.stringify({ pid: dead, command: 'cclab up', startedAt: 'x', hostname: hostname() }));
  const c = await acquireLock(dir, { command: 'cclab up' });
  t.equal(c.tookOverFrom?.pid, dead);
  c.release();
  t.same(await readdir(dir), []);
});

t.test('a lab directory that does not exist: NotFoundError', async (t) => {
  await t.rejects(acquireLock(join(t.testdir({}), 'gone'), { command: 'cclab up' }), NotFoundError);
});

t.test('a lock held on another host is never taken over', async (t) => {
  const dir = t.testdir({});
  const dead = await deadPid();
  await writeLock(dir, { pid: dead, hostname: `not-${hostname()}` });
  const e = await acquireLock(dir, { command: 'cclab up' }).catch((e: unknown) => e);
  t.type(e, LabBusyError);
  t.match((e as Error).message, `(pid ${dead} on not-${hostname()})`);
  t.match((e as LabBusyError).hint, `if cclab no longer runs on not-${hostname()}`);
});

t.test('isProcessAlive: ourselves, a dead pid, a zombie', async (t) => {
  t.ok(isProcessAlive(process.pid));
  t.ok(isProcessAlive(1), 'pid 1 exists (EPERM or not, it is alive)');
  t.notOk(isProcessAlive(await deadPid()));
  t.notOk(isProcessAlive(0));
  t.notOk(isProcessAlive(-5));

  // A parent that never reaps its exited child, which stays a zombie. (Not `sh -c 'sleep 0 & …;
  // exec sleep 30'`: the shell may reap the child before its exec when the child is quick, and
  // then there is no zombie to find. Perl is part of every Debian system.)
  const parent = spawn('perl', ['-e', '$| = 1; my $pid = fork() // die "fork: $!"; exit 0 if $pid == 0; print "$pid\n"; sleep 30'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void parent.kill('SIGKILL'));
  const zombie = Number((await createInterface({ input: parent.stdout! })[Symbol.asyncIterator]().next()).value);
  // Wait until the child has exited and become a zombie (its /proc state turns to Z).
  for (let i = 0; i < 500; i++) {
    const stat = await readFile(`/proc/${zombie}/stat`, 'utf8').catch(() => '');
    if (/\) Z /.test(stat)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  t.match(await readFile(`/proc/${zombie}/stat`, 'utf8'), /\) Z /, 'it is a zombie');
  t.notOk(isProcessAlive(zombie), 'a zombie is not a live holder');
});

t.test('a process that exits while taking the lock leaves no temporary file behind', async (t) => {
  // Signal handlers run on the event loop. The holder looks for the lock's temporary file on every
  // turn of its loop while taking the lock and exits at once if it sees one, as a signal would end
  // cclab there: the file must never be visible from the loop, and never outlive the process.
  for (let attempt = 1; attempt <= 10; attempt++) {
    const labDir = t.testdir({});
    const h = startHolder(t, labDir, 'cclab down', ['--exit-while-taking']);
    const line = (await h.next()) as { sawTmp?: boolean; turns?: number; acquired?: boolean };
    await h.exited;
    t.equal(line.sawTmp, false, `attempt ${attempt}: no turn of the event loop saw the temporary file (${line.turns} turns)`);
    t.same((await readdir(labDir)).filter((f) => f.endsWith('.tmp')), [], `attempt ${attempt}: no temporary file left`);
    t.equal(line.acquired, true, `attempt ${attempt}: the lock was taken`);
  }
});
