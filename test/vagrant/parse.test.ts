import fs from 'node:fs';
import t from 'tap';
import { displayLines } from '../../src/process/run.js';
import {
  VagrantParseError,
  compareVersion,
  hintForOutput,
  humanizeMachineReadable,
  machineOfLine,
  machineReadableError,
  parseBoxList,
  parseMachineReadable,
  parsePluginList,
  parsePort,
  parseSnapshotList,
  parseSshConfig,
  parseStatus,
  parseVersion,
  portsUnsupported,
} from '../../src/vagrant/parse.js';

// Captured from Vagrant 2.3.4 by test/fixtures/vagrant/capture.sh. `*.stub-provider.txt` were
// printed by Vagrant too, for machines of a provider defined in the Vagrantfile (no VM needed);
// `*.vm.txt` come from real running VMs (vagrant-libvirt). See test/fixtures/vagrant/README.md.
const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/vagrant/${name}`, import.meta.url), 'utf8');

t.test('parseMachineReadable unescapes commas, newlines and carriage returns', async (t) => {
  const records = parseMachineReadable(
    '1795470184,etcd-01,state,not_created\r\n' +
      '1795470184,,ui,info,a%!(VAGRANT_COMMA) b\\nc\\rd\n' +
      'not a record\n' +
      '1795470184,,ui,info,\n' +
      '1795470184,box,type\n',
  );
  t.same(records, [
    { timestamp: 1795470184, target: 'etcd-01', type: 'state', data: ['not_created'] },
    { timestamp: 1795470184, target: '', type: 'ui', data: ['info', 'a, b\nc\rd'] },
    { timestamp: 1795470184, target: '', type: 'ui', data: ['info', ''] },
    { timestamp: 1795470184, target: 'box', type: 'type', data: [] },
  ]);
});

t.test('parseMachineReadable keeps fields that hold several escaped commas as one field', async (t) => {
  const [r] = parseMachineReadable(fixture('plugin-list.machine-readable.txt')).filter((x) => x.type === 'plugin-version');
  t.same(r?.data, ['0.11.2, system']);
  t.equal(r?.target, 'vagrant-libvirt');
});

t.test('parseStatus: three machines never created (libvirt)', async (t) => {
  t.same(parseStatus(fixture('status-not-created.machine-readable.txt')), [
    { name: 'etcd-01', provider: 'libvirt', state: 'not_created', stateHuman: 'not created', stateLong: 'The Libvirt domain is not created. Run `vagrant up` to create it.' },
    { name: 'etcd-02', provider: 'libvirt', state: 'not_created', stateHuman: 'not created', stateLong: 'The Libvirt domain is not created. Run `vagrant up` to create it.' },
    { name: 'worker-01', provider: 'libvirt', state: 'not_created', stateHuman: 'not created', stateLong: 'The Libvirt domain is not created. Run `vagrant up` to create it.' },
  ]);
});

t.test('parseStatus: one machine asked for', async (t) => {
  const s = parseStatus(fixture('status-one-machine.machine-readable.txt'));
  t.same(s.map((m) => [m.name, m.state]), [['etcd-02', 'not_created']]);
});

t.test('parseStatus: running machines', async (t) => {
  const s = parseStatus(fixture('status-running.stub-provider.txt'));
  t.same(s.map((m) => [m.name, m.provider, m.state, m.stateHuman]), [
    ['etcd-01', 'cclabstub', 'running', 'running'],
    ['etcd-02', 'cclabstub', 'running', 'running'],
    ['worker-01', 'cclabstub', 'running', 'running'],
  ]);
});

t.test('parseStatus throws with Vagrant\'s error when it listed no machine', async (t) => {
  t.throws(() => parseStatus(fixture('status-provider-unusable.machine-readable.txt')), {
    name: 'VagrantParseError',
    message: /provider 'virtualbox' that was requested to back the machine\n'etcd-01'/,
  });
  t.throws(() => parseStatus(fixture('status-no-environment.machine-readable.txt')), /A Vagrant environment or target machine is required/);
  t.throws(() => parseStatus(''), /printed no machine state/);
});

t.test('machineReadableError prefers the error-exit record, else the last ui error', async (t) => {
  const e = machineReadableError(parseMachineReadable(fixture('status-provider-unusable.machine-readable.txt')));
  t.equal(e?.errorClass, 'Vagrant::Errors::ProviderNotUsable');
  t.match(e?.message, /VBoxManage` binary that ships with VirtualBox, and requires/);
  const p = machineReadableError(parseMachineReadable(fixture('port-libvirt-unsupported.machine-readable.txt')));
  t.equal(p?.errorClass, undefined);
  t.match(p?.message, /^The libvirt provider does not support listing forwarded ports/);
  t.equal(machineReadableError(parseMachineReadable(fixture('status-not-created.machine-readable.txt'))), undefined);
});

t.test('humanizeMachineReadable gives back the text Vagrant would have shown', async (t) => {
  const text = humanizeMachineReadable(fixture('status-provider-unusable.machine-readable.txt'));
  // The ui error and the error-exit carry the same message: shown once.
  t.equal(text.match(/Vagrant could not detect VirtualBox/g)?.length, 1);
  t.match(text, /^The provider 'virtualbox' that was requested to back the machine\n'etcd-01' is reporting/);
  t.match(humanizeMachineReadable(fixture('port.stub-provider.txt')), /\n {2}2375 \(guest\) => 2375 \(host\)$/);
  t.equal(humanizeMachineReadable('plain line\n\n'), 'plain line');
});

t.test('parsePort: forwarded ports as Vagrant reports them', async (t) => {
  const ports = parsePort(fixture('port.stub-provider.txt'));
  t.same(ports, [
    { guest: 22, host: 2222 },
    { guest: 2375, host: 2375 },
  ]);
});

t.test('parsePort: a port moved by auto_correct', async (t) => {
  t.same(parsePort(fixture('port-moved.stub-provider.txt')).find((p) => p.guest === 2375)?.host, 2377);
});

t.test('parsePort rejects a record that is not a pair of ports', async (t) => {
  t.throws(() => parsePort('1795470261,etcd-01,forwarded_port,22,70000\n'), VagrantParseError);
  t.throws(() => parsePort('1795470261,etcd-01,forwarded_port,ssh,2222\n'), VagrantParseError);
  t.same(parsePort(''), []);
});

t.test('portsUnsupported recognises vagrant-libvirt\'s missing capability, real and stubbed', async (t) => {
  t.ok(portsUnsupported(fixture('port-libvirt-unsupported.machine-readable.txt')));
  t.ok(portsUnsupported(fixture('port-libvirt-unsupported.stub-provider.txt')));
  t.notOk(portsUnsupported(fixture('status-no-environment.machine-readable.txt')));
  t.notOk(portsUnsupported(fixture('port.stub-provider.txt')));
});

t.test('parseSshConfig: VirtualBox-like hosts, one key path with a space, one machine key, ForwardAgent', async (t) => {
  const hosts = parseSshConfig(fixture('ssh-config.stub-provider.txt'));
  t.equal(hosts.length, 3);
  t.same(hosts[0], {
    host: 'etcd-01',
    hostName: '127.0.0.1',
    user: 'core',
    port: 2222,
    identityFiles: ['/tmp/cclab-capture/vagrant home/insecure_private_key'],
    options: {
      UserKnownHostsFile: '/dev/null',
      StrictHostKeyChecking: 'no',
      PasswordAuthentication: 'no',
      IdentitiesOnly: 'yes',
      LogLevel: 'FATAL',
    },
  });
  t.same(hosts[1]?.identityFiles, ['/tmp/cclab-capture/stub/.vagrant/machines/etcd-02/cclabstub/private_key']);
  t.equal(hosts[1]?.port, 2200);
  t.equal(hosts[2]?.options.ForwardAgent, 'yes');
  t.equal(hosts[2]?.host, 'worker-01');
});

t.test('parseSshConfig: libvirt-like hosts (management address, port 22)', async (t) => {
  const hosts = parseSshConfig(fixture('ssh-config-libvirt.stub-provider.txt'));
  t.same(hosts.map((h) => [h.host, h.hostName, h.port, h.user]), [
    ['etcd-01', '192.168.121.23', 22, 'core'],
    ['etcd-02', '192.168.121.87', 22, 'core'],
    ['worker-01', '192.168.121.152', 22, 'core'],
  ]);
});

t.test('parseSshConfig: ProxyCommand keeps the rest of the line; Key=value; defaults and errors', async (t) => {
  const [h] = parseSshConfig('Host a\r\n  HostName=10.0.0.2\n  User core\n  ProxyCommand ssh -W %h:%p jump\n');
  t.equal(h?.hostName, '10.0.0.2');
  t.equal(h?.port, 22);
  t.equal(h?.options.ProxyCommand, 'ssh -W %h:%p jump');
  t.throws(() => parseSshConfig('Host a\n  User core\n'), /Host a has no HostName/);
  t.throws(() => parseSshConfig('Host a\n  HostName x\n  User core\n  Port ssh\n'), /invalid Port "ssh"/);
  t.throws(() => parseSshConfig('  HostName x\n'), /comes before any Host/);
  t.same(parseSshConfig(''), []);
});

t.test('parseVersion and compareVersion', async (t) => {
  const v = parseVersion(fixture('version.txt'));
  t.same(v, { major: 2, minor: 3, patch: 4, suffix: '', text: '2.3.4' });
  t.equal(parseVersion('WARNING: something\nVagrant 2.4.0.dev\n').text, '2.4.0.dev');
  t.throws(() => parseVersion('command not found'), VagrantParseError);
  const min = { major: 2, minor: 2, patch: 5 };
  t.ok(compareVersion(v, min) > 0);
  t.ok(compareVersion({ major: 2, minor: 2, patch: 4 }, min) < 0);
  t.equal(compareVersion(min, { ...min }), 0);
  t.ok(compareVersion({ ...min, suffix: '.dev' }, min) < 0, 'a pre-release sorts before its release');
  t.ok(compareVersion({ major: 10, minor: 0, patch: 0 }, { major: 9, minor: 9, patch: 9 }) > 0);
});

t.test('parsePluginList finds vagrant-libvirt', async (t) => {
  t.same(parsePluginList(fixture('plugin-list.machine-readable.txt')), [{ name: 'vagrant-libvirt', version: '0.11.2', scope: 'system' }]);
  t.same(parsePluginList('1795470168,,ui,info,No plugins installed.\n'), []);
});

t.test('parseBoxList', async (t) => {
  t.same(parseBoxList(fixture('box-list.machine-readable.txt')), [
    { name: 'coreos-alpha', provider: 'virtualbox', version: '0' },
    { name: 'flatcar-stable', provider: 'libvirt', version: '0' },
    { name: 'flatcar/flatcar-stable', provider: 'libvirt', version: '3815.2.5' },
  ]);
  t.same(parseBoxList(fixture('box-list-empty.machine-readable.txt')), []);
  t.same(parseBoxList('1,,box-name,a\n1,,box-provider,virtualbox\n1,,box-version,1.0\n1,,box-architecture,amd64\n'), [
    { name: 'a', provider: 'virtualbox', version: '1.0', architecture: 'amd64' },
  ]);
});

t.test('displayLines splits progress rewrites and drops terminal escapes', async (t) => {
  const lines = displayLines(fixture('box-add.txt'));
  t.same(lines, [
    "==> box: Loading metadata for box 'file:///tmp/cclab-capture/catalog.json'",
    "==> box: Adding box 'flatcar/flatcar-stable' (v3815.2.5) for provider: libvirt",
    '    box: Unpacking necessary files from: file:///tmp/cclab-capture/lv.box',
    'Progress: 0% (Rate: 0/s, Estimated time remaining: --:--:--)',
    '    box: Calculating and comparing box checksum...',
    "==> box: Successfully added box 'flatcar/flatcar-stable' (v3815.2.5) for 'libvirt'!",
  ]);
  t.same(displayLines('\x1b[0;31mred\x1b[0m\n'), ['red']);
});

t.test('machineOfLine names the machine of a vagrant up line', async (t) => {
  const names = ['etcd-01', 'worker-01'];
  t.equal(machineOfLine("==> etcd-01: Importing base box 'flatcar-stable'...", names), 'etcd-01');
  t.equal(machineOfLine('    worker-01: SSH address: 127.0.0.1:2201', names), 'worker-01');
  t.equal(machineOfLine("Bringing machine 'etcd-01' up with 'virtualbox' provider...", names), undefined);
  t.equal(machineOfLine('Timed out while waiting for the machine to boot. This means that', names), undefined);
});

t.test('hintForOutput on real failures', async (t) => {
  t.match(hintForOutput(fixture('up-provider-unusable.txt')), /provider cannot run on this host/);
  t.match(hintForOutput(fixture('destroy-libvirt-no-daemon.txt')), /libvirtd is not running/);
  t.match(hintForOutput(fixture('ssh-config-not-ready.txt')), /machine is not running/);
  t.match(hintForOutput(humanizeMachineReadable(fixture('status-no-environment.machine-readable.txt'))), /no Vagrantfile/);
  t.equal(hintForOutput(fixture('validate.txt')), undefined);
});

t.test('real VMs (vagrant-libvirt): status, ssh-config, and port that cannot list', async (t) => {
  t.same(
    parseStatus(fixture('status-running-libvirt.vm.txt')).map((m) => [m.name, m.provider, m.state, m.stateHuman]),
    [
      ['etcd-01', 'libvirt', 'running', 'running'],
      ['worker-01', 'libvirt', 'running', 'running'],
    ],
  );
  const hosts = parseSshConfig(fixture('ssh-config-libvirt.vm.txt'));
  t.same(hosts.map((h) => [h.host, h.hostName, h.port, h.user, h.identityFiles.length]), [
    ['etcd-01', '192.168.123.231', 22, 'vagrant', 1],
    ['worker-01', '192.168.123.186', 22, 'vagrant', 1],
  ]);
  // The same layout as the stub provider's output.
  t.same(Object.keys(hosts[0]!.options), Object.keys(parseSshConfig(fixture('ssh-config-libvirt.stub-provider.txt'))[0]!.options));
  t.ok(portsUnsupported(fixture('port-libvirt-running.vm.txt')), 'even for a running machine');
  t.same(parsePort(fixture('port-libvirt-running.vm.txt')), []);
});

t.test('parseSnapshotList: per machine, snapshots, none, and not created (the records Vagrant 2.3.4 prints)', async (t) => {
  // plugins/commands/snapshot/command/list.rb through Vagrant::UI::Prefixed and MachineReadable:
  // `output("", prefix: true)` is the machine's prefix, each snapshot a `detail` with prefix: false;
  // list_none's output and its detail (prefixed with spaces, one record); vm_not_created as info.
  const text = [
    '1764745200,core-01,ui,output,==> core-01: ',
    '1764745200,core-01,ui,detail,base',
    '1764745200,core-01,ui,detail,before-upgrade%!(VAGRANT_COMMA)2',
    '1764745200,core-02,ui,output,==> core-02: No snapshots have been taken yet!',
    '1764745200,core-02,ui,detail,    core-02: You can take a snapshot using `vagrant snapshot save`. Note that\\n    core-02: not all providers support this yet.',
    '1764745200,core-03,ui,info,==> core-03: VM not created. Moving on...',
    '1764745200,core-04,ui,output,',
    '1764745200,core-04,ui,detail,base',
  ].join('\n');
  const list = parseSnapshotList(text);
  t.same(Object.fromEntries(list), { 'core-01': ['base', 'before-upgrade,2'], 'core-02': [], 'core-03': [], 'core-04': ['base'] });
  t.same(Object.fromEntries(parseSnapshotList('')), {}, 'no records: no machines');
});
