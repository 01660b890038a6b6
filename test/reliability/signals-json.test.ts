/**
 * Defects 9 and 12 of the reliability review: JSON mode is decided from the parsed options (every
 * yargs spelling of --json), and every command stops promptly on the first signal, with 128 + the
 * signal's number, even one blocked reading a FIFO.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { cliHome, ensureBuilt } from '../helpers/cli.js';

t.before(ensureBuilt);

t.test('--json spellings: a failing command prints exactly one JSON error document', async (t) => {
  const h = cliHome(t);
  for (const args of [
    ['ls', '--json=true', '--bogus'],
    ['status', 'nope', '--json=true'],
    ['status', 'nope', '--json', 'true'],
    ['docker-env', 'nope', '--json=true'],
    ['check', '--json=true', '--endpoints', 'not a url'],
    ['up', 'dev', '--json', '--workers', 'abc'],
  ]) {
    const r = await h.run(args);
    t.not(r.code, 0, args.join(' '));
    const doc = JSON.parse(r.stdout) as { error: { exitCode: number; kind: string } };
    t.equal(doc.error.exitCode, r.code, `${args.join(' ')}: the document carries the exit code`);
    t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
  }
  const plain = await h.run(['status', 'nope', '--no-json']);
  t.equal(plain.stdout, '', '--no-json prints no document');
});

// Files named by the user are opened O_NONBLOCK and a FIFO is read through a net.Socket
// (src/bounded-read.ts): no thread-pool thread waits on the FIFO, so exiting never waits either.
t.test('validate and render stop on the first SIGINT, SIGTERM or SIGHUP, even reading a FIFO', async (t) => {
  const h = cliHome(t);
  const fifo = path.join(h.fake.dir, 'pipe.yaml');
  fs.mkdirSync(path.join(h.fake.dir, 'out'));
  const cases: [string[], NodeJS.Signals, number][] = [
    [['validate', fifo], 'SIGINT', 130],
    [['validate', fifo], 'SIGTERM', 143],
    [['validate', fifo], 'SIGHUP', 129],
    [['render', '--config', fifo, '--out', 'out/a'], 'SIGTERM', 143],
    [['render', '--config', fifo, '--out', 'out/b'], 'SIGINT', 130],
    [['up', '--config', fifo], 'SIGTERM', 143],
  ];
  for (const [args, sig, code] of cases) {
    fs.rmSync(fifo, { force: true });
    require_mkfifo(fifo);
    const p = h.start(args);
    // Wait until it has opened the FIFO, then hold it open without writing: the read blocks.
    const writer = await openWriter(fifo, p.child);
    t.teardown(() => fs.closeSync(writer));
    const sent = Date.now();
    p.child.kill(sig);
    const r = await p.done;
    t.equal(r.code, code, `${args[0]} + ${sig}: exit ${code}`, { stderr: r.stderr });
    t.ok(Date.now() - sent < 3000, `${args[0]} + ${sig}: stopped promptly (${Date.now() - sent} ms)`);
    t.match(r.stderr, new RegExp(`^error: interrupted by ${sig}$`, 'm'));
    t.notMatch(r.stderr, /internal error|\n\s+at /);
  }
  t.same(fs.readdirSync(path.join(h.fake.dir, 'out')), [], 'render wrote nothing');
  // `.placement` is the lock over all labs' subnets, not a lab (ls and the fault suite skip dot entries too).
  t.same(fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir).filter((n) => !n.startsWith('.')) : [], [], 'up left no lab behind');
});

function require_mkfifo(p: string): void {
  if (spawnSync('mkfifo', [p]).status !== 0) throw new Error('mkfifo failed');
}

/** Opens the FIFO for writing once a reader has it open (O_NONBLOCK fails with ENXIO until then). */
async function openWriter(fifo: string, child: { exitCode: number | null }): Promise<number> {
  for (;;) {
    try {
      return fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO' || child.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

t.test('a second Ctrl-C ends the vagrant processes too, and the lab then shows as partial', async (t) => {
  // Vagrant takes a minute to boot and another to clean up after the first SIGINT.
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '60000', FAKE_VAGRANT_CLEANUP_MS: '60000' });
  const up = h.start(['up', 'laptop', '--no-wait']);
  await up.waitForStderr(/Waiting for machine to boot/);
  up.child.kill('SIGINT');
  await up.waitForStderr(/stopping cleanly/);
  up.child.kill('SIGINT');
  const r = await up.done;
  t.equal(r.code, 130);
  t.match(r.stderr, /Ctrl-C again: exiting now \(stopped 1 vagrant process\)/);
  await new Promise((res) => setTimeout(res, 500));
  const alive = [...new Set(h.fake.log().filter((e) => e.argv).map((e) => e.pid))].filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fake-vagrant');
    } catch {
      return false;
    }
  });
  t.same(alive, [], 'no vagrant left running');
  const ls = JSON.parse((await h.run(['ls', '--json'])).stdout) as { labs: { name: string; state: string }[] };
  t.same(ls.labs.map((l) => [l.name, l.state]), [['laptop', 'partial']], 'not booting forever');
  t.equal((await h.run(['down', 'laptop'])).code, 0, 'and down removes it');
});
