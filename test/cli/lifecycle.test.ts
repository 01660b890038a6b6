/**
 * A lab's life through the built CLI, run as a real process with the fake `vagrant` on PATH:
 * failure and what it leaves, `down` (after a failure, with the VMs already gone, --keep-files),
 * `halt` and resume, `status` and `ls` (human and --json), `ssh`, `logs` and `docker-env`.
 * `--no-wait` and `--no-health` everywhere: health checks would reach the lab's (absent) machines.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { CLI, cliHome, ensureBuilt, labDirsLeft, type CliHome } from '../helpers/cli.js';

t.before(ensureBuilt);
t.jobs = 4;

const execFileP = promisify(execFile);
const ups = (h: CliHome) => h.fake.invocations().filter((a) => a[0] === 'up');
const fakeMachines = (h: CliHome, lab: string) => Object.keys(h.fake.state().envs?.[h.labDir(lab)]?.machines ?? {});

async function upOk(t: Test, h: CliHome, args: string[], env?: Record<string, string>) {
  const r = await h.run(['up', ...args, '--no-wait'], { env });
  t.equal(r.code, 0, `cclab up ${args.join(' ')}`, { stderr: r.stderr });
  return r;
}

t.test('a failed up keeps the lab as partial and says which machine, which command and how to go on; down removes it', async (t) => {
  const h = cliHome(t);
  const r = await h.run(['up', 'dev', '--workers', '3', '--parallel', '1', '--no-wait'], { env: { FAKE_VAGRANT_FAIL_UP: 'worker-02' } });
  t.equal(r.code, 5, 'exit code 5: a command failed');
  t.equal(r.stdout, '', 'nothing on stdout');
  t.match(r.stderr, /^error: machine worker-02 of lab dev failed to come up$/m);
  t.match(r.stderr, /^command: vagrant up worker-02 --provider virtualbox --no-parallel \(exit status 1\)$/m);
  t.match(r.stderr, /^output \(last lines\):\n(  .*\n)*  Timed out while waiting for the machine to boot/m, 'the tail of Vagrant\'s output');
  t.match(r.stderr, /resume with `cclab up dev`, or remove it with `cclab down dev`/);

  const m = h.manifest('dev');
  t.equal(m.state, 'partial');
  t.equal(m.lastError.machine, 'worker-02');
  t.same(m.lastError.command.slice(1), ['up', 'worker-02', '--provider', 'virtualbox', '--no-parallel']);
  t.same(m.machines.map((x: { state: string }) => x.state), ['running', 'running', 'running', 'not_created']);

  const status = await h.run(['status', 'dev', '--no-health']);
  t.equal(status.code, 0);
  t.match(status.stdout, /^Lab dev: dev, partial /m);
  t.match(status.stdout, /^Last error \(.*\): vagrant up worker-02 --provider virtualbox --no-parallel failed/m);

  const down = await h.run(['down', 'dev']);
  t.equal(down.code, 0, 'down works on a partial lab', { stderr: down.stderr });
  t.notOk(fs.existsSync(h.labDir('dev')), 'the lab directory is gone');
  const destroy = h.fake.log().filter((e) => e.argv?.[0] === 'destroy');
  t.same(destroy.map((e) => [e.argv, e.cwd]), [[['destroy', '-f'], h.labDir('dev')]]);
  t.same(fakeMachines(h, 'dev'), [], 'every VM destroyed');
  t.match(down.stderr, 'Lab dev destroyed and removed.');
  t.equal(down.stdout, '');
});

t.test('up asks Vagrant its version and its boxes once each: started before up loads its modules, then adopted by the driver', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['laptop']);
  const questions = h.fake.log().filter((e) => e.argv && !['up', 'port', 'ssh-config', 'status'].includes(e.argv[0]!));
  t.same(questions.map((e) => e.argv).sort(), [['--version'], ['box', 'list', '--machine-readable']]);
  // Resumed by name, it asks the same two again, once each.
  await upOk(t, h, ['laptop']);
  t.equal(h.fake.invocations().filter((a) => a[0] === '--version').length, 2);
});

t.test('down on a lab whose VMs are already gone still removes it', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['laptop']);
  // Someone destroyed the VM behind cclab's back.
  await execFileP(h.fake.bin, ['destroy', '-f'], { cwd: h.labDir('laptop'), env: h.env });
  t.same(fakeMachines(h, 'laptop'), []);
  const status = await h.run(['status', 'laptop', '--no-health', '--json']);
  t.equal(JSON.parse(status.stdout).state, 'not created', 'status reads the VMs\' real state');
  const down = await h.run(['down', 'laptop']);
  t.equal(down.code, 0, '', { stderr: down.stderr });
  t.same(labDirsLeft(h), []);
});

t.test('down on a lab whose first up stopped before writing its Vagrantfile removes it without Vagrant', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['laptop']);
  await execFileP(h.fake.bin, ['destroy', '-f'], { cwd: h.labDir('laptop'), env: h.env });
  // What a crash between writing the manifest and writing the Vagrantfile leaves.
  fs.rmSync(`${h.labDir('laptop')}/Vagrantfile`);
  const before = h.fake.invocations().length;
  const down = await h.run(['down', 'laptop']);
  t.equal(down.code, 0, '', { stderr: down.stderr });
  t.same(h.fake.invocations().slice(before), [], 'no vagrant destroy without a Vagrant project');
  t.same(labDirsLeft(h), []);
});

t.test('down --keep-files destroys the VMs but keeps the lab files; up then rebuilds it', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['laptop']);
  const down = await h.run(['down', 'laptop', '--keep-files']);
  t.equal(down.code, 0);
  t.same(fakeMachines(h, 'laptop'), []);
  t.same(fs.readdirSync(h.labDir('laptop')).filter((f) => !f.startsWith('.')).sort(), ['Vagrantfile', 'docker-certs', 'lab.json', 'user-data']);
  const m = h.manifest('laptop');
  t.equal(m.state, 'created');
  t.same(m.machines.map((x: { state: string }) => x.state), ['not_created']);
  t.equal(m.docker, undefined, 'no Docker endpoint without a VM');
  t.match(down.stderr, `its files are kept in ${h.labDir('laptop')}`);

  const before = ups(h).length;
  await upOk(t, h, ['laptop']);
  t.same(ups(h).slice(before), [['up', 'core-01', '--provider', 'virtualbox', '--no-parallel']]);
  t.equal(h.manifest('laptop').state, 'running');
});

t.test('halt, then `up NAME` resumes every machine', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['dev', '--workers', '3', '--parallel', '1']);
  const halt = await h.run(['halt', 'dev']);
  t.equal(halt.code, 0);
  t.match(halt.stderr, 'Lab dev halted; resume it with `cclab up dev`.');
  t.ok(h.fake.invocations().some((a) => a[0] === 'halt'));
  const m = h.manifest('dev');
  t.equal(m.state, 'halted');
  t.same(m.machines.map((x: { state: string }) => x.state), ['poweroff', 'poweroff', 'poweroff', 'poweroff']);
  const ls = JSON.parse((await h.run(['ls', '--json'])).stdout);
  t.same(ls.labs.map((l: { name: string; state: string }) => [l.name, l.state]), [['dev', 'halted']]);

  const before = ups(h).length;
  const r = await upOk(t, h, ['dev', '--parallel', '1']);
  t.same(ups(h).slice(before).map((a) => a[1]), ['etcd-01', 'worker-01', 'worker-02', 'worker-03'], 'every halted machine is started');
  t.equal(h.fake.log().filter((e) => e.event === 'box-imported').length, 1, 'the box is not imported again');
  t.equal(h.manifest('dev').state, 'running');
  t.match(r.stdout, /^Lab dev is up: dev, 4 machines/m);

  const other = await h.run(['up', 'dev', '--workers', '2', '--no-wait']);
  t.equal(other.code, 2, 'other options for an existing lab: refused');
  t.match(other.stderr, /^error: lab dev exists with different options:\n {2}--workers: 3 → 2\n/m, 'the change is named by its option');
  t.match(other.stderr, /^hint: .*--recreate/m);
  t.equal(h.manifest('dev').machines.length, 4, 'the lab is unchanged');
});

t.test('status --json and ls --json print exactly one JSON document on stdout; progress stays on stderr', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_MOVE_PORT: '3002' });
  const up = await upOk(t, h, ['laptop']);
  t.match(up.stderr, /core-01 \(192\.168\.\d+\.101\) is up/, 'progress on stderr');
  t.notMatch(up.stdout, /preflight|Booting|core-01: /, 'no progress on stdout');

  // ls reads manifests only; each status runs `vagrant status`, one at a time.
  const [status, ls, lsHuman] = await Promise.all([h.run(['status', 'laptop', '--json', '--no-health']), h.run(['ls', '--json']), h.run(['ls'])]);
  const statusHuman = await h.run(['status', '--no-health']);
  t.equal(status.code, 0);
  const s = JSON.parse(status.stdout) as Record<string, any>;
  t.equal(s.name, 'laptop');
  t.equal(s.state, 'running');
  t.equal(s.docker.endpoint, 'tcp://127.0.0.1:3002');
  t.same(s.machines.map((m: { name: string; role: string; state: string }) => [m.name, m.role, m.state]), [['core-01', 'docker', 'running']]);
  t.equal(s.health, null, '--no-health');
  t.equal(s.lastError, null);

  t.equal(ls.code, 0);
  t.same(JSON.parse(ls.stdout), {
    labs: [{ name: 'laptop', architecture: 'laptop', machines: 1, state: 'running', os: 'flatcar', provider: 'virtualbox', subnet: s.subnet, docker: 'tcp://127.0.0.1:3002', snapshots: [] }],
  });
  t.match(lsHuman.stdout, /^NAME +ARCHITECTURE +MACHINES +STATE +OS +PROVIDER +SUBNET +DOCKER\nlaptop +laptop +1 +running +flatcar +virtualbox +192\.168\.\d+\.0\/24 +tcp:\/\/127\.0\.0\.1:3002\n$/);
  t.match(statusHuman.stdout, /^core-01 +docker +192\.168\.\d+\.101 +none +running$/m, 'the only lab, without naming it');

  const missing = await h.run(['status', 'nosuch', '--json']);
  t.equal(missing.code, 8);
  t.equal(JSON.parse(missing.stdout).error.kind, 'not-found', 'an error is one JSON document too');
  t.match(missing.stderr, 'error: there is no lab named nosuch');

  const empty = cliHome(t);
  const none = await empty.run(['ls', '--json']);
  t.same(JSON.parse(none.stdout), { labs: [] });
  const noneHuman = await empty.run(['ls']);
  t.equal(noneHuman.stdout, '', 'no table without labs');
  t.match(noneHuman.stderr, 'No labs.');
});

t.test('ssh and logs run `vagrant ssh` in the lab and exit with its status', async (t) => {
  const h = cliHome(t);
  await upOk(t, h, ['dev', '--parallel', '1']);
  const ssh = await h.run(['ssh', 'dev', 'worker-01', '--', 'systemctl', 'status', 'etcd-member'], { env: { FAKE_VAGRANT_SSH_EXIT: '3' } });
  t.equal(ssh.code, 3, 'the remote command\'s exit status');
  const logs = await h.run(['logs', 'dev', 'etcd-01', 'etcd', '-n', '50']);
  t.equal(logs.code, 0);
  const calls = h.fake.log().filter((e) => e.argv?.[0] === 'ssh');
  t.same(calls.map((e) => [e.argv, e.cwd]), [
    [['ssh', 'worker-01', '-c', 'systemctl status etcd-member'], h.labDir('dev')],
    [['ssh', 'etcd-01', '-c', 'sudo journalctl --no-pager -n 50 -u etcd-member.service'], h.labDir('dev')],
  ]);
  const wrong = await h.run(['ssh', 'dev', 'worker-09']);
  t.equal(wrong.code, 8);
  t.match(wrong.stderr, /lab dev has no machine worker-09\nhint: its machines: etcd-01, worker-01, worker-02/);
});

t.test('docker-env: eval in a real bash points DOCKER_HOST at the forwarded port; a lab without Docker prints nothing', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_MOVE_PORT: '2999' });
  await upOk(t, h, ['laptop']);
  await upOk(t, h, ['dev', '--parallel', '1']);
  const script = [
    'export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=/nowhere DOCKER_HOST=tcp://10.0.0.1:1',
    `eval "$(${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} docker-env laptop)"`,
    'echo "DOCKER_HOST=$DOCKER_HOST"',
    'echo "DOCKER_TLS_VERIFY=${DOCKER_TLS_VERIFY-unset}"',
    'echo "DOCKER_CERT_PATH=${DOCKER_CERT_PATH-unset}"',
  ].join('\n');
  const { stdout } = await execFileP('bash', ['-c', script], { cwd: h.fake.dir, env: h.env });
  // The laptop's default: TLS, docker-machine's variables with the lab's certificate directory.
  t.match(stdout, /^DOCKER_HOST=tcp:\/\/127\.0\.0\.1:2999$/m);
  t.match(stdout, /^DOCKER_TLS_VERIFY=1$/m);
  t.match(stdout, new RegExp(`^DOCKER_CERT_PATH=${h.labsDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/laptop/docker-certs$`, 'm'));
  // -o json (minikube's spelling) and --shell none, through the CLI's fast path.
  const json = await h.run(['docker-env', 'laptop', '-o', 'json']);
  t.same(JSON.parse(json.stdout), {
    DOCKER_TLS_VERIFY: '1',
    DOCKER_HOST: 'tcp://127.0.0.1:2999',
    DOCKER_CERT_PATH: `${h.labsDir}/laptop/docker-certs`,
    CCLAB_ACTIVE_DOCKERD: 'laptop',
  });
  const bare = await h.run(['docker-env', 'laptop', '--shell', 'none']);
  t.equal(bare.stdout, `DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://127.0.0.1:2999\nDOCKER_CERT_PATH=${h.labsDir}/laptop/docker-certs\nCCLAB_ACTIVE_DOCKERD=laptop\n`);
  const bad = await h.run(['docker-env', 'laptop', '-o', 'yaml', '--json']);
  t.equal(bad.code, 2, '-o takes json only');
  t.same(Object.keys(JSON.parse(bad.stdout)), ['error'], 'a usage error is one JSON document');

  const none = await h.run(['docker-env', 'dev']);
  t.not(none.code, 0);
  t.equal(none.stdout, '', 'nothing to eval');
  t.match(none.stderr, 'lab dev has no Docker endpoint');
  const only = await h.run(['docker-env']);
  t.equal(only.code, 0, 'without a name: the only lab with Docker');
  t.match(only.stdout, 'DOCKER_HOST="tcp://127.0.0.1:2999"');
  const missing = await h.run(['docker-env', 'nosuch']);
  t.equal(missing.code, 8);
  t.equal(missing.stdout, '');
});
