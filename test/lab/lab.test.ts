/**
 * The lab model: the four architectures' defaults, the limits on machine counts (with the guide's
 * reasons), subnets, flags over the lab file, the provider and the box.
 */
import t from 'tap';
import type { Test } from 'tap';
import { LabConfigError } from '../../src/errors.js';
import { loadBuiltinLab } from '../../src/lab/load.js';
import { contains, defaultSubnet, DEFAULT_SUBNETS, parseCidr, overlaps, type Cidr } from '../../src/lab/net.js';
import { resolveLab, type LabOverrides } from '../../src/lab/resolve.js';
import type { LabDocument } from '../../src/lab/schema.js';
import type { Architecture, Lab, Machine } from '../../src/lab/types.js';
import { builtinLab, resolveBuiltin } from '../helpers/render.js';

const cidr = (text: string) => parseCidr(text) as Cidr;
const VBOX_ALLOWED = cidr('192.168.56.0/21');
const VBOX0 = cidr('192.168.56.0/24');

/** The address `offset` inside the lab's /24 (all defaults are /24s). */
const hostIn = (lab: Lab, offset: number) => lab.subnet.network.replace(/\.0$/, `.${offset}`);

/** The LabConfigError `fn` throws (the test fails if it throws anything else or nothing). */
function refusal(t: Test, fn: () => unknown): LabConfigError {
  try {
    fn();
  } catch (e) {
    t.type(e, LabConfigError, 'refused as an invalid lab');
    return e as LabConfigError;
  }
  t.fail('expected a LabConfigError, nothing was thrown');
  return new LabConfigError('none', []);
}

async function refusedBuiltin(t: Test, arch: Architecture, overrides: LabOverrides, extra = {}): Promise<LabConfigError> {
  const loaded = await loadBuiltinLab(arch);
  return refusal(t, () => resolveLab({ document: loaded.document, source: loaded.source, overrides, ...extra }));
}

interface Expected {
  name: string;
  role: Machine['role'];
  offset: number;
  etcd: Machine['etcd'];
  etcdListen: Machine['etcdListen'];
  fleet: boolean;
  fleetMetadata: Record<string, string>;
}

function checkMachines(t: Test, lab: Lab, expected: Expected[]): void {
  t.same(
    lab.machines.map((m) => m.name),
    expected.map((e) => e.name),
    'machine names, in order',
  );
  for (const [i, e] of expected.entries()) {
    const m = lab.machines[i]!;
    t.equal(m.ip, hostIn(lab, e.offset), `${e.name}: address .${e.offset}`);
    t.equal(m.role, e.role, `${e.name}: role ${e.role}`);
    t.equal(m.etcd, e.etcd, `${e.name}: etcd ${e.etcd}`);
    t.equal(m.etcdListen, e.etcdListen, `${e.name}: etcd listens on ${e.etcdListen}`);
    t.equal(m.fleet, e.fleet, `${e.name}: fleet ${e.fleet ? 'on' : 'off'}`);
    t.strictSame(m.fleetMetadata, e.fleetMetadata, `${e.name}: fleet metadata`);
    t.same(Object.keys(m.fleetMetadata), Object.keys(e.fleetMetadata), `${e.name}: role first, then the user's keys`);
  }
}

const member = (name: string, offset: number, role: Machine['role'], meta: Record<string, string>): Expected => ({
  name,
  role,
  offset,
  etcd: 'member',
  etcdListen: 'all',
  fleet: true,
  fleetMetadata: meta,
});

t.test('laptop: one machine core-01 with Docker on TCP and nothing else', async (t) => {
  const lab = await builtinLab('laptop', { metadata: { zone: 'a' } });
  checkMachines(t, lab, [
    { name: 'core-01', role: 'docker', offset: 101, etcd: 'none', etcdListen: 'none', fleet: false, fleetMetadata: {} },
  ]);
  const m = lab.machines[0]!;
  t.equal(m.dockerTcp, true, 'Docker API exposed');
  t.equal(m.dockerHostPort, 2376, 'on host port 2376 (TLS, the default)');
  t.same(lab.docker, { guestPort: 2376, tls: true }, 'TLS on 2376');
  t.same(lab.etcd.members, [], 'no etcd members');
  t.equal(lab.etcd.initialCluster, '', 'no initial cluster');
  t.equal(m.updateGroup, undefined);
  t.equal(m.locksmithEndpoint, undefined);
  t.equal(lab.memory, 2048, 'memory from labs/laptop.yaml');
});

t.test('small: three etcd members core-01..03 running fleet, no role metadata', async (t) => {
  const lab = await builtinLab('small', { metadata: { zone: 'a' } });
  checkMachines(t, lab, [
    member('core-01', 101, 'member', { zone: 'a' }),
    member('core-02', 102, 'member', { zone: 'a' }),
    member('core-03', 103, 'member', { zone: 'a' }),
  ]);
  t.equal(
    lab.etcd.initialCluster,
    ['core-01', 'core-02', 'core-03'].map((n, i) => `${n}=http://${hostIn(lab, 101 + i)}:2380`).join(','),
    'static initial cluster of all members',
  );
  t.same(
    lab.etcd.members.map((m) => m.clientUrl),
    [101, 102, 103].map((o) => `http://${hostIn(lab, o)}:2379`),
    'client URLs',
  );
  t.ok(lab.machines.every((m) => !m.dockerTcp && m.dockerHostPort === undefined), 'no Docker TCP by default');
  t.ok(lab.machines.every((m) => m.updateGroup === undefined && m.locksmithEndpoint === undefined), 'no update groups');
});

t.test('dev: etcd-01 and workers with a loopback etcd proxy, fleet roles etcd and worker', async (t) => {
  const lab = await builtinLab('dev', { metadata: { zone: 'a', disk: 'ssd' } });
  const user = { zone: 'a', disk: 'ssd' };
  checkMachines(t, lab, [
    member('etcd-01', 101, 'etcd', { role: 'etcd', ...user }),
    { name: 'worker-01', role: 'worker', offset: 102, etcd: 'proxy', etcdListen: 'loopback', fleet: true, fleetMetadata: { role: 'worker', ...user } },
    { name: 'worker-02', role: 'worker', offset: 103, etcd: 'proxy', etcdListen: 'loopback', fleet: true, fleetMetadata: { role: 'worker', ...user } },
  ]);
  t.same(lab.etcd.members.map((m) => m.name), ['etcd-01'], 'one member');
  t.strictSame(lab.userMetadata, user, 'user metadata kept apart too');
});

t.test('production: services-01..03 members, workers with proxies on every address and locksmith', async (t) => {
  for (const os of ['flatcar', 'coreos'] as const) {
    const lab = await builtinLab('production', { os, metadata: { zone: 'a' } });
    checkMachines(t, lab, [
      member('services-01', 101, 'services', { role: 'services', zone: 'a' }),
      member('services-02', 102, 'services', { role: 'services', zone: 'a' }),
      member('services-03', 103, 'services', { role: 'services', zone: 'a' }),
      { name: 'worker-01', role: 'worker', offset: 104, etcd: 'proxy', etcdListen: 'all', fleet: true, fleetMetadata: { role: 'worker', zone: 'a' } },
      { name: 'worker-02', role: 'worker', offset: 105, etcd: 'proxy', etcdListen: 'all', fleet: true, fleetMetadata: { role: 'worker', zone: 'a' } },
    ]);
    t.ok(lab.machines.every((m) => m.updateGroup === 'stable'), `${os}: every machine in the channel's update group by default`);
    t.equal(lab.update.rebootStrategy, 'etcd-lock', `${os}: etcd-lock reboots`);
    const services = lab.machines.filter((m) => m.role === 'services');
    const workers = lab.machines.filter((m) => m.role === 'worker');
    t.ok(services.every((m) => m.locksmithEndpoint === undefined), `${os}: locksmith is configured on workers only`);
    const expected =
      os === 'coreos' ? 'http://127.0.0.1:2379' : [101, 102, 103].map((o) => `http://${hostIn(lab, o)}:2379`).join(',');
    t.ok(
      workers.every((m) => m.locksmithEndpoint === expected),
      `${os}: workers' locksmith endpoint is ${os === 'coreos' ? 'the local v2 proxy' : 'the members (v3)'}`,
    );
  }
});

t.test('update groups per role come from the lab file; --update-group sets both', async (t) => {
  const doc: LabDocument = {
    name: 'prod',
    spec: { architecture: 'production', update: { servicesGroup: 'central', workersGroup: 'workers-a', server: 'https://nebraska.example/v1/update/' } },
  };
  const { lab } = resolveLab({ document: doc, source: 'prod.yaml' });
  t.same(lab.machines.map((m) => m.updateGroup), ['central', 'central', 'central', 'workers-a', 'workers-a']);
  t.equal(lab.update.server, 'https://nebraska.example/v1/update/');
  const both = resolveLab({ document: { name: 'p', spec: { architecture: 'production' } }, source: 'x', overrides: { update: { group: 'beta-canary' } } }).lab;
  t.ok(both.machines.every((m) => m.updateGroup === 'beta-canary'));
  const warned = resolveLab({ document: { name: 'd', spec: { architecture: 'dev' } }, source: 'x', overrides: { update: { group: 'g' } } });
  t.ok(warned.warnings.some((w) => /apply to the production architecture/.test(w)), 'ignored with a warning outside production');
  t.ok(warned.lab.machines.every((m) => m.updateGroup === undefined));
});

t.test('machine names keep two digits and count past nine', async (t) => {
  const small = await builtinLab('small', { members: 9 });
  t.same(small.machines.map((m) => m.name), ['core-01', 'core-02', 'core-03', 'core-04', 'core-05', 'core-06', 'core-07', 'core-08', 'core-09']);
  t.same(small.machines.map((m) => m.ip), [101, 102, 103, 104, 105, 106, 107, 108, 109].map((o) => hostIn(small, o)));
  const dev = await builtinLab('dev', { workers: 12 });
  t.same(dev.machines.at(-1)?.name, 'worker-12');
  t.same(dev.machines.at(-1)?.ip, hostIn(dev, 113), 'worker-12 after etcd-01 and 11 workers');
  const names = dev.machines.map((m) => m.name);
  t.same([...names].sort(), names, 'names sort in machine order');
});

t.test('--docker-tcp on a cluster: every machine, one host port each from 2376 (2375 without TLS)', async (t) => {
  const lab = await builtinLab('dev', { dockerTcp: true });
  t.same(
    lab.machines.map((m) => [m.dockerTcp, m.dockerHostPort]),
    [
      [true, 2376],
      [true, 2377],
      [true, 2378],
    ],
  );
  const plain = await resolveBuiltin('dev', { dockerTcp: true, docker: { tls: false } });
  t.same(plain.lab.machines.map((m) => m.dockerHostPort), [2375, 2376, 2377]);
  t.same(plain.lab.docker, { guestPort: 2375, tls: false });
  t.ok(plain.warnings.some((w) => /docker\.tls is off: the Docker API is plain TCP on 2375 without authentication/.test(w)), 'a warning for the plain socket');
  t.notOk((await resolveBuiltin('dev')).warnings.some((w) => /docker\.tls/.test(w)), 'no warning for a lab without Docker');
  const off = await resolveBuiltin('laptop', { dockerTcp: false });
  t.equal(off.lab.machines[0]!.dockerTcp, true, 'laptop always exposes Docker');
  t.ok(off.warnings.some((w) => /always exposes Docker/.test(w)), 'and says --no-docker-tcp was ignored');
});

t.test('metadata: file then flags, role reserved, unsafe keys and values refused', async (t) => {
  const doc: LabDocument = { name: 'm', spec: { architecture: 'dev', metadata: { zone: 'file', rack: 7, ssd: true } } };
  const { lab } = resolveLab({ document: doc, source: 'm.yaml', overrides: { metadata: { zone: 'flag' } } });
  t.strictSame(lab.userMetadata, { zone: 'flag', rack: '7', ssd: 'true' }, 'flags win, numbers and booleans as text');
  t.strictSame(lab.machines[1]!.fleetMetadata, { role: 'worker', zone: 'flag', rack: '7', ssd: 'true' });
  const e = refusal(t, () => resolveLab({ document: doc, source: 'm.yaml', overrides: { metadata: { role: 'db' } } }));
  t.match(e.problems, [{ path: 'metadata.role', message: /set by the architecture/ }]);
  const e2 = refusal(t, () => resolveLab({ document: doc, source: 'm.yaml', overrides: { metadata: { zone: 'a,b', 'bad key': 'x' } } }));
  t.equal(e2.problems.length, 2, 'both problems at once');
  t.match(e2.problems, [{ path: 'metadata.zone', message: /no commas/ }, { path: 'metadata.bad key', message: /keys are letters, digits/ }]);
});

t.test('counts outside the architecture are refused with the range and the reason', async (t) => {
  const cases: { arch: Architecture; overrides: LabOverrides; path: string; range: RegExp; reason: RegExp }[] = [
    { arch: 'small', overrides: { members: 12 }, path: 'members', range: /small takes 3–9 members, not 12/, reason: /fewest members that survive a failure/ },
    { arch: 'small', overrides: { members: 2 }, path: 'members', range: /small takes 3–9 members, not 2/, reason: /fewest members that survive a failure/ },
    { arch: 'production', overrides: { services: 2 }, path: 'services', range: /production takes 3–5 services, not 2/, reason: /keeps quorum through a failure/ },
    { arch: 'production', overrides: { services: 6 }, path: 'services', range: /production takes 3–5 services, not 6/, reason: /every extra member slows each write/ },
    { arch: 'dev', overrides: { workers: 0 }, path: 'workers', range: /dev takes 1–150 workers, not 0/, reason: /needs at least one worker/ },
    { arch: 'dev', overrides: { members: 3 }, path: 'members', range: /dev takes exactly 1 members, not 3/, reason: /exactly one etcd server/ },
    { arch: 'laptop', overrides: { workers: 2 }, path: 'workers', range: /laptop has no workers/, reason: /one Container Linux VM/ },
    { arch: 'laptop', overrides: { members: 3 }, path: 'members', range: /laptop has exactly one machine/, reason: /do not apply/ },
    { arch: 'small', overrides: { workers: 2 }, path: 'workers', range: /small has no workers/, reason: /dev or production architecture/ },
  ];
  for (const c of cases) {
    const e = await refusedBuiltin(t, c.arch, c.overrides);
    t.equal(e.problems.length, 1, `${c.arch} ${JSON.stringify(c.overrides)}: one problem`);
    t.equal(e.problems[0]?.path, c.path, `names ${c.path}`);
    t.match(e.problems[0]?.message, c.range, 'gives the allowed range');
    t.match(e.problems[0]?.message, c.reason, 'gives the reason');
    // Every value here came from a flag: the problem names the flag (prepareLab makes it exit 2).
    t.match(e.message, new RegExp(`^labs/${c.arch}\\.yaml is not a valid lab:\\n  - --${c.path}: `), 'message names the flag');
    t.equal(e.problems[0]?.flag, c.path, `from --${c.path}`);
  }
  // The edges are accepted.
  for (const [arch, o, n] of [
    ['small', { members: 3 }, 3],
    ['small', { members: 9 }, 9],
    ['production', { services: 3 }, 5],
    ['production', { services: 5 }, 7],
    ['dev', { workers: 1 }, 2],
    ['dev', { workers: 150 }, 151],
    ['laptop', { workers: 0 }, 1],
  ] as const) {
    t.equal((await builtinLab(arch, o)).machines.length, n, `${arch} ${JSON.stringify(o)} gives ${n} machines`);
  }
});

t.test('--members and --services name the same count', async (t) => {
  const lab = await resolveBuiltin('production', { members: 4 });
  t.equal(lab.lab.machines.filter((m) => m.etcd === 'member').length, 4, 'the flag replaces the file’s services: 3');
  t.ok(lab.warnings.some((w) => /4 etcd members tolerate no more failures than 3/.test(w)), 'an even count is warned about');
  const small = await builtinLab('small', { services: 5 });
  t.equal(small.machines.length, 5);
  const e = await refusedBuiltin(t, 'production', { members: 4, services: 5 });
  t.match(e.problems, [{ path: 'services', message: /--members 4 and --services 5 disagree/ }]);
});

t.test('default subnet: a /24 inside 192.168.56.0/21, never 192.168.56.0/24, stable per name', async (t) => {
  for (const arch of ['laptop', 'small', 'dev', 'production'] as const) {
    const lab = await builtinLab(arch);
    const c = cidr(lab.subnet.cidr);
    t.ok(contains(VBOX_ALLOWED, c), `${arch}: ${lab.subnet.cidr} inside 192.168.56.0/21`);
    t.notOk(overlaps(c, VBOX0), `${arch}: not vboxnet0's 192.168.56.0/24`);
    t.equal(c.prefix, 24);
    t.equal(lab.subnet.gateway, hostIn(lab, 1), 'gateway .1');
    t.same(lab.dns, [lab.subnet.gateway], 'DNS defaults to the gateway');
  }
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const s = defaultSubnet(`lab-${i}`, [])!;
    t.ok(contains(VBOX_ALLOWED, cidr(s)) && !overlaps(cidr(s), VBOX0), `lab-${i}: ${s}`, { diagnostic: false });
    seen.add(s);
  }
  t.same([...seen].sort(), [...DEFAULT_SUBNETS].sort(), 'names spread over all seven /24s');
  t.equal(defaultSubnet('dev', []), defaultSubnet('dev', []), 'the same name gets the same subnet');
});

t.test('default subnet: moves past the subnets other labs use; none left is an error', async (t) => {
  const first = (await builtinLab('dev')).subnet.cidr;
  const second = (await resolveBuiltin('dev', {}, { takenSubnets: [first] })).lab.subnet.cidr;
  t.not(second, first, 'a taken subnet is not picked again');
  t.ok(DEFAULT_SUBNETS.includes(second));
  const allButOne = DEFAULT_SUBNETS.filter((s) => s !== '192.168.60.0/24');
  t.equal((await resolveBuiltin('dev', {}, { takenSubnets: allButOne })).lab.subnet.cidr, '192.168.60.0/24', 'the one left');
  const overlapping = (await resolveBuiltin('dev', {}, { takenSubnets: ['192.168.56.0/22'] })).lab.subnet.cidr;
  t.notOk(overlaps(cidr(overlapping), cidr('192.168.56.0/22')), 'a larger taken range counts for every /24 inside it');
  for (const taken of [DEFAULT_SUBNETS, ['192.168.56.0/21']]) {
    const e = await refusedBuiltin(t, 'dev', {}, { takenSubnets: taken });
    t.match(e.problems, [{ path: 'subnet', message: /every default lab subnet .* is used by another lab; pass --subnet/ }]);
  }
  t.equal((await resolveBuiltin('dev', { subnet: '10.20.30.0/24' }, { takenSubnets: DEFAULT_SUBNETS })).lab.subnet.cidr, '10.20.30.0/24', '--subnet needs no free default');
});

t.test('subnet: capacity from .101, bad CIDRs named', async (t) => {
  const e = await refusedBuiltin(t, 'production', { workers: 200 });
  t.equal(e.problems.length, 1);
  t.match(e.problems[0], { path: 'workers', message: /203 machines do not fit in 192\.168\.\d+\.0\/24: it holds 154 from \.101.*larger --subnet/ });
  const big = await builtinLab('production', { workers: 200, subnet: '10.64.0.0/16' });
  t.equal(big.machines.length, 203);
  t.equal(big.machines.at(-1)!.ip, '10.64.1.47', 'addresses run on past .255 inside a /16');
  t.equal(big.machines.at(-1)!.name, 'worker-200');
  const full = await builtinLab('dev', { workers: 150 });
  t.equal(full.machines.at(-1)!.ip, hostIn(full, 251));
  for (const [subnet, msg] of [
    ['10.0.0.1/24', /has host bits set; did you mean 10\.0\.0\.0\/24\?/],
    ['10.0.0.0', /not an IPv4 CIDR/],
    ['300.0.0.0/24', /not an IPv4 CIDR/],
    ['10.0.0.0/30', /between \/8 and \/28/],
  ] as const) {
    const e = await refusedBuiltin(t, 'dev', { subnet });
    t.match(e.problems, [{ path: 'subnet', message: msg }], subnet);
  }
  const tiny = await refusedBuiltin(t, 'laptop', { subnet: '10.0.0.0/28' });
  // Only --subnet was given: the problem is the subnet's (and one machine is "1 machine").
  t.match(tiny.problems, [{ path: 'subnet', flag: 'subnet', message: /^1 machine does not fit in 10\.0\.0\.0\/28: it holds 0/ }]);
});

t.test('flags override the lab file; box, update, fleet and libvirt merge field by field', async (t) => {
  const doc: LabDocument = {
    name: 'merge',
    spec: {
      architecture: 'production',
      os: 'flatcar',
      channel: 'beta',
      provider: 'virtualbox',
      services: 3,
      workers: 2,
      memory: 1536,
      cpus: 2,
      box: { name: 'my-flatcar', version: '>= 3000.0.0' },
      update: { group: 'file-group', server: 'https://file.example/v1/update/', rebootStrategy: 'reboot' },
      fleet: { url: 'https://file.example/fleet.tar.gz', sha256: 'a'.repeat(64) },
      libvirt: { driver: 'qemu', cpuModel: 'Nehalem' },
      metadata: { zone: 'file' },
    },
  };
  const overrides: LabOverrides = {
    name: 'flagged',
    channel: 'alpha',
    workers: 4,
    memory: 2048,
    box: { url: 'https://boxes.example/flatcar.json', name: undefined, version: undefined },
    update: { group: 'flag-group', server: undefined, rebootStrategy: undefined },
    fleet: { url: 'https://flag.example/fleet.tar.gz', sha256: undefined },
    libvirt: { managementNetwork: '10.99.0.0/24', driver: undefined },
    metadata: { zone: 'flag' },
  };
  const { lab } = resolveLab({ document: doc, source: 'merge.yaml', overrides });
  t.equal(lab.name, 'flagged', '--name over metadata.name');
  t.equal(lab.channel, 'alpha', 'scalar replaced');
  t.equal(lab.memory, 2048, 'scalar replaced');
  t.equal(lab.cpus, 2, 'scalar kept');
  t.equal(lab.machines.filter((m) => m.role === 'worker').length, 4, 'workers replaced');
  t.strictSame(lab.box, { name: 'my-flatcar', url: 'https://boxes.example/flatcar.json', version: '>= 3000.0.0' }, 'box: url from the flag, name and version from the file');
  t.strictSame(lab.update, { group: 'flag-group', server: 'https://file.example/v1/update/', rebootStrategy: 'reboot' }, 'update merged');
  t.ok(lab.machines.every((m) => m.updateGroup === 'flag-group'));
  t.strictSame(lab.fleet, { url: 'https://flag.example/fleet.tar.gz', sha256: 'a'.repeat(64), localFile: undefined }, 'fleet merged');
  t.strictSame(lab.libvirt, { driver: 'qemu', cpuMode: undefined, cpuModel: 'Nehalem', managementNetwork: '10.99.0.0/24' }, 'libvirt merged');
  t.strictSame(lab.userMetadata, { zone: 'flag' });
  t.strictSame(doc.spec.box, { name: 'my-flatcar', version: '>= 3000.0.0' }, 'the document itself is not changed');
});

t.test('provider: flag, else VAGRANT_DEFAULT_PROVIDER, else virtualbox; an unknown one is refused', async (t) => {
  t.equal((await builtinLab('dev')).provider, 'virtualbox');
  const prl = (await resolveBuiltin('dev', {}, { defaultProvider: 'parallels' })).lab;
  t.equal(prl.provider, 'parallels', 'VAGRANT_DEFAULT_PROVIDER honoured');
  t.equal(prl.box.url, 'https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant_parallels.json', 'Flatcar’s parallels box');
  const vb = (await resolveBuiltin('dev', { provider: 'virtualbox' }, { defaultProvider: 'libvirt' })).lab;
  t.equal(vb.provider, 'virtualbox', '--provider wins over the environment');
  t.equal(vb.box.url, 'https://stable.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json');
  const e = await refusedBuiltin(t, 'dev', {}, { defaultProvider: 'vmware_desktop' });
  t.equal(e.problems.length, 1);
  t.match(e.problems[0], { path: 'provider', message: /VAGRANT_DEFAULT_PROVIDER is "vmware_desktop", which cclab does not support \(virtualbox, libvirt, parallels\); pass --provider/ });
  t.equal((await resolveBuiltin('dev', { provider: 'virtualbox' }, { defaultProvider: 'vmware_desktop' })).lab.provider, 'virtualbox', 'not consulted when --provider is given');
});

t.test('Flatcar on libvirt: its QEMU image as the box cclab adds, provisioned with Ignition; a named box keeps cloud-config', async (t) => {
  for (const extra of [{ overrides: { provider: 'libvirt' as const }, env: undefined }, { overrides: {}, env: 'libvirt' }]) {
    const lab = (await resolveBuiltin('dev', extra.overrides, { defaultProvider: extra.env })).lab;
    t.strictSame(lab.box, { name: 'flatcar-stable', url: undefined, version: undefined }, 'the box `cclab box add` makes, no URL');
    t.equal(lab.provisioning, 'ignition', 'Flatcar’s image has no Vagrant OEM: Ignition through fw_cfg');
  }
  t.equal((await resolveBuiltin('dev', { provider: 'libvirt', channel: 'beta' })).lab.box.name, 'flatcar-beta');
  t.equal((await resolveBuiltin('dev', { provider: 'libvirt', provisioning: 'cloud-config' })).lab.provisioning, 'cloud-config', 'asked for: kept');
  t.equal((await resolveBuiltin('dev', { provider: 'virtualbox' })).lab.provisioning, undefined, 'VirtualBox: the box’s cloud-config (the target’s default)');
  const withBox = (await resolveBuiltin('dev', { provider: 'libvirt', box: { name: 'my/flatcar-libvirt' } })).lab;
  t.strictSame(withBox.box, { name: 'my/flatcar-libvirt', url: undefined, version: undefined }, 'a named box, no URL guessed');
  t.equal(withBox.provisioning, undefined, 'a box of the user’s own keeps cloud-config (it may have the Vagrant OEM)');
  const coreos = (await resolveBuiltin('dev', { provider: 'libvirt', os: 'coreos' })).lab;
  t.strictSame(coreos.box, { name: 'coreos-stable', url: undefined, version: undefined }, 'legacy CoreOS: the box must already be added');
});

t.test('OS and channel', async (t) => {
  const lab = await builtinLab('laptop', { channel: 'lts' });
  t.equal(lab.box.name, 'flatcar-lts');
  t.equal(lab.box.url, 'https://lts.release.flatcar-linux.net/amd64-usr/current/flatcar_production_vagrant.json');
  const e = await refusedBuiltin(t, 'laptop', { os: 'coreos', channel: 'lts' });
  t.match(e.problems, [{ path: 'channel', message: /"lts" is not a coreos channel \(stable, beta, alpha\)/ }]);
  const coreos = await builtinLab('small', { os: 'coreos', channel: 'beta' });
  t.equal(coreos.os, 'coreos');
  t.equal(coreos.box.name, 'coreos-beta');
});

t.test('memory and cpus bounds', async (t) => {
  for (const [o, path] of [
    [{ memory: 256 }, 'memory'],
    [{ memory: 100000 }, 'memory'],
    [{ memory: 1024.5 }, 'memory'],
    [{ cpus: 0 }, 'cpus'],
    [{ cpus: 65 }, 'cpus'],
    [{ cpus: 1.5 }, 'cpus'],
  ] as const) {
    const e = await refusedBuiltin(t, 'small', o);
    t.match(e.problems, [{ path }], JSON.stringify(o));
  }
  const lab = await builtinLab('small', { memory: 512, cpus: 64 });
  t.equal(lab.memory, 512);
  t.equal(lab.cpus, 64);
});

t.test('every problem of a lab is reported at once', async (t) => {
  const e = await refusedBuiltin(t, 'small', {
    name: 'Bad Name',
    members: 12,
    channel: 'nightly',
    subnet: 'nope',
    cpus: 0,
    libvirt: { cpuModel: 'x y' },
  });
  t.same(
    e.problems.map((p) => p.path),
    ['name', 'channel', 'members', 'subnet', 'libvirt.cpuModel', 'cpus'],
    'six problems, each named',
  );
});

t.test('etcd is pinned to 3.5: etcd.version overrides it and 3.6+ is refused with the reason', async (t) => {
  t.equal((await builtinLab('small')).etcd.imageTag, 'v3.5.16', 'the default pin');
  t.equal((await builtinLab('small', { etcd: { version: '3.5.21' } })).etcd.imageTag, 'v3.5.21', 'a version without v');
  t.equal((await builtinLab('small', { etcd: { version: 'v3.5.17' } })).etcd.imageTag, 'v3.5.17', 'a tag');
  for (const version of ['3.6.0', 'v3.6.5', '4.0.0']) {
    const e = await refusedBuiltin(t, 'small', { etcd: { version } });
    t.match(e.problems, [{ path: 'etcd.version', message: /removed the v2 API .*v2 proxy/ }], version);
  }
  for (const version of ['latest', '3.5', 'v3.5.16\nx', '3.5.16; rm -rf /']) {
    const e = await refusedBuiltin(t, 'small', { etcd: { version } });
    t.match(e.problems, [{ path: 'etcd.version', message: /is not an etcd release/ }], JSON.stringify(version));
  }
});

t.test('every machine has a MAC: derived (stable, locally administered unicast) or given', async (t) => {
  const a = await builtinLab('production', { workers: 20 });
  const b = await builtinLab('production', { workers: 20 });
  t.same(a.machines.map((m) => m.mac), b.machines.map((m) => m.mac), 'the same on every run');
  t.equal(new Set(a.machines.map((m) => m.mac)).size, a.machines.length, 'distinct');
  for (const m of a.machines) {
    t.match(m.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, `${m.name}: six hex pairs`);
    t.equal(parseInt(m.mac.slice(0, 2), 16) & 3, 2, `${m.name}: locally administered, unicast`);
    t.equal(m.macGiven, false);
  }
  const other = await builtinLab('production', { workers: 20, name: 'other' });
  t.not(other.machines[0]!.mac, a.machines[0]!.mac, 'another lab, other MACs');
  const given = await builtinLab('dev', { macs: { 'worker-01': 'AA-BB-CC-00-11-22' } });
  t.equal(given.machines[1]!.mac, 'aa:bb:cc:00:11:22', 'given, normalised');
  t.equal(given.machines[1]!.macGiven, true);
  for (const [macs, message] of [
    [{ 'worker-09': '52:54:00:00:00:01' }, /no machine "worker-09"/],
    [{ 'worker-01': '01:00:5e:00:00:01' }, /not a unicast MAC/],
    [{ 'worker-01': '52:54:00:00:00:0' }, /not a unicast MAC/],
    [{ 'worker-01': '52:54:00:00:00:01', 'worker-02': '52-54-00-00-00-01' }, /also the MAC of worker-01/],
  ] as const) {
    const e = await refusedBuiltin(t, 'dev', { macs });
    t.match(e.problems, [{ message }], JSON.stringify(macs));
  }
});

t.test('provisioning: ignition for legacy CoreOS is refused, naming what to use', async (t) => {
  const e = await refusedBuiltin(t, 'small', { os: 'coreos', provisioning: 'ignition' });
  t.match(e.problems, [{ path: 'provisioning', message: /legacy CoreOS.*cloud-config.*--os flatcar/ }]);
  t.equal((await builtinLab('small', { provisioning: 'ignition' })).provisioning, 'ignition');
  t.equal((await builtinLab('small')).provisioning, undefined, 'not given: the target decides');
});
