/**
 * The guide's experiments through the built CLI, with the fake `vagrant` on PATH: `kill` (a hard
 * power-off, recorded; status names it; `up` brings it back) and `snapshot` save, list, restore and
 * delete of every machine at once, including a save that fails half-way and leaves nothing behind.
 * `--no-wait`/`--no-health`/`--timeout 0` where a health check would reach the (absent) machines.
 */
import fs from 'node:fs';
import t from 'tap';
import type { Test } from 'tap';
import { cliHome, ensureBuilt, type CliHome } from '../helpers/cli.js';

t.before(ensureBuilt);
t.jobs = 3;

async function upOk(t: Test, h: CliHome, args: string[]) {
  const r = await h.run(['up', ...args, '--no-wait']);
  t.equal(r.code, 0, `cclab up ${args.join(' ')}`, { stderr: r.stderr });
  return r;
}
type FakeMachine = { state: string; forced?: boolean; snapshots?: { name: string }[]; restored?: string };
const fakeMachine = (h: CliHome, lab: string, name: string) => h.fake.state().envs?.[h.labDir(lab)]?.machines?.[name] as FakeMachine;

t.test('kill pulls the plug (vagrant halt --force), records it, and up brings the machine back', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['small', '--members', '3', '--parallel', '1']);

  const r = await h.run(['kill', 'small', 'core-02']);
  t.equal(r.code, 0, 'kill works', { stderr: r.stderr });
  t.equal(r.stdout, '', 'progress on stderr only');
  t.ok(h.fake.invocations().some((a) => a.join(' ') === 'halt --force core-02'), 'vagrant halt --force core-02');
  t.match(fakeMachine(h, 'small', 'core-02'), { state: 'poweroff', forced: true }, 'powered off without a clean shutdown');
  t.equal(fakeMachine(h, 'small', 'core-01').state, 'running', 'the others run on');
  t.match(r.stderr, /core-02 is powered off \(no clean shutdown\)\.\n {2}What the cluster makes of it: cclab check small\n {2}Bring it back: cclab up small/);

  const m = h.manifest('small');
  t.equal(m.state, 'partial');
  const killedAt = m.machines.find((x: { name: string }) => x.name === 'core-02').killedAt;
  t.match(killedAt, /^\d{4}-\d\d-\d\dT/, 'the manifest records when');
  t.notOk(m.machines.find((x: { name: string }) => x.name === 'core-01').killedAt);

  const status = await h.run(['status', 'small', '--no-health']);
  t.equal(status.code, 0);
  t.match(status.stdout, new RegExp(`^core-02 .*poweroff \\(killed at ${killedAt.replace(/\./g, '\\.')}\\)$`, 'm'));
  t.match(status.stdout, /^Powered off by `cclab kill`: core-02; `cclab up small` brings it back$/m);
  const json = JSON.parse((await h.run(['status', 'small', '--json', '--no-health'])).stdout);
  t.same(json.machines.map((x: { name: string; killedAt: string | null }) => [x.name, x.killedAt]), [['core-01', null], ['core-02', killedAt], ['core-03', null]]);

  const again = await h.run(['kill', 'small', 'core-02']);
  t.equal(again.code, 2, 'a machine that is off cannot be killed again');
  t.match(again.stderr, /^error: core-02 is poweroff: only a running machine can be killed$/m);
  const unknown = await h.run(['kill', 'small', 'core-09', 'nope']);
  t.equal(unknown.code, 8, 'unknown machines: not found');
  t.match(unknown.stderr, /^error: lab small has no machine core-09, nope$/m);
  t.match(unknown.stderr, /^hint: its machines: core-01, core-02, core-03$/m);
  const noLab = await h.run(['kill', 'nosuch', 'core-01']);
  t.equal(noLab.code, 8);
  t.match(noLab.stderr, /there is no lab named nosuch/);

  await upOk(t, h, ['small']);
  t.equal(fakeMachine(h, 'small', 'core-02').state, 'running', 'up starts the killed machine');
  const back = h.manifest('small');
  t.equal(back.state, 'running');
  t.same(back.machines.map((x: { killedAt?: string }) => x.killedAt), [undefined, undefined, undefined], 'no machine is recorded as killed any more');
});

t.test('snapshots: save, list (status, ls --json), restore, delete; every machine as one unit', async (t) => {
  const h = cliHome(t);
  // libvirt: a snapshot of a suspended domain comes back suspended (VirtualBox starts it after a restore).
  fs.writeFileSync(h.fake.stateFile, JSON.stringify({ boxes: { 'lab/test/libvirt': { imported: true } } }));
  await upOk(t, h, ['dev', '--workers', '2', '--parallel', '1', '--provider', 'libvirt', '--box', 'lab/test']);

  const save = await h.run(['snapshot', 'dev', 'save', 'base']);
  t.equal(save.code, 0, 'save works', { stderr: save.stderr });
  t.ok(h.fake.invocations().some((a) => a.join(' ') === 'snapshot save base'), 'one vagrant snapshot save for every machine (Vagrant takes one machine name or none)');
  const order = h.fake.invocations().map((a) => a.join(' ')).filter((a) => /^(suspend|resume|snapshot save)/.test(a));
  t.same(order, ['suspend etcd-01 worker-01 worker-02', 'snapshot save base', 'resume etcd-01 worker-01 worker-02 --no-provision'], 'every machine suspended before any is saved, resumed after: one moment of the cluster');
  t.match(save.stderr, /Suspending etcd-01, worker-01, worker-02, so the snapshot holds one moment of the whole cluster…/);
  for (const x of ['etcd-01', 'worker-01', 'worker-02']) t.equal(fakeMachine(h, 'dev', x).state, 'running', `${x} runs again after the save`);
  for (const x of ['etcd-01', 'worker-01', 'worker-02']) t.same(fakeMachine(h, 'dev', x).snapshots?.map((s) => s.name), ['base'], `${x} has it`);
  t.match(save.stderr, /Snapshot base of lab dev saved \(3 machines\); go back to it with `cclab snapshot dev restore base`/);

  const dup = await h.run(['snapshot', 'dev', 'save', 'base']);
  t.equal(dup.code, 2, 'a second snapshot of the same name is refused');
  t.match(dup.stderr, /^error: lab dev already has a snapshot base$/m);
  const bad = await h.run(['snapshot', 'dev', 'save', '../../etc']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^error: "\.\.\/\.\.\/etc" is not a snapshot name$/m);
  const none = await h.run(['snapshot', 'dev', 'save', '--', '-rf']);
  t.equal(none.code, 2);
  t.match(none.stderr, /^error: name the snapshot: cclab snapshot dev save SNAPSHOT$/m);
  const bad2 = await h.run(['snapshot', 'dev', 'save', 'a b;c']);
  t.equal(bad2.code, 2);
  t.match(bad2.stderr, /^error: "a b;c" is not a snapshot name$/m);

  const list = await h.run(['snapshot', 'dev', 'list', '--json']);
  t.equal(list.code, 0, '', { stderr: list.stderr });
  const doc = JSON.parse(list.stdout);
  t.match(doc, { lab: 'dev', snapshots: [{ name: 'base', createdAt: /^\d{4}-/, machines: ['etcd-01', 'worker-01', 'worker-02'], missing: [], cclab: true }] });
  const text = await h.run(['snapshot', 'dev', 'list']);
  t.match(text.stdout, /^SNAPSHOT +TAKEN +MACHINES\nbase +\d{4}-\S+ +all 3\n$/);
  const ls = JSON.parse((await h.run(['ls', '--json'])).stdout);
  t.same(ls.labs[0].snapshots, ['base'], 'ls --json lists them');
  const status = await h.run(['status', 'dev', '--no-health']);
  t.match(status.stdout, /^Snapshots: base \(\d{4}-.*\)$/m, 'status lists them');

  // Change the lab (pull a plug), then go back.
  t.equal((await h.run(['kill', 'dev', 'worker-02'])).code, 0);
  const restore = await h.run(['snapshot', 'dev', 'restore', 'base', '--timeout', '0', '--json']);
  // The health check reaches for machines that do not exist here: unhealthy (exit 6) after the restore.
  t.equal(restore.code, 6, 'restored, then the health check runs', { stderr: restore.stderr });
  t.ok(h.fake.invocations().some((a) => a.join(' ') === 'snapshot restore base --no-provision'));
  const afterRestore = h.fake.invocations().map((a) => a.join(' ')).slice(-8);
  t.ok(afterRestore.includes('resume etcd-01 worker-01 worker-02 --no-provision'), 'the machines, back suspended as they were taken, resume together after every one is restored');
  t.ok(afterRestore.indexOf('resume etcd-01 worker-01 worker-02 --no-provision') > afterRestore.indexOf('snapshot restore base --no-provision'));
  const restored = JSON.parse(restore.stdout);
  t.match(restored, { lab: 'dev', restored: 'base', health: { healthy: false } }, 'one JSON document: the restore and the health');
  t.match(restore.stderr, /Lab dev is back at snapshot base\./);
  t.equal(fakeMachine(h, 'dev', 'worker-02').state, 'running', 'the killed machine runs again, as it did in the snapshot');
  const m = h.manifest('dev');
  t.equal(m.state, 'running');
  t.same(m.machines.map((x: { killedAt?: string }) => x.killedAt), [undefined, undefined, undefined], 'nothing is recorded as killed after the restore');

  const missing = await h.run(['snapshot', 'dev', 'restore', 'nope', '--timeout', '0']);
  t.equal(missing.code, 8);
  t.match(missing.stderr, /^error: lab dev has no snapshot nope$/m);
  t.match(missing.stderr, /^hint: its snapshots: base$/m);

  const del = await h.run(['snapshot', 'dev', 'delete', 'base']);
  t.equal(del.code, 0, '', { stderr: del.stderr });
  t.ok(h.fake.invocations().some((a) => a.join(' ') === 'snapshot delete base'), 'every machine has it: one vagrant snapshot delete');
  for (const x of ['etcd-01', 'worker-01', 'worker-02']) t.same(fakeMachine(h, 'dev', x).snapshots, [], `${x}: gone`);
  t.same(h.manifest('dev').snapshots, []);
  const empty = await h.run(['snapshot', 'dev', 'list']);
  t.equal(empty.stdout, '');
  t.match(empty.stderr, /Lab dev has no snapshots/);
  const delAgain = await h.run(['snapshot', 'dev', 'delete', 'base']);
  t.equal(delAgain.code, 8);
});

t.test('a save that fails on one machine removes the snapshot from the others', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_FAIL_SNAPSHOT: 'worker-01' });
  await upOk(t, h, ['dev', '--workers', '2', '--parallel', '1']);
  const r = await h.run(['snapshot', 'dev', 'save', 'base']);
  t.equal(r.code, 5, 'the failed Vagrant command: exit 5');
  t.match(r.stderr, /^error: vagrant snapshot save base failed \(exit 1\)$/m);
  t.match(r.stderr, /Not enough free disk space/, 'the tail of Vagrant’s output');
  t.match(r.stderr, /removing snapshot base from etcd-01, which had it/);
  t.ok(h.fake.invocations().some((a) => a.join(' ') === 'snapshot delete etcd-01 base'), 'removed machine by machine from the ones that have it');
  t.match(r.stderr, /^hint: no machine keeps a part of snapshot base/m);
  for (const x of ['etcd-01', 'worker-01', 'worker-02']) t.same(fakeMachine(h, 'dev', x).snapshots ?? [], [], `${x} has no part of it`);
  for (const x of ['etcd-01', 'worker-01', 'worker-02']) t.equal(fakeMachine(h, 'dev', x).state, 'running', `${x} was resumed after the failed save`);
  t.same(h.manifest('dev').snapshots ?? [], [], 'the manifest records none');

  // A snapshot a machine lacks (made outside cclab on one machine) is found before anything is restored.
  const dir = h.labDir('dev');
  const made = await h.run(['snapshot', 'dev', 'list', '--json']);
  t.same(JSON.parse(made.stdout).snapshots, []);
  const { execFileSync } = await import('node:child_process');
  execFileSync(h.fake.bin, ['snapshot', 'save', 'etcd-01', 'manual'], { cwd: dir, env: { ...process.env, ...h.env } });
  const partial = JSON.parse((await h.run(['snapshot', 'dev', 'list', '--json'])).stdout);
  t.match(partial.snapshots, [{ name: 'manual', createdAt: null, machines: ['etcd-01'], missing: ['worker-01', 'worker-02'], cclab: false }]);
  const restore = await h.run(['snapshot', 'dev', 'restore', 'manual', '--timeout', '0']);
  t.equal(restore.code, 8);
  t.match(restore.stderr, /^error: worker-01, worker-02 of lab dev do not have snapshot manual: nothing was restored$/m);
  t.notOk(h.fake.invocations().some((a) => a[0] === 'snapshot' && a[1] === 'restore'), 'no machine was touched');
  const del = await h.run(['snapshot', 'dev', 'delete', 'manual']);
  t.equal(del.code, 0, 'a snapshot only some machines have can be deleted', { stderr: del.stderr });
  t.ok(h.fake.invocations().some((a) => a.join(' ') === 'snapshot delete etcd-01 manual'), 'from the machine that has it');
  t.same(fakeMachine(h, 'dev', 'etcd-01').snapshots, []);
});

t.test('a machine that does not resume after a save: the snapshot is kept and recorded, the error says how to resume', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_FAIL_RESUME: 'worker-01' });
  await upOk(t, h, ['dev', '--workers', '1', '--parallel', '1']);
  const r = await h.run(['snapshot', 'dev', 'save', 'base']);
  t.equal(r.code, 5, 'the failed Vagrant command: exit 5');
  t.match(r.stderr, /^error: vagrant resume etcd-01 worker-01 --no-provision failed \(exit 1\)$/m);
  t.match(r.stderr, /is already locked by a session/, 'the tail of Vagrant’s output');
  t.match(r.stderr, /^hint: snapshot base was saved, but machines may still be suspended: `cclab up dev` resumes them/m);
  t.same(h.manifest('dev').snapshots.map((s: { name: string }) => s.name), ['base'], 'the snapshot that was taken is recorded');
  t.equal(fakeMachine(h, 'dev', 'worker-01').state, 'saved', 'VirtualBox: its state saved to disk');
  await upOk(t, h, ['dev']);
  t.equal(fakeMachine(h, 'dev', 'worker-01').state, 'running', 'up resumes it');
});

t.test('a lab of one machine is saved running: nothing to keep in step', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['laptop']);
  const r = await h.run(['snapshot', 'laptop', 'save', 'base']);
  t.equal(r.code, 0, '', { stderr: r.stderr });
  t.notOk(h.fake.invocations().some((a) => a[0] === 'suspend' || a[0] === 'resume'), 'no suspend, no resume');
  const back = await h.run(['snapshot', 'laptop', 'restore', 'base', '--timeout', '0']);
  t.match(back.stderr, /Lab laptop is back at snapshot base\./, '', { stderr: back.stderr });
  t.notOk(h.fake.invocations().some((a) => a[0] === 'resume'), 'it comes back running');
});
