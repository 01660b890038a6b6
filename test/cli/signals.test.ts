/**
 * Locks and signals with real processes: while `cclab up` boots a lab (a fake vagrant that takes
 * its time), every other command that changes the lab fails at once with exit code 7 naming the
 * holder; Ctrl-C (SIGINT) reaches Vagrant once, leaves a partial lab with a way forward and no
 * lock, and a later `cclab up` resumes.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { cliHome, ensureBuilt } from '../helpers/cli.js';

t.before(ensureBuilt);

t.test('a busy lab refuses up, down and halt at once (exit 7); SIGINT stops up cleanly (exit 130); up resumes', async (t) => {
  // Each machine "boots" for a minute: the fake is interrupted long before that.
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '60000' });
  const up = h.start(['up', 'dev', '--no-wait']);
  await up.waitForStderr(/etcd-01: Waiting for machine to boot/);
  const lock = JSON.parse(fs.readFileSync(path.join(h.labDir('dev'), 'lock'), 'utf8')) as { pid: number; command: string };
  t.equal(lock.pid, up.pid, 'the lock names the running cclab');
  t.equal(lock.command, 'cclab up');

  // The workers start as soon as etcd-01 is booting (box imported, network made): wait for them,
  // so that every `vagrant up` seen later can only come from the refused commands.
  await up.waitForStderr(/worker-02: Waiting for machine to boot/);
  await up.waitForStderr(/worker-01: Waiting for machine to boot/);
  const upsBefore = h.fake.invocations().filter((a) => a[0] === 'up').length;
  t.equal(upsBefore, 3, 'the running cclab has etcd-01 and both workers booting');
  const others = await Promise.all([h.run(['up', 'dev', '--no-wait']), h.run(['down', 'dev']), h.run(['halt', 'dev'])]);
  for (const [i, r] of others.entries()) {
    const what = ['up', 'down', 'halt'][i]!;
    t.equal(r.code, 7, `${what}: exit code 7`, { stderr: r.stderr });
    t.match(r.stderr, new RegExp(`^error: lab dev is busy: \`cclab up\` \\(pid ${up.pid}\\) holds its lock`, 'm'), `${what} names the holder`);
    t.equal(r.stdout, '');
  }
  t.equal(h.fake.invocations().filter((a) => a[0] === 'up').length, upsBefore, 'nothing else was booted');
  t.same(h.fake.invocations().filter((a) => a[0] === 'destroy' || a[0] === 'halt'), [], 'nothing destroyed or halted');
  t.ok(fs.existsSync(h.labDir('dev')), 'down did not remove the lab');

  up.child.kill('SIGINT');
  const r = await up.done;
  t.equal(r.code, 130, 'exit code 130');
  const fakeUps = h.fake.log().filter((e) => e.argv?.[0] === 'up').map((e) => e.pid).sort();
  const signals = h.fake.log().filter((e) => e.signal);
  t.same(
    signals.map((e) => [e.pid, e.signal]).sort(),
    fakeUps.map((pid) => [pid, 'SIGINT']),
    'each running vagrant got exactly one SIGINT',
  );
  t.match(r.stderr, /Ctrl-C: stopping cleanly/);
  t.match(r.stderr, /^error: interrupted while booting lab dev$/m);
  t.match(r.stderr, /resume with `cclab up dev`, or remove it with `cclab down dev`/);
  t.equal(r.stdout, '');

  const m = h.manifest('dev');
  t.equal(m.state, 'partial');
  t.match(m.lastError.message, /interrupted/);
  t.same(m.machines.map((x: { state: string }) => x.state), ['not_created', 'not_created', 'not_created'], 'Vagrant removed the half-made machine');
  t.notOk(fs.existsSync(path.join(h.labDir('dev'), 'lock')), 'no lock file left behind');

  const again = await h.run(['up', 'dev', '--no-wait', '--parallel', '1'], { env: { FAKE_VAGRANT_UP_DELAY_MS: '0' } });
  t.equal(again.code, 0, 'a later up resumes', { stderr: again.stderr });
  const after = h.manifest('dev');
  t.equal(after.state, 'running');
  t.equal(after.createdAt, m.createdAt, 'the same lab');
  t.same(after.machines.map((x: { state: string }) => x.state), ['running', 'running', 'running']);
});

t.test('SIGINT while machines boot in parallel: each running vagrant gets exactly one SIGINT; up resumes', async (t) => {
  const h = cliHome(t);
  t.equal((await h.run(['up', 'dev', '--no-wait', '--parallel', '1'])).code, 0);
  t.equal((await h.run(['halt', 'dev'])).code, 0);
  // Every machine exists (powered off): they all start together, two at a time, each taking its time.
  const start = h.fake.log().length;
  const up = h.start(['up', 'dev', '--no-wait', '--parallel', '2'], { env: { FAKE_VAGRANT_UP_DELAY_MS: '60000' } });
  await up.waitForStderr(/etcd-01: Waiting for machine to boot/);
  await up.waitForStderr(/worker-01: Waiting for machine to boot/);
  up.child.kill('SIGINT');
  const r = await up.done;
  t.equal(r.code, 130);
  const during = h.fake.log().slice(start);
  const booting = during.filter((e) => e.argv?.[0] === 'up');
  t.same(booting.map((e) => e.argv![1]).sort(), ['etcd-01', 'worker-01'], 'two machines were booting; worker-02 never started');
  const signalled = during.filter((e) => e.signal).map((e) => [e.pid, e.signal]);
  t.same(signalled.sort(), booting.map((e) => [e.pid, 'SIGINT']).sort(), 'one SIGINT each, nothing else');
  t.notOk(fs.existsSync(path.join(h.labDir('dev'), 'lock')));
  t.equal(h.manifest('dev').state, 'partial');

  const again = await h.run(['up', 'dev', '--no-wait', '--parallel', '1']);
  t.equal(again.code, 0, '', { stderr: again.stderr });
  t.equal(h.manifest('dev').state, 'running');
});
