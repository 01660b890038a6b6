/**
 * `cclab up` through `run()` of src/commands/up.ts: the real store (a temporary lab home), the real
 * Vagrant driver and execa runner driving the fake `vagrant` on PATH, in-memory preflight probes
 * and an injected health step. Asserts what Vagrant was asked to do, the manifest after success
 * and after each kind of failure, resume, refusal and recreation.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { run as up, type UpOptions } from '../../src/commands/up.js';
import { memoryIo, type Context } from '../../src/context.js';
import { CommandError, ExitCode, UnhealthyError, UsageError } from '../../src/errors.js';
import type { Manifest } from '../../src/home/manifest.js';
import { readManifest } from '../../src/home/manifest.js';
import type { LabOverrides } from '../../src/lab/resolve.js';
import type { Lab } from '../../src/lab/types.js';
import type { Probes } from '../../src/pipeline/preflight.js';
import type { UpResult } from '../../src/pipeline/up.js';
import type { HealthReport, LabHealth } from '../../src/health/types.js';
import { fakeVagrant, type FakeVagrant } from '../helpers/fake-vagrant.js';

// The scenarios are independent (each has its own home and fake): run a few at once.
t.jobs = 4;

const okProbes: Probes = {
  vagrantVersion: async () => '2.3.4',
  providerUsable: async () => ({ ok: true, detail: 'usable' }),
  boxes: async () => [
    { name: 'test/flatcar', provider: 'libvirt' },
    { name: 'flatcar-stable', provider: 'libvirt', version: '1.0.0' },
  ],
  vboxNetworksConf: async () => undefined,
  interfaces: async () => [],
  portFree: async () => true,
};

interface HealthCall {
  lab: string;
  dockerEndpoint: string | undefined;
  dockerCertDir?: string;
  timeoutMs: number;
}

interface Outcome {
  result?: UpResult;
  error?: unknown;
  stdout: string;
  stderr: string;
}

/** A lab home with the fake vagrant, and `up` runs against it. */
function labHome(t: Test, fakeEnv: Record<string, string> = {}) {
  const fake = fakeVagrant(t, fakeEnv);
  const home = path.join(fake.dir, 'home');
  const healthCalls: HealthCall[] = [];
  let healthy = true;
  const h = {
    fake,
    home,
    dir: (name: string) => path.join(home, 'labs', name),
    healthCalls,
    setHealthy(v: boolean) {
      healthy = v;
    },
    manifest: (name: string): Promise<Manifest> => readManifest(path.join(home, 'labs', name)),
    /** `cclab up TARGET [overrides]`; `env` adds fake knobs for this run only. */
    async up(target: string, o: { overrides?: LabOverrides; env?: Record<string, string> } & Partial<UpOptions> = {}): Promise<Outcome> {
      const io = memoryIo();
      const ctx: Context = { io, env: { ...fake.env, CCLAB_HOME: home, ...o.env }, cwd: fake.dir, signal: new AbortController().signal };
      const overrides = o.overrides ?? {};
      const opts: UpOptions = {
        target,
        overrides,
        recreate: false,
        parallel: 1,
        wait: false,
        timeoutMs: 1000,
        verbose: false,
        json: false,
        labOptionsGiven: Object.keys(overrides).length > 0,
        ...o,
      };
      const health = async (
        lab: Lab,
        x: { dockerEndpoint: string | undefined; dockerCertDir?: string | undefined; timeoutMs: number; onProgress?: (r: HealthReport) => void },
      ): Promise<LabHealth> => {
        healthCalls.push({ lab: lab.name, dockerEndpoint: x.dockerEndpoint, ...(x.dockerCertDir !== undefined && { dockerCertDir: x.dockerCertDir }), timeoutMs: x.timeoutMs });
        // Two judgements, as the checks poll: Docker fails, then (when healthy) passes 30 ms later.
        const docker = (ok: boolean): HealthReport => ({ healthy: ok, checks: [{ id: 'docker', group: 'docker', name: 'Docker API', ok, observed: '' }] });
        x.onProgress?.(docker(false));
        await new Promise((r) => setTimeout(r, 30));
        x.onProgress?.(docker(healthy));
        return { healthy, text: healthy ? 'etcd: healthy' : 'etcd: 0 of 1 members answer', json: { healthy } };
      };
      try {
        const result = await up(opts, ctx, { probes: okProbes, health });
        return { result, stdout: io.stdout, stderr: io.stderr };
      } catch (error) {
        return { error, stdout: io.stdout, stderr: io.stderr };
      }
    },
  };
  return h;
}

/** argv of the fake's `up` processes, in the order they started. */
const ups = (fake: FakeVagrant) => fake.invocations().filter((a) => a[0] === 'up');
const imports = (fake: FakeVagrant) => fake.log().filter((e) => e.event === 'box-imported');
const states = (m: Manifest) => Object.fromEntries(m.machines.map((x) => [x.name, x.state]));

t.test('VirtualBox: the first machine boots alone and imports the box, then one `vagrant up MACHINE` per worker', async (t) => {
  // A slow import: a worker started while etcd-01 imports would fail (the fake's linked-clone lock).
  const h = labHome(t, { FAKE_VAGRANT_BOX_IMPORT_MS: '150' });
  const r = await h.up('dev', { overrides: { workers: 3 } });
  t.equal(r.error, undefined, 'up succeeds');
  const argv = ups(h.fake);
  t.same(argv[0], ['up', 'etcd-01', '--provider', 'virtualbox', '--no-parallel']);
  t.same(
    argv.slice(1).sort(),
    ['worker-01', 'worker-02', 'worker-03'].map((m) => ['up', m, '--provider', 'virtualbox', '--no-parallel']),
  );
  t.equal(imports(h.fake).length, 1, 'the box is imported exactly once');
  const log = h.fake.log();
  const importedAt = log.findIndex((e) => e.event === 'box-imported');
  const firstWorkerAt = log.findIndex((e) => e.argv?.[0] === 'up' && e.argv[1] !== 'etcd-01');
  t.ok(importedAt >= 0 && importedAt < firstWorkerAt, 'no worker starts before the import is done');
  t.ok(log.filter((e) => e.argv?.[0] === 'up').every((e) => e.cwd === h.dir('dev')), 'Vagrant runs in the lab directory');

  const m = await h.manifest('dev');
  t.equal(m.state, 'running');
  t.same(states(m), { 'etcd-01': 'running', 'worker-01': 'running', 'worker-02': 'running', 'worker-03': 'running' });
  t.equal(m.lastError, undefined);
  t.equal(m.docker, undefined, 'dev exposes no Docker API');
  t.ok(fs.existsSync(path.join(h.dir('dev'), 'Vagrantfile')));
  t.same(fs.readdirSync(path.join(h.dir('dev'), 'user-data')).sort(), ['etcd-01.yaml', 'worker-01.yaml', 'worker-02.yaml', 'worker-03.yaml']);
  t.notOk(fs.existsSync(path.join(h.dir('dev'), 'lock')), 'the lock is released');

  t.match(r.stdout, /^Lab dev is up: dev, 4 machines, flatcar stable on virtualbox$/m);
  t.notMatch(r.stdout, /Booting|preflight|›/, 'progress is not on stdout');
  for (const m of ['etcd-01', 'worker-01', 'worker-02', 'worker-03']) t.match(r.stderr, new RegExp(`${m} \\(192\\.168\\.\\d+\\.\\d+\\) is up`), `progress of ${m} on stderr`);
  t.match(r.stderr, /etcd-01: Importing base box 'flatcar-stable'/, 'Vagrant\'s steps per machine');
  t.notMatch(r.stderr, /SSH username/, 'detail lines only with --verbose');
});

t.test('VirtualBox with --parallel 3: each worker still gets its own process', async (t) => {
  const h = labHome(t);
  const r = await h.up('dev', { overrides: { workers: 2 }, parallel: 3 });
  t.equal(r.error, undefined);
  const argv = ups(h.fake);
  t.same(argv[0], ['up', 'etcd-01', '--provider', 'virtualbox', '--no-parallel']);
  t.same(argv.slice(1).map((a) => a[1]).sort(), ['worker-01', 'worker-02']);
  t.ok(argv.slice(1).every((a) => a.length === 5 && a[4] === '--no-parallel'), 'one machine per process');
});

t.test('libvirt: the first machine alone, then every worker in one `vagrant up … --parallel`', async (t) => {
  const h = labHome(t, { FAKE_VAGRANT_BOX_IMPORT_MS: '100' });
  const r = await h.up('dev', { overrides: { workers: 3, provider: 'libvirt', box: { name: 'test/flatcar' } }, verbose: true });
  t.equal(r.error, undefined);
  t.match(r.stderr, /^› worker-02: SSH username: core$/m, '--verbose shows every line, named once by machine');
  t.same(ups(h.fake), [
    ['up', 'etcd-01', '--provider', 'libvirt', '--no-parallel'],
    ['up', 'worker-01', 'worker-02', 'worker-03', '--provider', 'libvirt', '--parallel'],
  ]);
  t.equal(imports(h.fake).length, 1);
  const m = await h.manifest('dev');
  t.equal(m.state, 'running');
  t.same(Object.values(states(m)), ['running', 'running', 'running', 'running']);
});

t.test('Flatcar on libvirt: Ignition configs through fw_cfg and the lab’s own key, kept when the lab is resumed', async (t) => {
  const h = labHome(t);
  const r = await h.up('dev', { overrides: { workers: 1, provider: 'libvirt' } });
  t.equal(r.error, undefined, r.stderr);
  const dir = h.dir('dev');
  t.same(fs.readdirSync(path.join(dir, 'ignition')).sort(), ['etcd-01.ign', 'worker-01.ign']);
  t.notOk(fs.existsSync(path.join(dir, 'user-data')), 'no cloud-config');
  t.equal(fs.statSync(path.join(dir, 'ssh', 'id_ed25519')).mode & 0o777, 0o600, 'the private key is 0600');
  const pub = fs.readFileSync(path.join(dir, 'ssh', 'id_ed25519.pub'), 'utf8').trim();
  t.match(pub, /^ssh-ed25519 \S+ cclab lab dev$/);
  const ign = JSON.parse(fs.readFileSync(path.join(dir, 'ignition', 'etcd-01.ign'), 'utf8')) as { passwd: { users: { sshAuthorizedKeys: string[] }[] } };
  t.same(ign.passwd.users[0]!.sshAuthorizedKeys, [pub]);
  const vf = fs.readFileSync(path.join(dir, 'Vagrantfile'), 'utf8');
  t.match(vf, 'config.ssh.private_key_path = File.expand_path("ssh/id_ed25519", __dir__)');
  t.match(vf, 'File.expand_path("ignition/worker-01.ign", __dir__)');
  t.equal((await h.manifest('dev')).lab.provisioning, 'ignition');

  const again = await h.up('dev');
  t.equal(again.error, undefined);
  t.equal(fs.readFileSync(path.join(dir, 'ssh', 'id_ed25519.pub'), 'utf8').trim(), pub, 'resumed: the same key');

  const io = memoryIo();
  const { status } = await import('../../src/commands/status.js');
  const { labDeps } = await import('../../src/commands/deps.js');
  const ctx: Context = { io, env: { ...h.fake.env, CCLAB_HOME: h.home }, cwd: h.fake.dir, signal: new AbortController().signal };
  await status({ name: 'dev', json: false, health: false, timeoutMs: 1000 }, ctx, labDeps(ctx));
  t.match(io.stdout, `Provisioned with Ignition (QEMU fw_cfg); SSH as core with the lab’s own key ${path.join(dir, 'ssh', 'id_ed25519')}`);
});

t.test('a missing Flatcar libvirt box is added by up itself (as `cclab box add`); --no-download leaves it to preflight', async (t) => {
  const fake = fakeVagrant(t);
  const home = path.join(fake.dir, 'home');
  let installed = false;
  const probes: Probes = { ...okProbes, boxes: async () => (installed ? [{ name: 'flatcar-stable', provider: 'libvirt', version: '4230.2.3' }] : []) };
  const added: unknown[] = [];
  const addBox = async (o: unknown) => {
    added.push(o);
    installed = true;
    return { name: 'flatcar-stable', provider: 'libvirt', version: '4230.2.3', image: '/x', sha512: 'a', verified: 'digests' as const, bytes: 1, seconds: 0, action: 'added' as const, source: 'https://x', flatcarVersion: '4230.2.3', downloaded: true };
  };
  const ctxOf = () => ({ io: memoryIo(), env: { ...fake.env, CCLAB_HOME: home }, cwd: fake.dir, signal: new AbortController().signal });
  const opts = (download: boolean, name: string): UpOptions => ({
    target: 'dev', overrides: { workers: 1, provider: 'libvirt', name }, recreate: false, parallel: 1, wait: false, timeoutMs: 1000, verbose: false, json: false, labOptionsGiven: true, download,
  });
  const refused = ctxOf();
  const e = await up(opts(false, 'offline'), refused, { probes, addBox }).then(() => undefined, (x: unknown) => x);
  t.same(added, [], '--no-download: nothing added');
  t.match(e, { exitCode: ExitCode.preflight });
  t.match((e as Error).message, 'fix: add Flatcar’s stable image as this box: cclab box add --channel stable');

  const ctx = ctxOf();
  const r = await up(opts(true, 'dev'), ctx, { probes, addBox });
  t.equal(r.manifest.state, 'running');
  t.same(added, [{ os: 'flatcar', channel: 'stable', provider: 'libvirt', version: undefined, force: false }], 'the current stable release');
  t.match(ctx.io.stderr, 'The box flatcar-stable (libvirt) is not installed: adding Flatcar’s stable image, as `cclab box add --channel stable` does');
  const again = await up(opts(true, 'dev'), ctxOf(), { probes, addBox });
  t.equal(again.manifest.state, 'running');
  t.equal(added.length, 1, 'installed now: not added again');
});

t.test('laptop: the Docker endpoint is the port Vagrant really forwarded, and the health step gets it', async (t) => {
  const h = labHome(t, { FAKE_VAGRANT_MOVE_PORT: '2999' });
  const r = await h.up('laptop', { wait: true, timeoutMs: 4321 });
  t.equal(r.error, undefined);
  const m = await h.manifest('laptop');
  t.same(m.docker, { machine: 'core-01', guestPort: 2376, hostPort: 2999, endpoint: 'tcp://127.0.0.1:2999', tls: true });
  t.same(h.healthCalls, [{ lab: 'laptop', dockerEndpoint: 'tcp://127.0.0.1:2999', dockerCertDir: path.join(h.dir('laptop'), 'docker-certs'), timeoutMs: 4321 }]);
  // The lab's certificates, made once in the lab directory (kept on resume).
  const certs = path.join(h.dir('laptop'), 'docker-certs');
  t.same(fs.readdirSync(certs).sort(), ['ca.pem', 'cert.pem', 'core-01-server-key.pem', 'core-01-server.pem', 'key.pem']);
  t.equal(fs.statSync(certs).mode & 0o777, 0o700);
  const ca = fs.readFileSync(path.join(certs, 'ca.pem'), 'utf8');
  t.equal((await h.up('laptop', { wait: false })).error, undefined);
  t.equal(fs.readFileSync(path.join(certs, 'ca.pem'), 'utf8'), ca, 'resuming keeps the certificates');
  t.match(fs.readFileSync(path.join(h.dir('laptop'), 'user-data', 'core-01.yaml'), 'utf8'), ca.split('\n')[1]!, 'the machine is given the lab’s CA');
  t.ok(h.fake.invocations().some((a) => a[0] === 'port' && a[1] === 'core-01'), '`vagrant port core-01` was asked');
  t.match(r.stdout, 'Docker API: tcp://127.0.0.1:2999 (core-01)');
  t.match(r.stdout, 'eval $(cclab docker-env laptop)');
  t.match(r.stdout, 'etcd: healthy');
  // Where the time went: the machine's phases, and Docker's first healthy judgement within the check.
  const tm = r.result!.timings;
  t.same(tm.machines.map((x) => x.name), ['core-01']);
  t.ok(tm.machines[0]!.phases.some((p) => p.phase === 'boot'), 'the boot phase, from Vagrant’s lines');
  t.equal(tm.health?.healthy, true);
  const docker = tm.health!.services.find((x) => x.group === 'docker')!;
  t.ok(docker.healthyMs !== null && docker.healthyMs >= tm.health!.startedMs + 25 && docker.healthyMs <= tm.health!.verdictMs, 'Docker healthy at its second judgement, before the verdict');
});

t.test('without --no-wait an unhealthy lab is up (state running) but the command fails with exit code 6', async (t) => {
  const h = labHome(t);
  h.setHealthy(false);
  const r = await h.up('laptop', { wait: true });
  t.type(r.error, UnhealthyError);
  t.equal((r.error as UnhealthyError).exitCode, ExitCode.unhealthy);
  // A laptop has no etcd: the hint points at the journal of its Docker.
  t.match((r.error as UnhealthyError).hint, /`cclab logs laptop core-01 docker`/);
  t.notMatch((r.error as UnhealthyError).hint, /etcd/);
  t.match(r.stdout, 'etcd: 0 of 1 members answer', 'the report is printed before failing');
  t.equal((await h.manifest('laptop')).state, 'running');
  const noWait = labHome(t);
  await noWait.up('laptop', { wait: false });
  t.same(noWait.healthCalls, [], '--no-wait skips the health step');
});

t.test('a machine that fails: CommandError naming it and the command, manifest partial, then resume boots only the rest', async (t) => {
  const h = labHome(t);
  const failed = await h.up('dev', { overrides: { workers: 3 }, env: { FAKE_VAGRANT_FAIL_UP: 'worker-02' } });
  t.type(failed.error, CommandError);
  const e = failed.error as CommandError;
  t.equal(e.exitCode, ExitCode.commandFailed);
  t.equal(e.machine, 'worker-02');
  t.same(e.command.slice(1), ['up', 'worker-02', '--provider', 'virtualbox', '--no-parallel']);
  t.match(e.message, 'machine worker-02 of lab dev failed to come up');
  t.match(e.outputTail, /Timed out while waiting for the machine to boot/);
  t.match(e.hint, /`cclab up dev`.*`cclab down dev`/);

  const m = await h.manifest('dev');
  t.equal(m.state, 'partial');
  t.equal(m.lastError?.machine, 'worker-02');
  t.same(m.lastError?.command?.slice(1), ['up', 'worker-02', '--provider', 'virtualbox', '--no-parallel']);
  t.match(m.lastError?.message, /worker-02/);
  // --parallel 1: worker-03 was never started; Vagrant keeps a machine whose boot timed out.
  t.same(states(m), { 'etcd-01': 'running', 'worker-01': 'running', 'worker-02': 'running', 'worker-03': 'not_created' });
  t.same(ups(h.fake).map((a) => a[1]), ['etcd-01', 'worker-01', 'worker-02']);

  // The same command again resumes: only what is not running is brought up, with no first step.
  const before = ups(h.fake).length;
  const again = await h.up('dev', { overrides: { workers: 3 } });
  t.equal(again.error, undefined, 'the resume succeeds');
  t.same(ups(h.fake).slice(before), [['up', 'worker-03', '--provider', 'virtualbox', '--no-parallel']]);
  const after = await h.manifest('dev');
  t.equal(after.state, 'running');
  t.equal(after.lastError, undefined, 'the last error is cleared');
  t.equal(after.createdAt, m.createdAt, 'still the same lab');
  t.same(Object.values(states(after)), ['running', 'running', 'running', 'running']);
  t.equal(imports(h.fake).length, 1);
});

t.test('`up NAME` resumes a lab named like its architecture as it was made (no options needed)', async (t) => {
  const h = labHome(t);
  await h.up('dev', { overrides: { workers: 3 }, env: { FAKE_VAGRANT_FAIL_UP: 'worker-01' } });
  t.equal((await h.manifest('dev')).state, 'partial');
  const before = ups(h.fake).length;
  const r = await h.up('dev');
  t.equal(r.error, undefined, 'the hint `cclab up dev` works');
  t.same(ups(h.fake).slice(before).map((a) => a[1]), ['worker-02', 'worker-03']);
  const m = await h.manifest('dev');
  t.equal(m.state, 'running');
  t.equal(m.machines.length, 4, 'still three workers');
});

t.test('a lab that is already running: nothing is booted again', async (t) => {
  const h = labHome(t);
  await h.up('laptop');
  const before = ups(h.fake).length;
  const r = await h.up('laptop');
  t.equal(r.error, undefined);
  t.equal(ups(h.fake).length, before, 'no vagrant up');
  t.match(r.stderr, 'The machine of laptop is already running.');
  t.notMatch(r.stderr, '1 machines');
});

t.test('up with different options is refused, listing the differences; --recreate destroys, then rebuilds', async (t) => {
  const h = labHome(t);
  await h.up('dev', { overrides: { workers: 3 } });
  const saved = await h.manifest('dev');
  const before = h.fake.invocations().length;
  const refused = await h.up('dev', { overrides: { workers: 2, memory: 2048 } });
  t.type(refused.error, UsageError);
  t.equal((refused.error as UsageError).exitCode, ExitCode.usage);
  const msg = (refused.error as UsageError).message;
  t.match(msg, /^lab dev exists with different options:$/m);
  t.match(msg, /^ {2}--memory: 1024 → 2048$/m);
  t.match(msg, /^ {2}--workers: 3 → 2$/m, 'named as options, not as lab-model fields');
  t.match((refused.error as UsageError).hint, /cclab up dev`.*--recreate/);
  t.same(h.fake.invocations().slice(before).filter((a) => a[0] === 'up' || a[0] === 'destroy'), [], 'nothing booted or destroyed');
  t.same(await h.manifest('dev'), saved, 'the lab is untouched');

  const mark = h.fake.log().length;
  const re = await h.up('dev', { overrides: { workers: 2, memory: 2048 }, recreate: true });
  t.equal(re.error, undefined);
  const calls = h.fake.log().slice(mark).filter((e) => e.argv).map((e) => e.argv!);
  const destroyAt = calls.findIndex((a) => a[0] === 'destroy');
  t.same(calls[destroyAt], ['destroy', '-f']);
  t.ok(destroyAt >= 0 && destroyAt < calls.findIndex((a) => a[0] === 'up'), 'destroyed before the first up');
  t.same(calls.filter((a) => a[0] === 'up').map((a) => a[1]), ['etcd-01', 'worker-01', 'worker-02'], 'rebuilt from the first machine');
  const m = await h.manifest('dev');
  t.equal(m.state, 'running');
  t.equal(m.lab.memory, 2048);
  t.same(m.machines.map((x) => x.name), ['etcd-01', 'worker-01', 'worker-02']);
  t.notOk(Object.keys(h.fake.state().envs?.[h.dir('dev')]?.machines ?? {}).includes('worker-03'), 'the old worker-03 is gone');
});

t.test('`up NAME` for a lab that does not exist is a clear usage error, and nothing is created', async (t) => {
  const h = labHome(t);
  const r = await h.up('nosuch');
  t.type(r.error, UsageError);
  t.match((r.error as UsageError).message, '"nosuch" is neither an architecture (laptop, small, dev, production) nor an existing lab');
  t.match((r.error as UsageError).hint, /cclab ls/);
  t.same(h.fake.invocations(), []);
  t.notOk(fs.existsSync(h.dir('nosuch')));
  const withOptions = await h.up('dev', { overrides: { workers: 2 } });
  t.equal(withOptions.error, undefined);
  const named = await h.up('dev', { overrides: { memory: 2048 }, target: 'dev' });
  t.type(named.error, UsageError, 'options on an existing lab differ: refused');
});

t.test('--json: the result is one JSON document on stdout', async (t) => {
  const h = labHome(t, { FAKE_VAGRANT_MOVE_PORT: '3001' });
  const r = await h.up('laptop', { json: true });
  t.equal(r.error, undefined);
  const doc = JSON.parse(r.stdout) as Record<string, any>;
  t.equal(doc.lab, 'laptop');
  t.equal(doc.state, 'running');
  t.equal(doc.docker.endpoint, 'tcp://127.0.0.1:3001');
  t.same(doc.machines.map((m: { name: string; state: string }) => [m.name, m.state]), [['core-01', 'running']]);
  t.equal(doc.health, null);
});

t.test('a preflight failure stops before anything is written or booted', async (t) => {
  const h = labHome(t);
  const io = memoryIo();
  const ctx: Context = { io, env: { ...h.fake.env, CCLAB_HOME: h.home }, cwd: h.fake.dir, signal: new AbortController().signal };
  const e = await up(
    { target: 'dev', overrides: {}, recreate: false, parallel: 1, wait: false, timeoutMs: 1000, verbose: false, json: false, labOptionsGiven: false },
    ctx,
    { probes: { ...okProbes, providerUsable: async () => ({ ok: false, detail: 'VBoxManage is not installed (not on PATH)' }) } },
  ).catch((e: unknown) => e);
  t.equal((e as { exitCode?: number }).exitCode, ExitCode.preflight);
  t.match((e as Error).message, /provider virtualbox: VBoxManage is not installed/);
  t.same(h.fake.invocations(), []);
  t.notOk(fs.existsSync(h.dir('dev')), 'no lab directory is left behind');
});
