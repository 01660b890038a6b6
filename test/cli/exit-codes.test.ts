/**
 * The exit codes of the built CLI (a public contract), each from a real process: usage 2,
 * invalid lab 3, preflight 4, a failed vagrant command 5, not found 8. (Busy 7 and interrupted 130
 * are in signals.test.ts; unhealthy 6 needs machines to check, see test/pipeline/up.test.ts.)
 */
import fs, { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cliHome, ensureBuilt, labDirsLeft } from '../helpers/cli.js';

t.before(ensureBuilt);
t.jobs = 4;

t.test('usage errors exit with 2: unknown command, unknown flag, bad values, refused options', async (t) => {
  const h = cliHome(t);
  const [unknown, flag, parallel, arch, both] = await Promise.all([
    h.run(['frobnicate']),
    h.run(['up', 'dev', '--frobnicate', '--no-wait']),
    h.run(['up', 'dev', '--parallel', '0', '--no-wait']),
    h.run(['up', 'dev', '--provider', 'hyperv', '--no-wait']),
    h.run(['down', 'dev', '--all']),
  ]);
  for (const [what, r] of [['unknown command', unknown], ['unknown flag', flag], ['--parallel 0', parallel], ['--provider hyperv', arch], ['down NAME --all', both]] as const) {
    t.equal(r.code, 2, what, { stderr: r.stderr });
    t.equal(r.stdout, '', `${what}: nothing on stdout`);
    t.match(r.stderr, /^error: /m, `${what}: an error line`);
  }
  t.match(flag.stderr, /frobnicate/);
  t.match(parallel.stderr, '--parallel takes a whole number ≥ 1');
  t.match(both.stderr, 'give a lab name or --all, not both');
  t.same(h.fake.invocations(), [], 'Vagrant was never run');
  t.same(labDirsLeft(h), []);
});

t.test('an invalid lab exits with 3 and names the problem', async (t) => {
  const h = cliHome(t);
  const file = path.join(h.fake.dir, 'big.yaml');
  fs.writeFileSync(file, 'apiVersion: cclab.dev/v1alpha1\nkind: Lab\nspec:\n  architecture: small\n  members: 12\n');
  const r = await h.run(['up', '--config', file, '--no-wait']);
  t.equal(r.code, 3);
  t.match(r.stderr, /big\.yaml is not a valid lab:\n {2}- members: /);
  // The same value from a flag is the command line's mistake: exit 2, the flag named.
  const flag = await h.run(['up', 'small', '--members', '12', '--no-wait']);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /^error: --members: small takes 3–9 members, not 12/m);
  // `up` asks Vagrant preflight's read-only questions while it loads the lab; nothing else ran.
  t.same(
    h.fake.invocations().filter((a) => !(a[0] === '--version' || (a[0] === 'box' && a[1] === 'list'))),
    [],
    'Vagrant was asked nothing but --version and box list',
  );
  t.same(labDirsLeft(h), [], 'nothing created');
});

t.test('preflight failures exit with 4 and leave no lab behind', async (t) => {
  const h = cliHome(t);
  // A PATH with vagrant only: no VBoxManage.
  const onlyVagrant = path.join(h.fake.dir, 'only-vagrant');
  fs.mkdirSync(onlyVagrant);
  fs.symlinkSync(h.fake.bin, path.join(onlyVagrant, 'vagrant'));
  const noVbox = await h.run(['up', 'dev', '--no-wait'], { env: { PATH: onlyVagrant } });
  t.equal(noVbox.code, 4, '', { stderr: noVbox.stderr });
  t.match(noVbox.stderr, /^error: preflight failed:\n {2}✗ provider virtualbox: VBoxManage is not installed \(not on PATH\)\n {4}fix: install VirtualBox/m);
  t.notOk(h.fake.invocations().some((a) => a[0] === 'up'), 'nothing booted');
  t.same(labDirsLeft(h), [], 'no lab directory left behind');

  const noVagrant = await h.run(['up', 'dev', '--no-wait'], { env: { PATH: path.join(h.fake.dir, 'empty') } });
  t.equal(noVagrant.code, 4);
  t.match(noVagrant.stderr, /^ {2}✗ vagrant: vagrant cannot run: `vagrant` was not found \(PATH or CCLAB_VAGRANT\)\n {4}fix: install Vagrant/m);
  t.equal(noVagrant.stderr.match(/preflight failed/g)?.length, 1, 'one list of failures, not one inside another');

  const oldVagrant = await h.run(['doctor', 'laptop'], { env: { FAKE_VAGRANT_VERSION: '2.2.4' } });
  t.equal(oldVagrant.code, 4, 'doctor fails like up does');
  t.match(oldVagrant.stdout, /^✗ vagrant: Vagrant 2\.2\.4 is older than 2\.2\.5/m, 'doctor prints its checks on stdout');
  t.match(oldVagrant.stdout, /^ {4}fix: upgrade Vagrant/m);
  t.match(oldVagrant.stdout, /^✓ provider virtualbox: VirtualBox 7\.0\.14r161095$/m);

  const fine = await h.run(['doctor', 'laptop', '--json']);
  t.equal(fine.code, 0, 'doctor passes with Vagrant and VirtualBox on PATH', { stdout: fine.stdout });
  t.equal(JSON.parse(fine.stdout).ok, true);
});

t.test('a failing vagrant command exits with 5', async (t) => {
  const h = cliHome(t);
  const r = await h.run(['up', 'laptop', '--no-wait'], { env: { FAKE_VAGRANT_FAIL_UP: 'core-01' } });
  t.equal(r.code, 5);
  t.match(r.stderr, /^command: vagrant up core-01 --provider virtualbox --no-parallel \(exit status 1\)$/m);
  t.equal(h.manifest('laptop').state, 'partial');
  const json = await cliHome(t).run(['up', 'laptop', '--no-wait', '--json'], { env: { FAKE_VAGRANT_FAIL_UP: 'core-01' } });
  t.equal(json.code, 5);
  const doc = JSON.parse(json.stdout) as { error: Record<string, unknown> };
  t.equal(doc.error.kind, 'command-failed');
  t.equal(doc.error.machine, 'core-01');
  t.equal(doc.error.exitCode, 5);
});

t.test('a lab or machine that does not exist exits with 8 (and down leaves no directory behind)', async (t) => {
  const h = cliHome(t);
  const results = await Promise.all([
    h.run(['status', 'nosuch', '--no-health']),
    h.run(['down', 'nosuch']),
    h.run(['halt', 'nosuch']),
    h.run(['docker-env', 'nosuch']),
    h.run(['ssh', 'nosuch']),
    h.run(['logs', 'nosuch', 'core-01']),
  ]);
  for (const r of results) {
    t.equal(r.code, 8, r.stderr.split('\n')[0] ?? '');
    t.equal(r.stdout, '');
  }
  t.match(results[0]!.stderr, 'there is no lab named nosuch\nhint: no labs yet: create one with `cclab up laptop`');
  t.same(labDirsLeft(h), [], 'looking for a lab does not create it');
  const none = await h.run(['status', '--no-health']);
  t.equal(none.code, 8, 'no name and no labs');
  t.match(none.stderr, 'there are no labs');

  const missing = await h.run(['up', 'nosuch', '--no-wait']);
  t.equal(missing.code, 2, '`up NAME` of a lab that does not exist: a usage error (it may be a typo of an architecture)');
  t.match(missing.stderr, '"nosuch" is neither an architecture (laptop, small, dev, production) nor an existing lab');
});

t.test('a lab that does not exist is not found, not busy, while another command holds the lock of its name', async (t) => {
  const h = cliHome(t);
  // What a concurrent `down nosuch` leaves for a moment: the directory and a lock held by a live process.
  const dir = path.join(h.home, 'labs', 'nosuch');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: process.pid, command: 'cclab down', startedAt: new Date().toISOString(), hostname: hostname() }) + '\n');
  for (const args of [['down', 'nosuch'], ['halt', 'nosuch']]) {
    const r = await h.run(args);
    t.equal(r.code, 8, `${args[0]}: ${r.stderr.split('\n')[0] ?? ''}`);
    t.match(r.stderr, 'there is no lab named nosuch');
  }
  // With a manifest the lab exists, and the same lock makes it busy.
  const made = await h.run(['up', 'laptop', '--name', 'held', '--no-wait']);
  t.equal(made.code, 0, made.stderr);
  writeFileSync(path.join(h.home, 'labs', 'held', 'lock'), JSON.stringify({ pid: process.pid, command: 'cclab up', startedAt: new Date().toISOString(), hostname: hostname() }) + '\n');
  const busy = await h.run(['down', 'held']);
  t.equal(busy.code, 7, 'an existing lab whose lock is held is busy');
  rmSync(path.join(h.home, 'labs', 'held', 'lock'));
});

t.test('--json prints exactly one document, also when the command fails after printing its own', async (t) => {
  const h = cliHome(t);
  const dir = t.testdir({ 'bad.yaml': '#cloud-config\ncoreos:\n  update:\n    reboot-strategy: off\n' });
  const r = await h.run(['validate', '--json', path.join(dir, 'bad.yaml')]);
  t.equal(r.code, 9, 'validate found an error');
  const doc = JSON.parse(r.stdout) as { errors: number; files: unknown[] };
  t.equal(doc.errors, 1, 'the one document is the validation report, not an error object after it');
  t.equal(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).length, 1);

  const usage = await h.run(['status', 'nosuch', '--json', '--no-health']);
  t.equal(usage.code, 8);
  t.same(Object.keys(JSON.parse(usage.stdout) as object), ['error'], 'with nothing printed, the error is the document');
});

t.test('`up NAME` resumes a lab as made: any lab option is refused (exit 2)', async (t) => {
  const h = cliHome(t);
  const made = await h.run(['up', 'dev', '--name', 'lab1', '--workers', '1', '--no-wait']);
  t.equal(made.code, 0, '', { stderr: made.stderr });
  for (const flags of [['--memory', '2048'], ['--libvirt-management-network', '192.168.122.0/24']]) {
    const r = await h.run(['up', 'lab1', ...flags, '--no-wait']);
    t.equal(r.code, 2, `${flags[0]} is refused`);
    t.match(r.stderr, '`cclab up lab1` resumes the lab as it was made and takes no lab options');
    t.match(r.stderr, 'cclab up dev --name lab1 [options] --recreate');
  }
  const resumed = await h.run(['up', 'lab1', '--no-wait']);
  t.equal(resumed.code, 0, 'without options it resumes', { stderr: resumed.stderr });
});
