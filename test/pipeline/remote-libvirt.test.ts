/**
 * A lab on another host's libvirt (`--libvirt-uri qemu+ssh://…`): the URI's checks, the Vagrantfile
 * (lv.uri, the fw_cfg path on that host) loaded by real Vagrant, the Ignition files copied over a
 * real SSH server on 127.0.0.1 before `vagrant up` and removed by `down`, preflight asking libvirt
 * over the URI instead of this host's interfaces, and health checks routed through the machines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { run as up } from '../../src/commands/up.js';
import { memoryIo, type Context } from '../../src/context.js';
import { isLoopbackUrl, labReport, machineForUrl, needsRemote } from '../../src/health/lab.js';
import { downLab } from '../../src/pipeline/lifecycle.js';
import { homeStore } from '../../src/pipeline/home-store.js';
import { putCommand, removeCommand, sshLibvirtHost, type LibvirtHostFiles } from '../../src/pipeline/libvirt-host.js';
import { runPreflight, type Probes } from '../../src/pipeline/preflight.js';
import { parseLibvirtUri, remoteIgnitionDir, sshToLibvirtHost, type RemoteLibvirt } from '../../src/providers/libvirt-uri.js';
import { createVagrantDriver } from '../../src/vagrant/driver.js';
import { missingTools } from '../helpers/box.js';
import { fakeVagrant } from '../helpers/fake-vagrant.js';
import { builtinLab, plan, writePlan } from '../helpers/render.js';
import { tempDir } from '../helpers/box.js';
import { startSshd } from '../helpers/sshd.js';

const URI = 'qemu+ssh://core@hv.example.org:2222/system?keyfile=/home/ada/.ssh/id_ed25519';

t.test('the URIs a lab runs on, and the ones refused with why', async (t) => {
  t.same(parseLibvirtUri('qemu:///system'), { remote: false, uri: 'qemu:///system' });
  t.same(parseLibvirtUri(URI), { remote: true, uri: URI, user: 'core', host: 'hv.example.org', port: 2222, keyfile: '/home/ada/.ssh/id_ed25519' });
  t.match(parseLibvirtUri('qemu+ssh://[fd00::5]/system'), { remote: true, host: 'fd00::5', user: undefined, port: undefined });
  const refused: [string, RegExp][] = [
    ['qemu+tcp://hv/system', /qemu\+tcp is not a transport/],
    ['qemu+ssh://hv/session', /path must be \/system, not \/session/],
    ['qemu+ssh://ada:secret@hv/system', /holds a password/],
    ['qemu+ssh://hv/system?no_verify=1', /parameter no_verify is not one cclab passes on/],
    ['qemu+ssh://hv/system?keyfile=id_rsa', /keyfile must be an absolute path/],
    ['qemu+ssh://-oProxyCommand=x/system', /is not a host name or address/],
    ['qemu+ssh://-oProxyCommand=x@hv/system', /is not a user name/],
    ['not a uri', /not a libvirt URI/],
  ];
  for (const [uri, why] of refused) t.match(parseLibvirtUri(uri), why, uri);
  t.same(sshToLibvirtHost(parseLibvirtUri(URI) as RemoteLibvirt), [
    'ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-p', '2222', '-i', '/home/ada/.ssh/id_ed25519', '-l', 'core', '--', 'hv.example.org',
  ], 'the host after --: never an option');
  t.equal(putCommand('/var/tmp/cclab-dev', 'etcd-01.ign'), 'umask 022 && mkdir -p /var/tmp/cclab-dev && chmod 0755 /var/tmp/cclab-dev && cat > /var/tmp/cclab-dev/.etcd-01.ign.part && mv -f /var/tmp/cclab-dev/.etcd-01.ign.part /var/tmp/cclab-dev/etcd-01.ign');
  t.throws(() => putCommand('/var/tmp/cclab-dev', '../x'), /not a file name/);
  t.equal(removeCommand('/var/tmp/cclab-dev'), 'rm -rf -- /var/tmp/cclab-dev');
});

t.test('lab options: --libvirt-uri is checked, and only for libvirt', async (t) => {
  const bad = await builtinLab('dev', { provider: 'libvirt', libvirt: { uri: 'qemu+tcp://hv/system' } }).catch((e: Error) => e);
  t.match(JSON.stringify(bad), /libvirt\.uri.*\\"qemu\+tcp:\/\/hv\/system\\": qemu\+tcp is not a transport/);
  const vbox = await builtinLab('dev', { provider: 'virtualbox', libvirt: { uri: URI } }).catch((e: Error) => e);
  t.match(JSON.stringify(vbox), /libvirt\.uri.*applies to --provider libvirt, not virtualbox/);
});

t.test('the Vagrantfile: lv.uri, and QEMU given the Ignition file’s path on the libvirt host; real Vagrant loads it', { skip: missingTools(['vagrant', ['--version']]) }, async (t) => {
  const dir = tempDir(t, 'remote-libvirt-');
  await writePlan(dir, plan(await builtinLab('dev', { provider: 'libvirt', os: 'flatcar', workers: 1, libvirt: { uri: URI, driver: 'kvm' } })));
  // Vagrant checks that the lab's private key (made by `up`) exists.
  fs.mkdirSync(path.join(dir, 'ssh'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'ssh', 'id_ed25519'), 'not a key\n', { mode: 0o600 });
  const vf = fs.readFileSync(path.join(dir, 'Vagrantfile'), 'utf8');
  t.match(vf, `lv.uri = "${URI}"`);
  t.match(vf, 'lv.qemuargs value: "name=opt/org.flatcar-linux/config,file=" + "/var/tmp/cclab-dev/etcd-01.ign".gsub(",", ",,")');
  t.notMatch(vf, /File\.expand_path\("ignition\//, 'no local path for QEMU on another host');
  const out = execFileSync('vagrant', ['validate'], { cwd: dir, env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_HOME: path.join(dir, '.vagrant.d') } }).toString();
  t.match(out, /validated successfully/);
});

t.test('the Ignition files go to the libvirt host over SSH (a real sshd on 127.0.0.1), readable by QEMU’s user; down removes them', { skip: missingTools(['/usr/sbin/sshd', ['-V']]) }, async (t) => {
  const sshd = await startSshd(t);
  const lab = `t${process.pid}`;
  const dir = remoteIgnitionDir(lab);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const host = parseLibvirtUri(`qemu+ssh://${sshd.user}@127.0.0.1:${sshd.port}/system?keyfile=${encodeURIComponent(sshd.key)}`) as RemoteLibvirt;
  const files = sshLibvirtHost({ env: process.env, sshOptions: ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'] });
  await files.put(host, lab, [{ name: 'etcd-01.ign', content: '{"ignition":{"version":"3.3.0"}}' }, { name: 'worker-01.ign', content: Buffer.from('{}') }]);
  t.equal(fs.readFileSync(path.join(dir, 'etcd-01.ign'), 'utf8'), '{"ignition":{"version":"3.3.0"}}');
  t.equal(fs.statSync(dir).mode & 0o777, 0o755, 'the directory: 0755');
  t.equal(fs.statSync(path.join(dir, 'worker-01.ign')).mode & 0o777, 0o644, 'each file: 0644, whatever the remote umask');
  t.same(fs.readdirSync(dir).sort(), ['etcd-01.ign', 'worker-01.ign'], 'no partial files left');
  await files.remove(host, lab);
  t.notOk(fs.existsSync(dir), 'removed');

  const refused = await sshLibvirtHost({ env: process.env, sshOptions: ['-o', 'StrictHostKeyChecking=yes', '-o', 'UserKnownHostsFile=/dev/null'] })
    .put(host, lab, [{ name: 'etcd-01.ign', content: '{}' }])
    .catch((e: unknown) => e);
  t.match(refused, { message: /copying etcd-01\.ign to \/var\/tmp\/cclab-t\d+ on the libvirt host 127\.0\.0\.1 failed \(ssh exited with 255\)/, hint: /works without a password prompt/ }, 'a host not in the known hosts is refused, named, with a hint');
  t.match((refused as { outputTail: string }).outputTail, /Host key verification failed/);
});

const okProbes = (calls: string[]): Probes => ({
  vagrantVersion: async () => '2.3.4',
  providerUsable: async (p, uri) => {
    calls.push(`${p} ${uri ?? 'default'}`);
    return { ok: true, detail: `libvirt answers at ${uri ?? 'qemu:///system'}` };
  },
  boxes: async () => [{ name: 'flatcar-stable', provider: 'libvirt', version: '1.0.0' }],
  vboxNetworksConf: async () => undefined,
  // This host's interfaces overlap the lab: irrelevant for a remote lab.
  interfaces: async () => [{ name: 'br0', address: '192.168.57.1', prefix: 24 }, { name: 'virbr1', address: '192.168.121.1', prefix: 24 }],
  portFree: async () => true,
});

t.test('up copies the Ignition configs before the first vagrant up; preflight asks libvirt over the URI; down removes them', async (t) => {
  const fake = fakeVagrant(t);
  const home = path.join(fake.dir, 'home');
  const ctx: Context = { io: memoryIo(), env: { ...fake.env, CCLAB_HOME: home }, cwd: fake.dir, signal: new AbortController().signal };
  const events: string[] = [];
  const libvirtHost: LibvirtHostFiles = {
    put: async (host, lab, files) => void events.push(`put ${host.host} ${lab} ${files.map((f) => f.name).join(',')} after ${fake.invocations().filter((a) => a[0] === 'up').length} vagrant up`),
    remove: async (host, lab) => void events.push(`remove ${host.host} ${lab}`),
  };
  const calls: string[] = [];
  const overrides = { provider: 'libvirt' as const, os: 'flatcar' as const, workers: 1, subnet: '192.168.57.0/24', libvirt: { uri: URI, driver: 'kvm' as const } };
  const r = await up(
    { target: 'dev', overrides, recreate: false, parallel: 1, wait: false, timeoutMs: 1000, verbose: false, json: false, labOptionsGiven: true },
    ctx,
    { probes: okProbes(calls), libvirtHost, health: async () => ({ healthy: true, text: '', json: {} }) },
  );
  t.equal(r.manifest.state, 'running');
  t.same(events, ['put hv.example.org dev etcd-01.ign,worker-01.ign after 0 vagrant up']);
  t.same(calls, [`libvirt ${URI}`], 'the provider is asked at the lab’s URI');
  t.match((ctx.io as ReturnType<typeof memoryIo>).stderr, 'Copying 2 Ignition configs to hv.example.org:/var/tmp/cclab-dev…');

  const store = homeStore(ctx.env, () => undefined);
  await downLab('dev', { keepFiles: false }, { store, vagrant: createVagrantDriver({ env: ctx.env }), libvirtHost }, ctx);
  t.same(events.slice(1), ['remove hv.example.org dev']);
});

t.test('preflight of a remote lab: this host’s interfaces are not the lab’s; health checks go through the machines', async (t) => {
  const lab = await builtinLab('dev', { provider: 'libvirt', os: 'flatcar', workers: 1, subnet: '192.168.57.0/24', libvirt: { uri: URI, driver: 'kvm' } });
  const checks = await runPreflight(lab, okProbes([]), {});
  t.notOk(checks.some((c) => c.check === 'subnet free on this host' || c.check === 'libvirt management network'), 'no check of this host’s interfaces');
  t.match(checks.find((c) => c.check === 'lab networks'), { ok: true, note: true, message: /made on the libvirt host \(qemu\+ssh:.*\): not checked from here/ });
  t.ok(checks.every((c) => c.ok), 'an overlap on this host does not fail a remote lab');
  t.ok(needsRemote(lab), 'its checks need SSH to the machines');
  t.equal(machineForUrl(lab, `http://${lab.machines[1]!.ip}:2379/health`), lab.machines[1]!.name, 'a member is asked on itself');
  t.equal(machineForUrl(lab, 'http://10.9.9.9:2379/'), lab.machines[0]!.name, 'anything else on the first machine');
  t.ok(isLoopbackUrl('http://127.0.0.1:2375/_ping') && isLoopbackUrl('http://localhost:1/') && !isLoopbackUrl(`http://${lab.machines[0]!.ip}:2379/`));
});

t.test('health of a remote lab: lab addresses asked by curl on the machines over SSH, this host’s forwarded Docker port asked here', async (t) => {
  const lab = await builtinLab('dev', { provider: 'libvirt', os: 'flatcar', workers: 1, dockerTcp: true, docker: { tls: false }, subnet: '192.168.57.0/24', libvirt: { uri: URI, driver: 'kvm' } });
  const execs: string[] = [];
  const remote = {
    exec: async (machine: string, argv: string[]) => {
      execs.push(`${machine}: ${argv.at(-1)}`);
      return { exitCode: 7, stdout: '\n000', stderr: 'curl: (7) Failed to connect' };
    },
  };
  // The Docker API: plain HTTP on a port of this host that nothing listens on.
  const report = await labReport(lab, { dockerEndpoint: 'tcp://127.0.0.1:9', timeoutMs: 300, signal: new AbortController().signal }, { remote, requestTimeoutMs: 200, pollIntervalMs: 100 });
  t.notOk(report.healthy);
  const shown = [...new Set(execs)].join('; ');
  t.ok(execs.some((e) => e.startsWith(`${lab.etcd.members[0]!.name}: ${lab.etcd.members[0]!.clientUrl}/health`)), `the member asked on itself: ${shown}`);
  t.ok(execs.every((e) => / http:\/\/192\.168\.57\.\d+:2379\//.test(e) || /^worker-01: http:\/\/127\.0\.0\.1:2379\//.test(e)), `lab addresses, and the worker's own proxy on its loopback: ${shown}`);
  t.notOk(execs.some((e) => /:9\//.test(e)), 'the Docker API forwarded to this host is not asked on a machine');
  t.match(report.checks.find((c) => c.group === 'docker')?.observed ?? '', /connection refused/, 'it is asked here (nothing listens on 127.0.0.1:9)');
});
