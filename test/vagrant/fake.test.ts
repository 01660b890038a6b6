/**
 * The fake `vagrant` (test/helpers/fake-vagrant.mjs) prints what the real one printed in
 * test/fixtures/vagrant/ (timestamps aside), so tests that use it test against Vagrant's formats.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { parseMachineReadable, parsePort, parseSshConfig, parseStatus } from '../../src/vagrant/parse.js';
import { fakeLab, fakeVagrant, type FakeVagrant } from '../helpers/fake-vagrant.js';

const run = promisify(execFile);
const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/vagrant/${name}`, import.meta.url), 'utf8');
/** Records without their timestamps. */
const untimed = (text: string) => parseMachineReadable(text).map(({ target, type, data }) => ({ target, type, data }));

async function vagrant(fake: FakeVagrant, cwd: string, args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(fake.bin, args, { cwd, env: { ...fake.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const NAMES = [{ name: 'etcd-01' }, { name: 'etcd-02' }, { name: 'worker-01' }];

t.test('status of machines never created: the same records as Vagrant with vagrant-libvirt', async (t) => {
  const fake = fakeVagrant(t, { VAGRANT_DEFAULT_PROVIDER: 'libvirt' });
  const lab = fakeLab(t, NAMES);
  const all = await vagrant(fake, lab, ['status', '--machine-readable']);
  t.same(untimed(all.stdout), untimed(fixture('status-not-created.machine-readable.txt')));
  t.same(parseStatus(all.stdout), parseStatus(fixture('status-not-created.machine-readable.txt')));
  const one = await vagrant(fake, lab, ['status', 'etcd-02', '--machine-readable']);
  t.same(untimed(one.stdout), untimed(fixture('status-one-machine.machine-readable.txt')));
});

t.test('status of running machines has the shape of Vagrant\'s', async (t) => {
  const fake = fakeVagrant(t);
  const lab = fakeLab(t, NAMES);
  t.equal((await vagrant(fake, lab, ['up', '--provider', 'virtualbox'])).code, 0);
  const out = (await vagrant(fake, lab, ['status', '--machine-readable'])).stdout;
  const shape = (text: string) => untimed(text).map((r) => [r.target, r.type, r.type === 'state' ? r.data[0] : '']);
  t.same(shape(out), shape(fixture('status-running.stub-provider.txt')));
  t.same(parseStatus(out).map((m) => [m.name, m.state, m.stateHuman]), parseStatus(fixture('status-running.stub-provider.txt')).map((m) => [m.name, m.state, m.stateHuman]));
});

t.test('running libvirt machines: the same records as real VMs', async (t) => {
  const fake = fakeVagrant(t);
  const lab = fakeLab(t, [{ name: 'etcd-01' }, { name: 'worker-01' }]);
  await vagrant(fake, lab, ['up', '--provider', 'libvirt']);
  t.same(untimed((await vagrant(fake, lab, ['status', '--machine-readable'])).stdout), untimed(fixture('status-running-libvirt.vm.txt')));
  const port = await vagrant(fake, lab, ['port', 'etcd-01', '--machine-readable']);
  t.equal(port.code, 1);
  t.same(untimed(port.stdout), untimed(fixture('port-libvirt-running.vm.txt')));
});

t.test('port, ssh-config: Vagrant\'s records and blocks', async (t) => {
  const fake = fakeVagrant(t, { VAGRANT_HOME: '/tmp/cclab-capture/home' });
  const lab = fakeLab(t, [{ name: 'etcd-01', dockerHostPort: 2375 }, { name: 'etcd-02' }, { name: 'worker-01', dockerHostPort: 2377 }]);
  await vagrant(fake, lab, ['up', '--provider', 'virtualbox']);
  const port = (await vagrant(fake, lab, ['port', 'etcd-01', '--machine-readable'])).stdout;
  const asStub = (text: string) => untimed(text).map((r) => (r.type === 'metadata' ? { ...r, data: ['provider', 'cclabstub'] } : r));
  t.same(asStub(port), untimed(fixture('port.stub-provider.txt')));
  t.same(parsePort((await vagrant(fake, lab, ['port', 'worker-01', '--machine-readable'])).stdout), parsePort(fixture('port-moved.stub-provider.txt')));

  const sshConfig = (await vagrant(fake, lab, ['ssh-config'])).stdout;
  const real = parseSshConfig(fixture('ssh-config-libvirt.stub-provider.txt'));
  const fakeHosts = parseSshConfig(sshConfig);
  // The same hosts, user, key and options (the stub sets ForwardAgent on worker-01; the fake does not).
  const comparable = (h: (typeof real)[number]) => {
    const { ForwardAgent: _, ...options } = h.options;
    return [h.host, h.user, h.identityFiles, options];
  };
  t.same(fakeHosts.map(comparable), real.map(comparable));
  // Blocks are laid out as Vagrant lays them out.
  const firstReal = fixture('ssh-config-libvirt.stub-provider.txt').split('\n\n')[0]!.replace(/HostName .*/, 'HostName X').replace(/Port .*/, 'Port X');
  t.equal(sshConfig.split('\n\n')[0]!.replace(/HostName .*/, 'HostName X').replace(/Port .*/, 'Port X'), firstReal);
  t.ok(sshConfig.endsWith('LogLevel FATAL\n\n'));
});

t.test('libvirt cannot list ports: the same ui error and exit status as vagrant-libvirt', async (t) => {
  const fake = fakeVagrant(t, { VAGRANT_DEFAULT_PROVIDER: 'libvirt' });
  const lab = fakeLab(t, NAMES);
  const r = await vagrant(fake, lab, ['port', 'etcd-01', '--machine-readable']);
  t.equal(r.code, 1);
  t.same(untimed(r.stdout), untimed(fixture('port-libvirt-unsupported.machine-readable.txt')));
});

t.test('texts that need no machine match Vagrant byte for byte', async (t) => {
  const fake = fakeVagrant(t, { VAGRANT_DEFAULT_PROVIDER: 'libvirt' });
  const lab = fakeLab(t, NAMES);
  t.equal((await vagrant(fake, lab, ['--version'])).stdout, fixture('version.txt'));
  t.equal((await vagrant(fake, lab, ['validate'])).stdout, fixture('validate.txt'));
  t.equal((await vagrant(fake, lab, ['validate', '-p'])).stdout, fixture('validate-ignore-provider.txt'));
  t.equal((await vagrant(fake, lab, ['halt'])).stdout, fixture('halt-not-created.txt'));
  t.same(untimed((await vagrant(fake, lab, ['plugin', 'list', '--machine-readable'])).stdout), untimed(fixture('plugin-list.machine-readable.txt')));
  t.same(untimed((await vagrant(fake, lab, ['box', 'list', '--machine-readable'])).stdout), untimed(fixture('box-list-empty.machine-readable.txt')));
  const noEnv = await vagrant(fake, fake.dir, ['status', '--machine-readable']);
  t.equal(noEnv.code, 1);
  t.same(untimed(noEnv.stdout), untimed(fixture('status-no-environment.machine-readable.txt')));
  const ssh = await vagrant(fake, lab, ['ssh-config']);
  t.equal(ssh.code, 1);
  t.equal(ssh.stderr, fixture('ssh-config-not-ready.txt'));
});

t.test('libvirt brings machines up in parallel in one process and imports the box once', async (t) => {
  const fake = fakeVagrant(t, { FAKE_VAGRANT_UP_DELAY_MS: '200' });
  const lab = fakeLab(t, NAMES);
  const r = await vagrant(fake, lab, ['up', '--provider', 'libvirt']);
  t.equal(r.code, 0, r.stderr);
  t.equal(fake.log().filter((e) => e.event === 'box-imported').length, 1);
  t.equal(r.stdout.match(/Uploading base box image as volume/g)?.length, 1);
  // Parallel: every machine started booting before the first one was ready.
  const lines = r.stdout.split('\n');
  const firstReady = lines.findIndex((l) => l.endsWith('Machine booted and ready!'));
  const lastBooting = lines.map((l, i) => (l.endsWith('Waiting for machine to boot. This may take a few minutes...') ? i : -1)).filter((i) => i >= 0).pop()!;
  t.ok(lastBooting < firstReady, 'all three boot at once');
  const [labState] = Object.values(fake.state().envs ?? {});
  t.same(Object.keys(labState?.machines ?? {}).sort(), ['etcd-01', 'etcd-02', 'worker-01']);
});

t.test('VirtualBox boots machines one after the other and stops at the first failure', async (t) => {
  const fake = fakeVagrant(t, { FAKE_VAGRANT_FAIL_UP: 'etcd-02' });
  const lab = fakeLab(t, NAMES);
  const r = await vagrant(fake, lab, ['up', '--provider', 'virtualbox']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^Timed out while waiting for the machine to boot/);
  t.notMatch(r.stdout, /worker-01: Cloning VM/, 'worker-01 never started');
  const st = parseStatus((await vagrant(fake, lab, ['status', '--machine-readable'])).stdout);
  t.same(st.map((m) => m.state), ['running', 'running', 'not_created'], 'a boot timeout leaves the machine (Vagrant keeps it)');
});

t.test('destroy without -f needs a TTY, like Vagrant', async (t) => {
  const fake = fakeVagrant(t);
  const lab = fakeLab(t, NAMES);
  await vagrant(fake, lab, ['up', 'etcd-01', '--provider', 'virtualbox']);
  const r = await vagrant(fake, lab, ['destroy', 'etcd-01']);
  t.equal(r.code, 1);
  t.match(r.stderr, /requires\na TTY/);
  t.equal((await vagrant(fake, lab, ['destroy', '-f'])).stdout.split('\n').filter(Boolean).length, 4, 'two not created, one forced shutdown and destroy');
});

t.test('a second SIGINT exits at once, without cleanup', async (t) => {
  const fake = fakeVagrant(t, { FAKE_VAGRANT_UP_DELAY_MS: '600000', FAKE_VAGRANT_CLEANUP_MS: '600000' });
  const lab = fakeLab(t, NAMES);
  const child = spawn(fake.bin, ['up', 'etcd-01', '--provider', 'virtualbox'], { cwd: lab, env: fake.env });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Waiting for machine to boot')) resolve();
    }),
  );
  child.kill('SIGINT');
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => (out += d) && out.includes('Waiting for cleanup') && resolve()));
  child.kill('SIGINT');
  t.equal(await exited, 1);
  t.match(err, /Exiting immediately, without cleanup!/);
  t.same(fake.log().filter((e) => e.signal).map((e) => e.signal), ['SIGINT', 'SIGINT']);
  const [m] = parseStatus((await vagrant(fake, lab, ['status', 'etcd-01', '--machine-readable'])).stdout);
  t.equal(m?.state, 'poweroff', 'without cleanup the half-made machine stays behind');
});
