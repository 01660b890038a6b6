/**
 * Rendering every architecture × OS: the Vagrantfile read line by line, the cloud-configs parsed back
 * with the yaml library and compared with what each machine must run.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { run as renderCommand } from '../../src/commands/render.js';
import { memoryIo } from '../../src/context.js';
import type { LabOverrides } from '../../src/lab/resolve.js';
import type { Lab, Machine } from '../../src/lab/types.js';
import { TEMPLATES_DIR } from '../../src/render/cloudconfig.js';
import {
  block,
  builtinLab,
  COMBOS,
  defineBlocks,
  environmentOf,
  mappingKeys,
  parseCloudConfig,
  plan,
  REPO,
  unit,
  userDataOf,
  vagrantfileOf,
  type ParsedCloudConfig,
} from '../helpers/render.js';

const template = (path: string) => readFileSync(join(TEMPLATES_DIR, path), 'utf8');

/** The docker-tcp.socket of the guide's laptop cloud-config, character for character. */
const SEED_DOCKER_TCP_SOCKET = `[Unit]
Description=Docker Socket for the API

[Socket]
ListenStream=2375
BindIPv6Only=both
Service=docker.service

[Install]
WantedBy=sockets.target
`;

const userDataDir = (lab: Lab) => (lab.os === 'coreos' ? '/var/lib/coreos-vagrant' : '/var/lib/flatcar-vagrant');

/* ------------------------------------------------------------------------------------------ Vagrantfile */

interface VagrantExpect {
  fleetd?: string;
}

/** Each machine's define block, exactly. */
function expectedDefine(lab: Lab, m: Machine, opts: VagrantExpect): string[] {
  const dir = userDataDir(lab);
  const lines = [
    '# No m.vm.hostname: the user-data names the machine when it is applied, and Vagrant\'s own',
    '# hostname step only repeats that, at a cost (a network restart on some guests: about a minute under emulation).',
    `m.vm.network :private_network, id: "lab", ip: "${m.ip}", libvirt__network_name: "cclab-${lab.name}", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none"`,
  ];
  if (m.dockerTcp) {
    lines.push(
      lab.docker.tls
        ? '# The Docker API (TLS, the lab\'s client certificate): forwarded on the host\'s loopback only.'
        : '# The Docker API has no authentication: forward it on the host\'s loopback only.',
      `m.vm.network :forwarded_port, id: "docker", guest: ${lab.docker.tls ? 2376 : 2375}, host: ${m.dockerHostPort}, host_ip: "127.0.0.1", auto_correct: true`,
    );
  }
  // The lab NIC's MAC: VirtualBox takes 12 hex digits, vagrant-libvirt colon pairs; the override
  // repeats the whole network because Vagrant replaces a network of the same id rather than merging.
  lines.push(
    '# The lab NIC gets the MAC cclab recorded for the machine (VirtualBox\'s form: 12 hex digits).',
    'm.vm.provider :virtualbox do |vb, override|',
    `vb.name = "${lab.name}-${m.name}"`,
    `override.vm.network :private_network, id: "lab", ip: "${m.ip}", mac: "${m.mac.replace(/:/g, '')}"`,
    'end',
    'm.vm.provider :libvirt do |lv, override|',
    `override.vm.network :private_network, id: "lab", ip: "${m.ip}", libvirt__network_name: "cclab-${lab.name}", libvirt__dhcp_enabled: false, libvirt__forward_mode: "none", mac: "${m.mac}"`,
    'end',
  );
  if (opts.fleetd) lines.push(`m.vm.provision :file, source: "${opts.fleetd}", destination: "/tmp/fleetd"`);
  lines.push(`m.vm.provision :file, source: "user-data/${m.name}.yaml", destination: "/tmp/vagrantfile-user-data"`);
  const install = opts.fleetd ? 'install -D -m 0755 /tmp/fleetd /opt/bin/fleetd && rm -f /tmp/fleetd && ' : '';
  lines.push(`m.vm.provision :shell, privileged: true, inline: "${install}mkdir -p ${dir} && mv /tmp/vagrantfile-user-data ${dir}/vagrantfile-user-data"`);
  return lines;
}

const settings = (lines: string[]) => lines.filter((l) => l !== '' && !l.startsWith('#'));

function checkVagrantfile(t: Test, lab: Lab, text: string, opts: VagrantExpect = {}): void {
  const lines = text.split('\n');
  t.equal(lines.filter((l) => l === 'Vagrant.configure("2") do |config|').length, 1, 'one configure block');
  t.ok(lines.includes('Vagrant.require_version ">= 2.2.5"'), 'Flatcar boxes need Vagrant ≥ 2.2.5');
  t.equal(lines.filter((l) => l === '  config.ssh.insert_key = false').length, 1, 'config.ssh.insert_key = false, once');
  t.ok(lines.includes('  config.vm.synced_folder ".", "/vagrant", disabled: true'), '/vagrant disabled');
  t.ok(lines.includes(`  config.vm.box = "${lab.box.name}"`), 'box');
  t.ok(lines.includes('  config.vm.box_check_update = false'), 'no box update check');
  const boxUrl = lines.filter((l) => l.startsWith('  config.vm.box_url = '));
  t.same(boxUrl, lab.box.url ? [`  config.vm.box_url = "${lab.box.url}"`] : [], 'box_url only when there is one');
  const boxVersion = lines.filter((l) => l.startsWith('  config.vm.box_version = '));
  t.same(boxVersion, lab.box.version ? [`  config.vm.box_version = "${lab.box.version}"`] : [], 'box_version only when given');

  t.same(
    settings(block(text, 'config.vm.provider :virtualbox do |vb|')),
    ['vb.check_guest_additions = false', 'vb.functional_vboxsf = false', 'vb.linked_clone = true', `vb.memory = ${lab.memory}`, `vb.cpus = ${lab.cpus}`],
    'virtualbox block',
  );
  const qemu = lab.libvirt.driver === 'qemu';
  const mode = lab.libvirt.cpuMode ?? (qemu ? 'custom' : undefined);
  const model = lab.libvirt.cpuModel ?? (qemu && mode === 'custom' ? 'qemu64' : undefined);
  t.same(
    settings(block(text, 'config.vm.provider :libvirt do |lv|')),
    [
      `lv.driver = "${lab.libvirt.driver}"`,
      ...(mode ? [`lv.cpu_mode = "${mode}"`] : []),
      ...(mode && model ? [`lv.cpu_model = "${model}"`] : []),
      `lv.memory = ${lab.memory}`,
      `lv.cpus = ${lab.cpus}`,
      'lv.graphics_type = "none"',
      'lv.video_type = "none"',
      `lv.management_network_name = "cclab-${lab.name}-mgmt"`,
      `lv.management_network_address = "${lab.libvirt.managementNetwork}"`,
      `lv.default_prefix = "cclab-${lab.name}-"`,
    ],
    'libvirt block',
  );
  t.same(
    settings(block(text, 'config.vm.provider :parallels do |prl|')),
    ['prl.check_guest_tools = false', 'prl.functional_psf = false', 'prl.linked_clone = true', `prl.memory = ${lab.memory}`, `prl.cpus = ${lab.cpus}`],
    'parallels block',
  );

  const defines = defineBlocks(text);
  t.same([...defines.keys()], lab.machines.map((m) => m.name), 'one config.vm.define per machine, in order');
  t.equal(lines.filter((l) => l.includes('config.vm.define')).length, lab.machines.length, 'and no other define');
  for (const m of lab.machines) t.same(defines.get(m.name), expectedDefine(lab, m, opts), `${m.name}: define block, line by line`);

  const forwarded = lines.filter((l) => l.includes(':forwarded_port'));
  t.equal(forwarded.length, lab.machines.filter((m) => m.dockerTcp).length, 'a forwarded port only for machines with Docker TCP');
  t.ok(forwarded.every((l) => l.includes('host_ip: "127.0.0.1"') && l.includes('auto_correct: true')), 'only ever on the host’s loopback');
}

/* ------------------------------------------------------------------------------------------ cloud-configs */

const members = (lab: Lab) => lab.machines.filter((m) => m.etcd === 'member');
const metadataString = (meta: Record<string, string>) => Object.entries(meta).map(([k, v]) => `${k}=${v}`).join(',');

function expectedEtcd(lab: Lab, m: Machine): Record<string, string> {
  const cluster = members(lab).map((x) => `${x.name}=http://${x.ip}:2380`).join(',');
  if (m.etcd === 'member') {
    return {
      name: m.name,
      advertise_client_urls: `http://${m.ip}:2379`,
      initial_advertise_peer_urls: `http://${m.ip}:2380`,
      listen_client_urls: 'http://0.0.0.0:2379,http://0.0.0.0:4001',
      listen_peer_urls: `http://${m.ip}:2380`,
      initial_cluster: cluster,
      initial_cluster_state: 'new',
      initial_cluster_token: `cclab-${lab.name}`,
    };
  }
  return {
    proxy: 'on',
    listen_client_urls: m.etcdListen === 'loopback' ? 'http://127.0.0.1:2379' : 'http://0.0.0.0:2379,http://0.0.0.0:4001',
    initial_cluster: cluster,
  };
}

function expectedFleet(m: Machine): Record<string, string> {
  const meta = metadataString(m.fleetMetadata);
  return { public_ip: m.ip, ...(meta ? { metadata: meta } : {}), etcd_servers: 'http://127.0.0.1:2379' };
}

/** The files a machine is written besides Docker's TLS files (checked in checkCommon); undefined when none. */
function otherFiles(cc: ParsedCloudConfig): ParsedCloudConfig['write_files'] {
  const files = (cc.write_files ?? []).filter((f) => !f.path.startsWith('/etc/docker/'));
  return files.length > 0 ? files : undefined;
}

function checkCommon(t: Test, lab: Lab, m: Machine, text: string, cc: ParsedCloudConfig): void {
  t.equal(text.split('\n', 1)[0], '#cloud-config', 'first line exactly #cloud-config');
  const hyphenated = mappingKeys(cc).filter((k) => k.key.includes('-'));
  t.same(hyphenated, [], 'no hyphenated key anywhere (Flatcar ignores them)');
  t.notMatch(text, /\$private_ipv4|\$public_ipv4/, 'literal addresses only');
  t.equal(cc.hostname, m.name, 'hostname');
  const names = cc.coreos.units.map((u) => u.name);
  t.same(names, [...new Set(names)], 'each unit once');

  // The Docker API socket (TLS on 2376 by default, the seed's 2375 with docker.tls false), and the
  // dance that starts it while docker is running.
  const tls = m.dockerTcp && lab.docker.tls;
  const socket = unit(cc, tls ? 'docker-tls-tcp.socket' : 'docker-tcp.socket');
  const enabler = unit(cc, tls ? 'enable-docker-tls-tcp.service' : 'enable-docker-tcp.service');
  const files = new Map((cc.write_files ?? []).map((f) => [f.path, f]));
  if (tls) {
    t.strictSame(socket, { name: 'docker-tls-tcp.socket', content: SEED_DOCKER_TCP_SOCKET.replace('ListenStream=2375', 'ListenStream=2376').replace('for the API', 'for the API with TLS'), enable: true }, 'docker-tls-tcp.socket: the guide’s on 2376, enabled');
    t.equal(enabler?.command, 'start', 'enable-docker-tls-tcp.service started');
    const exec = (enabler?.content ?? '').split('\n').filter((l) => l.startsWith('ExecStart='));
    t.same(exec, [
      'ExecStart=/usr/bin/systemctl enable docker-tls-tcp.socket',
      'ExecStart=/usr/bin/systemctl stop docker.service',
      'ExecStart=/usr/bin/systemctl start docker-tls-tcp.socket',
      'ExecStart=/usr/bin/systemctl start docker.service',
    ]);
    t.equal(unit(cc, 'docker-tcp.socket'), undefined, 'no plain socket');
    t.same(
      ['/etc/docker/tls/ca.pem', '/etc/docker/tls/server.pem', '/etc/docker/tls/server-key.pem', '/etc/docker/daemon.json'].map((p) => [p, files.get(p)?.permissions, files.get(p)?.owner]),
      [
        ['/etc/docker/tls/ca.pem', '0644', 'root'],
        ['/etc/docker/tls/server.pem', '0644', 'root'],
        ['/etc/docker/tls/server-key.pem', '0600', 'root'],
        ['/etc/docker/daemon.json', '0644', 'root'],
      ],
      'the server’s TLS files (key 0600) and daemon.json',
    );
    t.same(JSON.parse(files.get('/etc/docker/daemon.json')?.content ?? '{}'), {
      tlsverify: true,
      tlscacert: '/etc/docker/tls/ca.pem',
      tlscert: '/etc/docker/tls/server.pem',
      tlskey: '/etc/docker/tls/server-key.pem',
    });
    t.match(files.get('/etc/docker/tls/server.pem')?.content, new RegExp(`TEST-SERVER-CERT-${m.name}`), 'the machine’s own server certificate');
  } else if (m.dockerTcp) {
    t.strictSame(socket, { name: 'docker-tcp.socket', content: SEED_DOCKER_TCP_SOCKET, enable: true }, 'docker-tcp.socket: the guide’s, enabled');
    t.equal(enabler?.command, 'start', 'enable-docker-tcp.service started');
    const exec = (enabler?.content ?? '').split('\n').filter((l) => l.startsWith('ExecStart='));
    t.same(
      exec,
      [
        'ExecStart=/usr/bin/systemctl enable docker-tcp.socket',
        'ExecStart=/usr/bin/systemctl stop docker.service',
        'ExecStart=/usr/bin/systemctl start docker-tcp.socket',
        'ExecStart=/usr/bin/systemctl start docker.service',
      ],
      'enables the socket, stops docker, starts the socket, starts docker',
    );
    t.match(enabler?.content, /^Type=oneshot$/m);
  } else {
    t.equal(socket, undefined, 'no docker-tcp.socket');
    t.equal(enabler, undefined, 'no enable-docker-tcp.service');
    t.notOk(files.has('/etc/docker/daemon.json'), 'no daemon.json');
  }

  // Production: update groups and locksmith.
  if (m.updateGroup !== undefined) {
    t.strictSame(
      cc.coreos.update,
      {
        group: m.updateGroup,
        ...(lab.update.server ? { server: lab.update.server } : {}),
        ...(lab.update.rebootStrategy ? { reboot_strategy: lab.update.rebootStrategy } : {}),
      },
      'coreos.update',
    );
  } else t.equal(cc.coreos.update, undefined, 'no coreos.update');
  if (m.locksmithEndpoint !== undefined) t.strictSame(cc.coreos.locksmith, { endpoint: m.locksmithEndpoint }, 'locksmith endpoint');
  else t.equal(cc.coreos.locksmith, undefined, 'no locksmith section');

  if (lab.sshAuthorizedKeys.length > 0) t.same(cc.ssh_authorized_keys, lab.sshAuthorizedKeys, 'ssh keys');
  else t.notOk('ssh_authorized_keys' in cc, 'no ssh_authorized_keys without keys');
}

function checkCoreos(t: Test, lab: Lab, m: Machine, cc: ParsedCloudConfig): void {
  if (m.etcd !== 'none') {
    t.strictSame(cc.coreos.etcd2, expectedEtcd(lab, m), 'coreos.etcd2');
    t.strictSame(unit(cc, 'etcd2.service'), { name: 'etcd2.service', command: 'start' }, 'etcd2.service started');
  } else {
    t.equal(cc.coreos.etcd2, undefined, 'no etcd2');
    t.equal(unit(cc, 'etcd2.service'), undefined);
  }
  if (m.fleet) {
    t.strictSame(cc.coreos.fleet, expectedFleet(m), 'coreos.fleet, public_ip = the private address');
    t.strictSame(unit(cc, 'fleet.service'), { name: 'fleet.service', command: 'start' }, 'fleet.service started');
  } else {
    t.equal(cc.coreos.fleet, undefined, 'no fleet');
    t.equal(unit(cc, 'fleet.service'), undefined);
  }
  t.notOk(unit(cc, 'etcd-member.service'), 'no Flatcar etcd-member.service');
  t.equal(otherFiles(cc), undefined, 'nothing to install: CoreOS ships etcd2 and fleet');
}

function checkFlatcar(t: Test, lab: Lab, m: Machine, cc: ParsedCloudConfig): void {
  t.equal(cc.coreos.etcd2, undefined, 'no etcd2 section (Flatcar has no etcd2.service)');
  t.equal(cc.coreos.fleet, undefined, 'no fleet section (Flatcar has no fleet.service)');
  const etcd = unit(cc, 'etcd-member.service');
  if (m.etcd !== 'none') {
    t.equal(etcd?.enable, true, 'etcd-member.service enabled');
    t.equal(etcd?.command, 'start', 'and started');
    t.equal(etcd?.content, undefined, 'the OS unit, extended by a drop-in');
    t.same(etcd?.drop_ins?.map((d) => d.name), ['20-cclab.conf']);
    const env = Object.fromEntries(environmentOf(etcd?.drop_ins?.[0]?.content ?? ''));
    const expected: Record<string, string> = { ETCD_IMAGE_TAG: lab.etcd.imageTag, ETCD_NAME: m.name, ETCD_ENABLE_V2: 'true' };
    for (const [k, v] of Object.entries(expectedEtcd(lab, m))) if (k !== 'name') expected[`ETCD_${k.toUpperCase()}`] = v;
    t.strictSame(env, expected, 'ETCD_* environment');
    t.equal(env.ETCD_ENABLE_V2, 'true', 'v2 API on (fleet and the proxy need it)');
    t.match(env.ETCD_IMAGE_TAG, /^v3\.5\.\d+$/, 'etcd pinned to 3.5 (3.6 has no v2 API or v2 proxy)');
    t.equal(env.ETCD_PROXY, m.etcd === 'proxy' ? 'on' : undefined, m.etcd === 'proxy' ? 'a v2 proxy' : 'a member, not a proxy');
  } else t.equal(etcd, undefined, 'no etcd');

  const fleet = unit(cc, 'fleet.service');
  if (m.fleet) {
    const localFleetd = lab.fleet.localFile !== undefined;
    const install = unit(cc, 'fleet-install.service');
    if (localFleetd) {
      t.equal(install, undefined, 'fleetd uploaded by Vagrant: nothing to download');
      t.equal(otherFiles(cc), undefined);
    } else {
      t.equal(install?.content, template('units/fleet-install.service'), 'fleet-install.service');
      t.strictSame(
        Object.fromEntries(environmentOf(install?.drop_ins?.[0]?.content ?? '')),
        { FLEET_URL: lab.fleet.url, ...(lab.fleet.sha256 ? { FLEET_SHA256: lab.fleet.sha256 } : {}) },
        'the release to install',
      );
      t.strictSame(
        otherFiles(cc),
        [{ path: '/opt/cclab/install-fleetd.sh', permissions: '0755', owner: 'root', content: template('scripts/install-fleetd.sh') }],
        'the install script, permissions as a quoted octal string',
      );
    }
    t.equal(fleet?.content, template('units/fleet.service'), 'fleet.service unit');
    t.equal(fleet?.enable, true);
    t.equal(fleet?.command, 'start');
    const expected = Object.fromEntries(Object.entries(expectedFleet(m)).map(([k, v]) => [`FLEET_${k.toUpperCase()}`, v]));
    t.strictSame(Object.fromEntries(environmentOf(fleet?.drop_ins?.[0]?.content ?? '')), expected, 'FLEET_* environment');
  } else {
    t.equal(fleet, undefined, 'no fleet');
    t.equal(otherFiles(cc), undefined);
  }
  t.notOk(unit(cc, 'etcd2.service'), 'no legacy etcd2.service');
}

function checkCloudConfigs(t: Test, lab: Lab, p: ReturnType<typeof plan>): void {
  t.same(
    p.files.filter((f) => f.kind === 'user-data').map((f) => f.path),
    lab.machines.map((m) => `user-data/${m.name}.yaml`),
    'one user-data file per machine',
  );
  for (const m of lab.machines) {
    const text = userDataOf(p, m.name);
    const cc = parseCloudConfig(text);
    t.test(m.name, async (t) => {
      checkCommon(t, lab, m, text, cc);
      if (lab.os === 'coreos') checkCoreos(t, lab, m, cc);
      else checkFlatcar(t, lab, m, cc);
    });
  }
}

/* ------------------------------------------------------------------------------------------ tests */

for (const { arch, os } of COMBOS) {
  t.test(`${arch} × ${os}, default options`, async (t) => {
    const lab = await builtinLab(arch, { os });
    const p = plan(lab);
    t.same(p.files.map((f) => f.kind), ['vagrantfile', ...lab.machines.map(() => 'user-data')]);
    t.test('Vagrantfile', async (t) => checkVagrantfile(t, lab, vagrantfileOf(p)));
    t.test('cloud-configs', async (t) => checkCloudConfigs(t, lab, p));
  });
  t.test(`${arch} × ${os}, metadata, Docker TCP, qemu, 2 cpus`, async (t) => {
    const overrides: LabOverrides = { os, metadata: { zone: 'eu-1', disk: 'ssd' }, dockerTcp: true, cpus: 2, memory: 2048, libvirt: { driver: 'qemu' } };
    const lab = await builtinLab(arch, overrides);
    const p = plan(lab);
    t.test('Vagrantfile', async (t) => checkVagrantfile(t, lab, vagrantfileOf(p)));
    t.test('cloud-configs', async (t) => checkCloudConfigs(t, lab, p));
  });
}

t.test('Docker is forwarded on laptop always, on clusters only with --docker-tcp', async (t) => {
  const laptop = vagrantfileOf(plan(await builtinLab('laptop')));
  t.same(
    laptop.split('\n').filter((l) => l.includes(':forwarded_port')),
    ['    m.vm.network :forwarded_port, id: "docker", guest: 2376, host: 2376, host_ip: "127.0.0.1", auto_correct: true'],
    'laptop: TLS on 2376 by default',
  );
  const plain = vagrantfileOf(plan(await builtinLab('laptop', { docker: { tls: false } })));
  t.same(
    plain.split('\n').filter((l) => l.includes(':forwarded_port')),
    ['    m.vm.network :forwarded_port, id: "docker", guest: 2375, host: 2375, host_ip: "127.0.0.1", auto_correct: true'],
    'laptop --no-docker-tls: the guide’s 2375',
  );
  for (const arch of ['small', 'dev', 'production'] as const) {
    const off = plan(await builtinLab(arch));
    t.notMatch(vagrantfileOf(off), /forwarded_port/, `${arch}: no forwarded port by default`);
    t.ok(off.files.every((f) => !f.content.includes('docker-tcp')), `${arch}: no Docker TCP units by default`);
    const on = vagrantfileOf(plan(await builtinLab(arch, { dockerTcp: true })));
    const hosts = [...on.matchAll(/forwarded_port, id: "docker", guest: 2376, host: (\d+), host_ip: "127\.0\.0\.1", auto_correct: true$/gm)].map((m) => Number(m[1]));
    t.same(hosts, hosts.map((_, i) => 2376 + i), `${arch} --docker-tcp: one port per machine from 2376`);
    t.equal(hosts.length, defineBlocks(on).size);
  }
});

t.test('user-data delivery: file provisioner, then mkdir -p and mv as root', async (t) => {
  for (const os of ['flatcar', 'coreos'] as const) {
    const lab = await builtinLab('small', { os });
    const dir = os === 'coreos' ? '/var/lib/coreos-vagrant' : '/var/lib/flatcar-vagrant';
    for (const [name, lines] of defineBlocks(vagrantfileOf(plan(lab)))) {
      const file = lines.indexOf(`m.vm.provision :file, source: "user-data/${name}.yaml", destination: "/tmp/vagrantfile-user-data"`);
      const shell = lines.findIndex((l) => l.startsWith('m.vm.provision :shell, privileged: true, inline: '));
      t.ok(file >= 0 && shell > file, `${os} ${name}: the file is copied before the shell step`);
      const script = JSON.parse(lines[shell]!.slice('m.vm.provision :shell, privileged: true, inline: '.length)) as string;
      t.same(script.split(' && '), [`mkdir -p ${dir}`, `mv /tmp/vagrantfile-user-data ${dir}/vagrantfile-user-data`], `${os} ${name}: mkdir -p, then mv`);
    }
  }
});

t.test('--fleetd FILE: uploaded before the user-data on Flatcar, never downloaded', async (t) => {
  const fleetd = join(REPO, 'test/fixtures/labs/bin/fleetd');
  for (const arch of ['small', 'dev', 'production'] as const) {
    const lab = await builtinLab(arch, { fleet: { localFile: fleetd } });
    const p = plan(lab);
    t.test(arch, async (t) => {
      checkVagrantfile(t, lab, vagrantfileOf(p), { fleetd });
      checkCloudConfigs(t, lab, p);
      for (const lines of defineBlocks(vagrantfileOf(p)).values()) {
        t.ok(
          lines.indexOf(`m.vm.provision :file, source: "${fleetd}", destination: "/tmp/fleetd"`) <
            lines.findIndex((l) => l.includes('destination: "/tmp/vagrantfile-user-data"')),
          'fleetd first',
        );
      }
    });
  }
  const coreos = await builtinLab('dev', { os: 'coreos', fleet: { localFile: fleetd } });
  t.notMatch(vagrantfileOf(plan(coreos)), /fleetd/, 'legacy CoreOS ships fleet: nothing uploaded');
  const laptop = await builtinLab('laptop', { fleet: { localFile: fleetd } });
  t.notMatch(vagrantfileOf(plan(laptop)), /fleetd/, 'laptop runs no fleet: nothing uploaded');
});

t.test('libvirt CPU: --libvirt-driver qemu gives custom qemu64; explicit values win', async (t) => {
  const cpuLines = async (libvirt: LabOverrides['libvirt']) =>
    block(vagrantfileOf(plan(await builtinLab('dev', { libvirt }))), 'config.vm.provider :libvirt do |lv|').filter((l) => /^lv\.(driver|cpu_)/.test(l));
  t.same(await cpuLines({}), ['lv.driver = "kvm"'], 'kvm: the provider’s own CPU defaults');
  t.same(await cpuLines({ driver: 'qemu' }), ['lv.driver = "qemu"', 'lv.cpu_mode = "custom"', 'lv.cpu_model = "qemu64"'], 'qemu: emulated CPU');
  t.same(await cpuLines({ driver: 'qemu', cpuModel: 'Nehalem' }), ['lv.driver = "qemu"', 'lv.cpu_mode = "custom"', 'lv.cpu_model = "Nehalem"']);
  t.same(await cpuLines({ driver: 'kvm', cpuMode: 'host-passthrough' }), ['lv.driver = "kvm"', 'lv.cpu_mode = "host-passthrough"']);
});

t.test('box settings reach the Vagrantfile', async (t) => {
  const lab = await builtinLab('laptop', { box: { name: 'my/flatcar', url: 'https://boxes.example/m.json', version: '>= 3815.2.0, < 4000' } });
  const text = vagrantfileOf(plan(lab));
  checkVagrantfile(t, lab, text);
  t.match(text, /^ {2}config\.vm\.box_version = ">= 3815\.2\.0, < 4000"$/m);
  const coreos = vagrantfileOf(plan(await builtinLab('laptop', { os: 'coreos' })));
  t.match(coreos, /^ {2}config\.vm\.box = "coreos-stable"$/m);
  t.notMatch(coreos, /box_url/, 'no URL for legacy CoreOS boxes (deleted upstream)');
});

t.test('production: update groups, server and reboot strategy; locksmith on workers', async (t) => {
  for (const os of ['flatcar', 'coreos'] as const) {
    const lab = await builtinLab('production', { os, update: { server: 'https://nebraska.example/v1/update/', rebootStrategy: 'reboot' } });
    const p = plan(lab);
    checkCloudConfigs(t, lab, p);
    const svc = parseCloudConfig(userDataOf(p, 'services-01'));
    t.strictSame(svc.coreos.update, { group: 'stable', server: 'https://nebraska.example/v1/update/', reboot_strategy: 'reboot' }, `${os}: services`);
    t.equal(svc.coreos.locksmith, undefined);
    const w = parseCloudConfig(userDataOf(p, 'worker-01'));
    t.strictSame(w.coreos.update, { group: 'stable', server: 'https://nebraska.example/v1/update/', reboot_strategy: 'reboot' }, `${os}: workers`);
    const ips = lab.machines.filter((m) => m.role === 'services').map((m) => `http://${m.ip}:2379`);
    t.strictSame(w.coreos.locksmith, { endpoint: os === 'coreos' ? 'http://127.0.0.1:2379' : ips.join(',') }, `${os}: locksmith endpoint`);
  }
  const def = parseCloudConfig(userDataOf(plan(await builtinLab('production')), 'worker-02'));
  t.strictSame(def.coreos.update, { group: 'stable', reboot_strategy: 'etcd-lock' }, 'defaults: the channel’s group, etcd-lock');
  for (const arch of ['laptop', 'small', 'dev'] as const) {
    const files = plan(await builtinLab(arch)).files.filter((f) => f.kind === 'user-data');
    t.ok(files.every((f) => parseCloudConfig(f.content).coreos.update === undefined), `${arch}: no update section`);
  }
});

t.test('--fleet-sha256 and --fleet-url reach the install unit', async (t) => {
  const sha = 'b'.repeat(64);
  const lab = await builtinLab('dev', { fleet: { url: 'https://mirror.example/fleet%20v1.tar.gz', sha256: sha } });
  const cc = parseCloudConfig(userDataOf(plan(lab), 'worker-01'));
  const env = environmentOf(unit(cc, 'fleet-install.service')?.drop_ins?.[0]?.content ?? '');
  t.equal(env.get('FLEET_URL'), 'https://mirror.example/fleet%20v1.tar.gz', '% doubled for systemd and read back');
  t.match(unit(cc, 'fleet-install.service')?.drop_ins?.[0]?.content, /FLEET_URL=https:\/\/mirror\.example\/fleet%%20v1\.tar\.gz/);
  t.equal(env.get('FLEET_SHA256'), sha);
});

t.test('ssh keys reach ssh_authorized_keys of every machine', async (t) => {
  const key = readFileSync(join(REPO, 'test/fixtures/labs/keys/lab.pub'), 'utf8');
  for (const arch of ['laptop', 'dev'] as const) {
    const { resolveBuiltin } = await import('../helpers/render.js');
    const { lab } = await resolveBuiltin(arch, {}, { sshKeys: [{ source: 'lab.pub', content: key }] });
    for (const f of plan(lab).files.filter((x) => x.kind === 'user-data')) {
      t.same(parseCloudConfig(f.content).ssh_authorized_keys, [key.trim()], `${arch} ${f.machine}`);
    }
  }
});

t.test('--target bare-metal with cloud-config: no Vagrantfile; a static eth0 unit from --subnet, --gateway and --dns', async (t) => {
  for (const [arch, os] of [
    ['small', 'flatcar'],
    ['production', 'coreos'],
    ['laptop', 'flatcar'],
  ] as const) {
    const lab = await builtinLab(arch, { os, provisioning: 'cloud-config', subnet: '10.0.0.0/24', gateway: '10.0.0.254', dns: ['1.2.3.4', '8.8.8.8'] });
    const p = plan(lab, 'bare-metal');
    t.notOk(p.files.some((f) => f.path === 'Vagrantfile'), `${arch}: no Vagrantfile`);
    t.equal(p.target, 'bare-metal');
    for (const [i, m] of lab.machines.entries()) {
      const cc = parseCloudConfig(userDataOf(p, m.name));
      t.equal(m.ip, `10.0.0.${101 + i}`);
      t.strictSame(
        unit(cc, '00-eth0.network'),
        {
          name: '00-eth0.network',
          runtime: true,
          content: `[Match]\nName=eth0\n\n[Network]\nDNS=1.2.3.4\nDNS=8.8.8.8\nAddress=10.0.0.${101 + i}/24\nGateway=10.0.0.254\n`,
        },
        `${arch} ${m.name}: the guide's network unit with this machine's address`,
      );
    }
    // Everything else is what a Vagrant machine gets.
    const vagrant = plan(lab);
    for (const m of lab.machines) {
      const bare = parseCloudConfig(userDataOf(p, m.name));
      bare.coreos.units = bare.coreos.units.filter((u) => u.name !== '00-eth0.network');
      t.strictSame(bare, parseCloudConfig(userDataOf(vagrant, m.name)), `${arch} ${m.name}: otherwise the same cloud-config`);
    }
  }
  const def = await builtinLab('dev', { subnet: '10.1.2.0/24', provisioning: 'cloud-config' });
  const net = unit(parseCloudConfig(userDataOf(plan(def, 'bare-metal'), 'etcd-01')), '00-eth0.network');
  t.equal(net?.content, '[Match]\nName=eth0\n\n[Network]\nDNS=10.1.2.1\nAddress=10.1.2.101/24\nGateway=10.1.2.1\n', 'gateway and DNS default to .1');
  t.notOk(plan(def).files.some((f) => f.content.includes('00-eth0.network')), 'Vagrant machines get no network unit');
});

t.test('cclab render writes the plan and says what it wrote', async (t) => {
  const dir = t.testdir({});
  const io = memoryIo();
  const ctx = { io, env: {}, cwd: dir, signal: new AbortController().signal };
  await renderCommand({ architecture: 'dev', overrides: { workers: 3 }, out: 'out', target: 'vagrant', json: false }, ctx);
  const out = join(dir, 'out');
  t.same(readdirSync(out).sort(), ['Vagrantfile', 'user-data']);
  t.same(readdirSync(join(out, 'user-data')).sort(), ['etcd-01.yaml', 'worker-01.yaml', 'worker-02.yaml', 'worker-03.yaml']);
  const lab = await builtinLab('dev', { workers: 3 });
  const p = plan(lab);
  t.equal(
    readFileSync(join(out, 'Vagrantfile'), 'utf8').replace(/generated by cclab "[^"]+"/, ''),
    vagrantfileOf(p).replace(/generated by cclab "[^"]+"/, ''),
    'the Vagrantfile of the plan',
  );
  for (const m of lab.machines) t.equal(readFileSync(join(out, `user-data/${m.name}.yaml`), 'utf8'), userDataOf(p, m.name), `${m.name}.yaml`);
  t.match(io.stdout, /^Rendered lab dev \(dev, flatcar stable, 4 machines\) for virtualbox into out\/\n/);
  t.match(io.stdout, new RegExp(`out/user-data/worker-03\\.yaml {2}\\(worker, ${lab.machines[3]!.ip.replace(/\./g, '\\.')}\\)`));
  t.match(io.stderr, /warning: fleetd will be downloaded at first boot without a checksum/);
  t.match(io.stderr, /cd out && vagrant up/);

  const json = memoryIo();
  await renderCommand({ architecture: 'laptop', overrides: { provisioning: 'cloud-config' }, out: 'lap', target: 'bare-metal', json: true }, { ...ctx, io: json });
  const doc = JSON.parse(json.stdout) as { outDir: string; target: string; files: { path: string; kind: string; machine?: string }[]; lab: Lab };
  t.equal(doc.outDir, join(dir, 'lap'));
  t.equal(doc.target, 'bare-metal');
  t.same(doc.files, [{ path: join(dir, 'lap/user-data/core-01.yaml'), kind: 'user-data', machine: 'core-01' }]);
  t.equal(doc.lab.name, 'laptop');
  t.notOk(existsSync(join(dir, 'lap/Vagrantfile')), 'bare metal: no Vagrantfile on disk');
});
