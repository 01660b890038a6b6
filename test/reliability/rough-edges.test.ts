/**
 * The rough edges of the reliability review, each against the real CLI: whole-number options,
 * flag errors that name the flag, reserved subnets, bounded reads, and the rest.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { cliHome, ensureBuilt, type CliHome, type CliResult } from '../helpers/cli.js';

t.before(ensureBuilt);

const NO_STACK = /internal error|this is a bug|\n\s+at /i;

/** Runs the CLI; a run that has not ended after `ms` is killed and fails the test. */
async function runWithin(t: Test, h: CliHome, args: string[], ms = 15_000): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  const p = h.start(args);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const r = await p.done;
  clearTimeout(timer);
  const took = Date.now() - started;
  t.not(r.signal, 'SIGKILL', `${args.join(' ')}: ended by itself within ${ms} ms`);
  t.notMatch(r.stderr, NO_STACK, `${args.join(' ')}: no stack trace`);
  return { ...r, ms: took };
}

t.test('whole-number options: decimal digits only, one error, exit 2, the option named', async (t) => {
  const h = cliHome(t);
  const cases: [string[], string][] = [
    [['render', 'dev', '--workers', 'abc'], 'workers'],
    [['render', 'dev', '--workers='], 'workers'],
    [['render', 'dev', '--workers'], 'workers'],
    [['render', 'dev', '--workers', '1e2'], 'workers'],
    [['render', 'dev', '--workers', '0x10'], 'workers'],
    [['render', 'dev', '--workers', '-1'], 'workers'],
    [['render', 'dev', '--workers', '1.5'], 'workers'],
    [['render', 'dev', '--workers', ' 3'], 'workers'],
    [['render', 'dev', '--workers', '2', '--workers', '3'], 'workers'],
    [['render', 'dev', '--memory', '1e3'], 'memory'],
    [['render', 'small', '--members', '0x3'], 'members'],
    [['up', 'dev', '--parallel', '0x2'], 'parallel'],
    [['up', 'dev', '--parallel', '0'], 'parallel'],
    [['check', '--endpoints', 'http://127.0.0.1:9', '--expect-members', '1e1'], 'expect-members'],
    [['logs', 'dev', 'etcd-01', '-n', 'abc'], 'lines'],
    [['logs', 'dev', 'etcd-01', '--lines', '10; reboot'], 'lines'],
  ];
  for (const [args, option] of cases) {
    const r = await runWithin(t, h, args[0] === 'render' ? [...args, '--out', path.join(h.fake.dir, 'out')] : args);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`, { stderr: r.stderr });
    t.match(r.stderr, new RegExp(`^error: --${option}\\b`, 'm'), `${args.join(' ')}: names --${option}`);
    t.notMatch(r.stderr, /NaN|labs\/\w+\.yaml/, `${args.join(' ')}: no NaN, no lab file blamed`);
  }
  t.same(h.fake.log(), [], 'vagrant never ran (logs did not reach journalctl)');
});

t.test('a value from a flag that breaks the lab rules: exit 2 like a malformed one, naming the flag, not labs/*.yaml', async (t) => {
  const h = cliHome(t);
  const out = path.join(h.fake.dir, 'out');
  const zero = await runWithin(t, h, ['render', 'dev', '--workers', '0', '--out', out]);
  t.equal(zero.code, 2, '--workers 0 exits as --workers -1 does');
  t.match(zero.stderr, /^error: --workers: dev takes 1–\d+ workers, not 0/m);
  t.notMatch(zero.stderr, /labs\/dev\.yaml/);
  const two = await runWithin(t, h, ['render', 'small', '--members', '12', '--box-url', 'https://b/x.json', '--metadata', 'role=x', '--out', out]);
  t.equal(two.code, 2);
  t.match(two.stderr, /^error: these options are not valid:\n {2}- --members: small takes 3–9 members, not 12/m);
  t.match(two.stderr, /^ {2}- --metadata: role is set by the architecture/m);
  t.notMatch(two.stderr, /labs\/small\.yaml/);
  // A lab file's own mistake still names the file, exit 3.
  const file = path.join(h.fake.dir, 'lab.yaml');
  fs.writeFileSync(file, 'apiVersion: cclab.dev/v1alpha1\nkind: Lab\nspec:\n  architecture: dev\n  workers: 0\n');
  const bad = await runWithin(t, h, ['render', '--config', file, '--out', out]);
  t.equal(bad.code, 3);
  t.match(bad.stderr, /lab\.yaml is not a valid lab:\n {2}- workers: dev takes/);
  // Both: exit 3, the file named, and the flag's problem under the flag's name.
  const both = await runWithin(t, h, ['render', '--config', file, '--subnet', '127.0.0.0/24', '--out', out]);
  t.equal(both.code, 3);
  t.match(both.stderr, /^ {2}- workers: dev takes/m);
  t.match(both.stderr, /^ {2}- --subnet: 127\.0\.0\.0\/24 cannot be a lab subnet/m);
  const json = await runWithin(t, h, ['render', 'dev', '--workers', '0', '--json', '--out', out]);
  t.match(JSON.parse(json.stdout), { error: { kind: 'usage', exitCode: 2, problems: [{ path: 'workers', flag: 'workers' }] } });
  t.notOk(fs.existsSync(out), 'nothing rendered');
});

t.test('"1 machine", not "1 machines"', async (t) => {
  const h = cliHome(t);
  const r = await runWithin(t, h, ['render', 'laptop', '--subnet', '10.9.0.0/28', '--out', path.join(h.fake.dir, 'o')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /^error: --subnet: 1 machine does not fit in 10\.9\.0\.0\/28/m);
});

t.test('reserved, loopback, link-local, multicast and docker0 subnets are refused with the reason', async (t) => {
  const h = cliHome(t);
  const cases: [string, RegExp][] = [
    ['127.0.0.0/24', /loopback/],
    ['0.0.0.0/8', /"this network"/],
    ['224.0.0.0/24', /multicast/],
    ['239.1.2.0/24', /multicast/],
    ['240.0.0.0/24', /reserved/],
    ['169.254.3.0/24', /link-local/],
    ['172.17.0.0/24', /docker0/],
    ['172.16.0.0/12', /docker0/],
  ];
  for (const [subnet, why] of cases) {
    const r = await runWithin(t, h, ['render', 'dev', '--subnet', subnet, '--out', path.join(h.fake.dir, 'o')]);
    t.equal(r.code, 2, `${subnet}: refused`);
    t.match(r.stderr, new RegExp(`--subnet: ${subnet.replace(/\./g, '\\.')} cannot be a lab subnet: .*`), subnet);
    t.match(r.stderr, why, `${subnet}: the reason`);
  }
  const fine = await runWithin(t, h, ['render', 'dev', '--subnet', '172.18.0.0/24', '--out', path.join(h.fake.dir, 'o')]);
  t.equal(fine.code, 0, '172.18.0.0/24 is fine');
});

t.test('--box-url /path: the hint says file:///path', async (t) => {
  const h = cliHome(t);
  const r = await runWithin(t, h, ['render', 'dev', '--box-url', '/srv/boxes/flatcar.json', '--out', path.join(h.fake.dir, 'o')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /--box-url: "\/srv\/boxes\/flatcar\.json" is not a http\/https\/file URL; for a local file write "file:\/\/\/srv\/boxes\/flatcar\.json"/);
});

t.test('--ssh-key /dev/urandom, /dev/zero: read at most 16 KiB, one clear error', async (t) => {
  const h = cliHome(t);
  for (const dev of ['/dev/urandom', '/dev/zero']) {
    const r = await runWithin(t, h, ['render', 'laptop', '--ssh-key', dev, '--out', path.join(h.fake.dir, 'o')], 10_000);
    t.equal(r.code, 2, dev);
    t.match(r.stderr, new RegExp(`^error: --ssh-key: ${dev}: it is larger than 16 KiB`, 'm'));
  }
  const bin = path.join(h.fake.dir, 'key.pub');
  fs.writeFileSync(bin, Buffer.from([0x73, 0x73, 0x68, 0, 0xff, 0x1b, 0x5b, 0x32, 0x4a]));
  const r = await runWithin(t, h, ['render', 'laptop', '--ssh-key', bin, '--out', path.join(h.fake.dir, 'o')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /--ssh-key: .*key\.pub: it is not a text file: it contains a NUL byte/);
  t.notMatch(r.stderr, /\u001b/, 'no escape sequence from the file');
});

t.test('render --out under /proc ends with a file-system error instead of spinning', { skip: !fs.existsSync('/proc/self') && 'needs /proc' }, async (t) => {
  const h = cliHome(t);
  const r = await runWithin(t, h, ['render', 'laptop', '--out', '/proc/cclab-test/x'], 10_000);
  t.equal(r.code, 10, 'exit 10 (file system)', { stderr: r.stderr });
  t.match(r.stderr, /cannot create the directory \/proc\/cclab-test\/x: \/proc does not take new directories/);
  t.match(r.stderr, /hint: \/proc is not an ordinary directory \(a virtual file system such as \/proc or \/sys refuses new entries\): choose another location/);
  t.notMatch(r.stderr, /may have been removed/, 'not blamed on a vanished directory');
  t.ok(r.ms < 10_000, `ended in ${r.ms} ms`);
});

t.test("render's check hint quotes a path with a space, so it can be pasted", async (t) => {
  const h = cliHome(t);
  for (const [target, dir, glob] of [
    ['bare-metal', 'ignition', '*.ign'],
    ['matchbox', 'ignition', '*.ign'],
  ] as const) {
    const out = path.join(h.fake.dir, `lab ${target}`);
    const extra = target === 'matchbox' ? ['--matchbox-url', 'http://matchbox.example:8080', '--macs', path.join(h.fake.dir, 'macs')] : [];
    if (target === 'matchbox') fs.writeFileSync(path.join(h.fake.dir, 'macs'), 'core-01 52:54:00:00:00:01\n');
    const r = await runWithin(t, h, ['render', 'laptop', '--target', target, ...extra, '--out', out]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr.replace(/\s+/g, ' '), new RegExp(`cclab validate '[^']*lab ${target}/${dir}'/\\${glob}`), `${target}: the path is quoted`);
  }
});

t.test("render's next command carries the options given", async (t) => {
  const h = cliHome(t);
  const out = path.join(h.fake.dir, 'lab out');
  const r = await runWithin(t, h, ['render', 'dev', '--workers', '3', '--subnet', '10.1.2.0/24', '--metadata', 'rack=a1', '--no-docker-tcp', '--out', out]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /Boot it with `cclab up dev --workers 3 --subnet 10\.1\.2\.0\/24 --metadata 'rack=a1' --no-docker-tcp`, or by hand: cd '[^']*lab out' && vagrant up/);
});

t.test('doctor lists each failure once', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_VERSION: '2.2.4' });
  const old = await runWithin(t, h, ['doctor', 'laptop'], 30_000);
  t.equal(old.code, 4);
  t.equal((old.stdout + old.stderr).match(/Vagrant 2\.2\.4 is older than/g)?.length, 1, 'the failure is printed once', { stdout: old.stdout, stderr: old.stderr });
  t.equal((old.stdout + old.stderr).match(/fix: upgrade Vagrant/g)?.length, 1, 'and its fix once');
  t.match(old.stderr, /^error: preflight failed: \d+ checks? failed \(✗ above\)$/m);
});
