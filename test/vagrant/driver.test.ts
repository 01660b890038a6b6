/**
 * The driver against test/helpers/fake-vagrant.mjs on PATH: real processes started by execa,
 * real signals; only Vagrant itself is stood in for.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CommandError, InterruptedError, PreflightError } from '../../src/errors.js';
import { createVagrantDriver, createVagrantRunner, resolveVagrantBin, vagrantEnv } from '../../src/vagrant/driver.js';
import { fakeLab, fakeVagrant } from '../helpers/fake-vagrant.js';

const MACHINES = [{ name: 'etcd-01', dockerHostPort: 2375 }, { name: 'etcd-02' }, { name: 'worker-01', dockerHostPort: 2376 }];

function setup(t: { teardown(fn: () => unknown): void }, extraEnv: Record<string, string> = {}) {
  const fake = fakeVagrant(t, extraEnv);
  const lab = fakeLab(t, MACHINES);
  // VAGRANT_CWD would make Vagrant ignore the lab directory: the driver must drop it.
  const driver = createVagrantDriver({ env: { ...fake.env, VAGRANT_CWD: '/elsewhere' }, globalCwd: fake.dir });
  return { fake, lab, driver };
}

t.test('vagrantEnv: the caller\'s environment, without VAGRANT_CWD, with checkpoint and colour off', async (t) => {
  t.same(vagrantEnv({ PATH: '/bin', VAGRANT_CWD: '/x', VAGRANT_VAGRANTFILE: 'V', HOME: undefined, VAGRANT_HOME: '/h' }), {
    PATH: '/bin',
    VAGRANT_HOME: '/h',
    VAGRANT_CHECKPOINT_DISABLE: '1',
    VAGRANT_NO_COLOR: '1',
  });
});

t.test('up sends the machines, provider and --no-parallel, in the lab directory, and streams lines', async (t) => {
  const { fake, lab, driver } = setup(t);
  const lines: string[] = [];
  await driver.up(lab, { machines: ['etcd-01', 'etcd-02'], provider: 'virtualbox', parallel: false, onLine: (l) => lines.push(l) });
  const [call] = fake.log().filter((e) => e.argv);
  t.same(call?.argv, ['up', 'etcd-01', 'etcd-02', '--provider', 'virtualbox', '--no-parallel']);
  t.equal(call?.cwd, fs.realpathSync(lab));
  t.same(call?.env, { VAGRANT_HOME: fake.env.VAGRANT_HOME, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_NO_COLOR: '1' });
  t.ok(lines.includes("==> etcd-01: Importing base box 'flatcar-stable'..."), 'first machine imports the box');
  t.ok(lines.includes('==> etcd-02: Machine booted and ready!'));
  t.notOk(lines.some((l) => l.includes("etcd-02: Importing base box")), 'second machine clones');
  const status = await driver.status(lab);
  t.same(status.map((m) => [m.name, m.state, m.provider]), [
    ['etcd-01', 'running', 'virtualbox'],
    ['etcd-02', 'running', 'virtualbox'],
    ['worker-01', 'not_created', 'virtualbox'],
  ]);
});

t.test('up: --parallel when asked, nothing when left to Vagrant; --no-destroy-on-error', async (t) => {
  const { fake, lab, driver } = setup(t);
  await driver.up(lab, { provider: 'libvirt', parallel: true });
  await driver.up(lab, { machines: ['worker-01'], provider: 'libvirt', destroyOnError: false });
  t.same(fake.invocations(), [
    ['up', '--provider', 'libvirt', '--parallel'],
    ['up', 'worker-01', '--provider', 'libvirt', '--no-destroy-on-error'],
  ]);
});

t.test('a failed up throws CommandError with the argv, machine, exit status, output tail and a hint', async (t) => {
  const { lab, driver } = setup(t, { FAKE_VAGRANT_FAIL_UP: 'etcd-02' });
  const err = await driver.up(lab, { machines: ['etcd-02'], provider: 'virtualbox' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof CommandError, 'CommandError');
  const e = err as CommandError;
  t.same(e.command, ['vagrant', 'up', 'etcd-02', '--provider', 'virtualbox']);
  t.equal(e.machine, 'etcd-02');
  t.equal(e.exitStatus, 1);
  t.match(e.message, /^vagrant up etcd-02 --provider virtualbox failed \(exit 1\) on etcd-02$/);
  t.match(e.outputTail, /Timed out while waiting for the machine to boot/);
  t.match(e.outputTail, /the timeout \("config\.vm\.boot_timeout"\) value\.$/);
  t.notMatch(e.outputTail, /Bringing machine/, 'only the tail');
  t.match(e.hint, /could not reach it over SSH/);
});

t.test('a failure while bringing up several machines names no machine', async (t) => {
  const { lab, driver } = setup(t, { FAKE_VAGRANT_FAIL_UP: 'worker-01' });
  const err = (await driver.up(lab, { provider: 'libvirt' }).catch((e: unknown) => e)) as CommandError;
  t.ok(err instanceof CommandError);
  t.equal(err.machine, undefined);
  t.match(err.outputTail, /An error occurred while executing the action on the 'worker-01'\nmachine\./);
});

t.test('abort: one SIGINT, Vagrant cleans up, InterruptedError', async (t) => {
  const { fake, lab, driver } = setup(t, { FAKE_VAGRANT_UP_DELAY_MS: '600000' });
  const ac = new AbortController();
  const lines: string[] = [];
  const up = driver.up(lab, {
    machines: ['etcd-01'],
    provider: 'virtualbox',
    signal: ac.signal,
    onLine: (l) => {
      lines.push(l);
      if (l.includes('Waiting for machine to boot')) ac.abort();
    },
  });
  await t.rejects(up, InterruptedError);
  const signals = fake.log().filter((e) => e.signal).map((e) => e.signal);
  t.same(signals, ['SIGINT'], 'exactly one SIGINT, no SIGTERM');
  // In a group of its own, a Ctrl-C in the terminal reaches cclab only, never Vagrant directly.
  const ownGroup = fs.existsSync('/proc/self/stat') ? Number(fs.readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ')[2]) : undefined;
  const [call] = fake.log().filter((e) => e.argv);
  if (ownGroup !== undefined) t.not(call?.pgid, ownGroup, 'vagrant runs in its own process group');
  if (ownGroup !== undefined) t.equal(call?.pgid, call?.pid, 'and leads it');
  t.ok(lines.includes('==> etcd-01: Waiting for cleanup before exiting...'));
  t.ok(lines.includes('Vagrant exited after cleanup due to external interrupt.'));
  const [m] = await driver.status(lab, ['etcd-01']);
  t.equal(m?.state, 'not_created', 'the half-created machine was destroyed by the cleanup');
});

t.test('abort: Vagrant that does not finish its cleanup gets SIGTERM', async (t) => {
  const fake = fakeVagrant(t, { FAKE_VAGRANT_UP_DELAY_MS: '600000', FAKE_VAGRANT_CLEANUP_MS: '600000' });
  const lab = fakeLab(t, MACHINES);
  const runner = createVagrantRunner({ env: fake.env, interruptGraceMs: 300 });
  const ac = new AbortController();
  const run = runner.run(['up', 'etcd-01', '--provider', 'virtualbox'], {
    cwd: lab,
    signal: ac.signal,
    onLine: (l) => l.includes('Waiting for machine to boot') && ac.abort(),
  });
  await t.rejects(run, InterruptedError);
  t.same(fake.log().filter((e) => e.signal).map((e) => e.signal), ['SIGINT', 'SIGTERM']);
});

t.test('an already aborted signal starts nothing', async (t) => {
  const { fake, lab, driver } = setup(t);
  await t.rejects(driver.up(lab, { provider: 'virtualbox', signal: AbortSignal.abort() }), InterruptedError);
  t.same(fake.invocations(), []);
});

t.test('a missing vagrant binary is a preflight failure that says what to do', async (t) => {
  const fake = fakeVagrant(t);
  const lab = fakeLab(t, MACHINES);
  for (const [label, driver, shown] of [
    ['not on PATH', createVagrantDriver({ env: { PATH: path.join(fake.dir, 'empty') } }), 'vagrant'],
    ['CCLAB_VAGRANT', createVagrantDriver({ env: { PATH: fake.env.PATH!, CCLAB_VAGRANT: '/nonexistent/vagrant' } }), '/nonexistent/vagrant'],
    ['vagrantBin', createVagrantDriver({ env: fake.env, vagrantBin: path.join(fake.dir, 'nope') }), path.join(fake.dir, 'nope')],
  ] as const) {
    const err = await driver.status(lab).then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof PreflightError, `${label}: PreflightError`);
    const f = (err as PreflightError).failures[0];
    t.equal(f?.check, 'vagrant');
    t.equal(f?.message, `\`${shown}\` was not found (PATH or CCLAB_VAGRANT)`, label);
    t.match(f?.fix, /install Vagrant/);
  }
  t.same(fake.invocations(), []);
});

t.test('a lab directory that does not exist is not mistaken for a missing vagrant', async (t) => {
  const { fake, driver } = setup(t);
  await t.rejects(driver.status(path.join(fake.dir, 'gone')), { name: 'NotFoundError', message: /gone does not exist/ });
});

t.test('CCLAB_VAGRANT picks the binary', async (t) => {
  const fake = fakeVagrant(t, { FAKE_VAGRANT_VERSION: '2.2.19' });
  const driver = createVagrantDriver({ env: { ...fake.env, PATH: '/nonexistent', CCLAB_VAGRANT: fake.bin } });
  t.equal((await driver.version()).text, '2.2.19');
});

t.test('output cclab cannot read is a CommandError naming the command', async (t) => {
  const fake = fakeVagrant(t, { FAKE_VAGRANT_VERSION: 'unknown' });
  const driver = createVagrantDriver({ env: fake.env });
  await t.rejects(driver.version(), { name: 'CommandError', message: /^vagrant --version printed output cclab cannot read/ });
});

t.test('a failed --machine-readable command shows Vagrant\'s message, not records', async (t) => {
  const { fake, driver } = setup(t);
  const err = (await driver.status(fake.dir).catch((e: unknown) => e)) as CommandError;
  t.ok(err instanceof CommandError);
  t.match(err.outputTail, /^A Vagrant environment or target machine is required to run this\ncommand\./);
  t.notMatch(err.outputTail, /VAGRANT_COMMA|error-exit/);
  t.match(err.hint, /no Vagrantfile/);
});

t.test('port: forwarded ports, ports moved by auto_correct, and providers that cannot list them', async (t) => {
  const { lab, driver } = setup(t);
  await driver.up(lab, { provider: 'virtualbox' });
  t.same(await driver.port(lab, 'etcd-01'), [
    { guest: 22, host: 2222 },
    { guest: 2375, host: 2375 },
  ]);
  t.same(await driver.port(lab, 'etcd-02'), [{ guest: 22, host: 2200 }]);

  const moved = setup(t, { FAKE_VAGRANT_MOVE_PORT: '2376=2390' });
  await moved.driver.up(moved.lab, { machines: ['worker-01'], provider: 'virtualbox' });
  t.same(await moved.driver.port(moved.lab, 'worker-01'), [
    { guest: 22, host: 2201 },
    { guest: 2375, host: 2390 },
  ]);

  const lv = setup(t);
  await lv.driver.up(lv.lab, { machines: ['etcd-01'], provider: 'libvirt' });
  t.equal(await lv.driver.port(lv.lab, 'etcd-01'), undefined);
  await t.rejects(lv.driver.port(lv.lab, 'nope'), { name: 'CommandError', machine: 'nope' });
});

t.test('sshConfig, halt, destroy', async (t) => {
  const { fake, lab, driver } = setup(t);
  await t.rejects(driver.sshConfig(lab, ['etcd-01']), { name: 'CommandError', machine: 'etcd-01', hint: /not running/ });
  await driver.up(lab, { machines: ['etcd-01', 'worker-01'], provider: 'virtualbox' });
  const hosts = await driver.sshConfig(lab, ['etcd-01', 'worker-01']);
  t.same(hosts.map((h) => [h.host, h.hostName, h.port, h.user]), [
    ['etcd-01', '127.0.0.1', 2222, 'core'],
    ['worker-01', '127.0.0.1', 2201, 'core'],
  ]);
  t.same(hosts[0]?.identityFiles, [path.join(fake.env.VAGRANT_HOME!, 'insecure_private_key')]);
  await driver.suspend(lab, ['etcd-01', 'worker-01']);
  t.same((await driver.status(lab, ['etcd-01', 'worker-01'])).map((m) => m.state), ['saved', 'saved'], 'suspended: VirtualBox saves the state');
  await driver.resume(lab, ['etcd-01', 'worker-01']);
  t.same(fake.invocations().slice(-3), [['suspend', 'etcd-01', 'worker-01'], ['status', '--machine-readable', 'etcd-01', 'worker-01'], ['resume', 'etcd-01', 'worker-01', '--no-provision']]);
  t.same((await driver.status(lab, ['etcd-01', 'worker-01'])).map((m) => m.state), ['running', 'running'], 'resumed, not provisioned again');
  await driver.halt(lab, ['worker-01']);
  await driver.destroy(lab);
  t.same(fake.invocations().slice(-2), [['halt', 'worker-01'], ['destroy', '-f']]);
  t.same((await driver.status(lab)).map((m) => m.state), ['not_created', 'not_created', 'not_created']);
});

t.test('boxList and pluginList run outside any lab', async (t) => {
  const { fake, lab, driver } = setup(t);
  t.same(await driver.boxList(), []);
  await driver.up(lab, { machines: ['etcd-01'], provider: 'virtualbox' });
  t.same(await driver.boxList(), [{ name: 'flatcar-stable', provider: 'virtualbox', version: '0' }]);
  t.same(await driver.pluginList(), [{ name: 'vagrant-libvirt', version: '0.11.2', scope: 'system' }]);
  const global = fake.log().filter((e) => e.argv?.[0] === 'box' || e.argv?.[0] === 'plugin');
  t.ok(global.every((e) => e.cwd === fs.realpathSync(fake.dir)), 'run in globalCwd');
});

t.test('validate', async (t) => {
  const { fake, lab, driver } = setup(t);
  await driver.validate(lab, { ignoreProvider: true });
  await driver.validate(lab);
  t.same(fake.invocations(), [['validate', '-p'], ['validate']]);
});

t.test('ssh quotes the command for the remote shell and returns its exit status', async (t) => {
  const { fake, lab, driver } = setup(t, { FAKE_VAGRANT_SSH_EXIT: '3' });
  await driver.up(lab, { machines: ['etcd-01'], provider: 'virtualbox' });
  t.equal(await driver.ssh(lab, 'etcd-01', ['etcdctl', 'get', "/it's here"]), 3);
  t.same(fake.invocations().at(-1), ['ssh', 'etcd-01', '-c', "etcdctl get '/it'\\''s here'"]);
});

t.test('two processes importing the same box at once: the second fails with a hint', async (t) => {
  const { fake, lab, driver } = setup(t, { FAKE_VAGRANT_BOX_IMPORT_MS: '600000' });
  const ac = new AbortController();
  let second: Promise<unknown> | undefined;
  const importing = new Promise<void>((resolve) => {
    const first = driver.up(lab, {
      machines: ['etcd-01'],
      provider: 'virtualbox',
      signal: ac.signal,
      onLine: (l) => l.includes('Importing base box') && resolve(),
    });
    t.teardown(() => first.catch(() => undefined));
    second = first.catch((e: unknown) => e);
  });
  await importing;
  const err = (await driver.up(lab, { machines: ['etcd-02'], provider: 'virtualbox' }).catch((e: unknown) => e)) as CommandError;
  t.ok(err instanceof CommandError);
  t.equal(err.machine, 'etcd-02');
  t.match(err.outputTail, /\nFailed to create lock-file for master VM creation for box flatcar-stable\.$/);
  t.match(err.hint, /importing the same box/);
  ac.abort();
  t.ok((await second) instanceof InterruptedError, 'the first one is interrupted during its import');
  t.same(fake.state().boxes, {}, 'an interrupted import leaves no box behind');
  t.same(fake.state().importing, {});
});

t.test('onLine gets whole lines: split UTF-8, progress rewrites, escapes, an unfinished last line', async (t) => {
  // Any program can stand in for the binary; this one writes awkward chunks on purpose.
  const script = `
    const euro = Buffer.from('€');
    process.stdout.write(Buffer.concat([Buffer.from('==> a: price 5'), euro.subarray(0, 1)]));
    setTimeout(() => {
      process.stdout.write(Buffer.concat([euro.subarray(1), Buffer.from('\\n\\x1b[KProgress: 10%\\r\\x1b[KProgress: 20%\\r\\n')]));
      process.stderr.write('an error\\n');
      setTimeout(() => process.stdout.write('no newline at the end'), 20);
    }, 20);`;
  const runner = createVagrantRunner({ env: { PATH: process.env.PATH }, vagrantBin: process.execPath });
  const lines: string[] = [];
  const r = await runner.run(['-e', script], { cwd: process.cwd(), onLine: (l) => lines.push(l) });
  t.equal(r.exitCode, 0);
  t.same(lines.filter((l) => l !== 'an error'), ['==> a: price 5€', 'Progress: 10%', 'Progress: 20%', 'no newline at the end']);
  t.ok(lines.includes('an error'), 'stderr lines too');
  t.equal(r.stdout, '==> a: price 5€\n\x1b[KProgress: 10%\r\x1b[KProgress: 20%\r\nno newline at the end', 'the output itself is untouched');
});

t.test('up\'s head start: --version and box list started before the driver loads are adopted by it, so Vagrant answers each once', async (t) => {
  const { startPreflightQueries } = await import('../../src/vagrant/head-start.js');
  const fake = fakeVagrant(t);
  startPreflightQueries(fake.env);
  const driver = createVagrantDriver({ env: fake.env });
  const [version, boxes] = await Promise.all([driver.version(), driver.boxList()]);
  t.match(version, { major: 2 });
  t.same(boxes, []);
  t.same(fake.invocations().sort(), [['--version'], ['box', 'list', '--machine-readable']], 'each ran once');
  await driver.version();
  t.equal(fake.invocations().filter((a) => a[0] === '--version').length, 2, 'a second question runs Vagrant again');
  // Another environment is another question: the driver does not adopt it and runs its own.
  startPreflightQueries({ ...fake.env, CCLAB_TEST_OTHER: '1' });
  const other = createVagrantDriver({ env: fake.env });
  await other.version();
  const { takeEarly } = await import('../../src/process/early.js');
  const os = await import('node:os');
  const otherEnv = { ...fake.env, CCLAB_TEST_OTHER: '1' };
  const early = takeEarly(resolveVagrantBin({ env: otherEnv }), ['--version'], { cwd: os.tmpdir(), env: vagrantEnv(otherEnv) });
  t.ok(early, 'the early run of the other environment is still there, not adopted');
  await early;
  t.equal(fake.invocations().filter((a) => a[0] === '--version').length, 4, 'two more runs: the early one and the driver\'s own');
});
