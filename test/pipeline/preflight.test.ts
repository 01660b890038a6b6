/**
 * Preflight policy over in-memory probes: each rule, its failure message and its fix, per provider.
 * Also `cclab doctor` (the same checks, printed) and what `cclab up` prints before booting.
 */
import t from 'tap';
import type { Context } from '../../src/context.js';
import { memoryIo } from '../../src/context.js';
import { PreflightError } from '../../src/errors.js';
import { resolveLab, type LabOverrides } from '../../src/lab/resolve.js';
import type { Architecture, Lab, Provider } from '../../src/lab/types.js';
import { runPreflight, type Probes } from '../../src/pipeline/preflight.js';
import type { HostInterface, PreflightCheck } from '../../src/providers/types.js';
import { vboxAllowedRanges } from '../../src/providers/virtualbox.js';
import { printPreflight } from '../../src/pipeline/up.js';
import { run as doctor } from '../../src/commands/doctor.js';

interface ProbeSetup {
  version?: string | Error;
  provider?: { ok: boolean; detail: string } | Error;
  boxes?: { name: string; provider: string }[] | Error;
  networksConf?: string;
  interfaces?: HostInterface[];
  takenPorts?: number[];
}

/** Probes answering from `s`, recording what they were asked. */
function probes(s: ProbeSetup = {}) {
  const asked = { providers: [] as Provider[], ports: [] as number[], networksConf: 0 };
  const p: Probes = {
    vagrantVersion: async () => {
      if (s.version instanceof Error) throw s.version;
      return s.version ?? '2.3.4';
    },
    providerUsable: async (provider) => {
      asked.providers.push(provider);
      if (s.provider instanceof Error) throw s.provider;
      return s.provider ?? { ok: true, detail: 'usable' };
    },
    boxes: async () => {
      if (s.boxes instanceof Error) throw s.boxes;
      return s.boxes ?? [];
    },
    vboxNetworksConf: async () => {
      asked.networksConf += 1;
      return s.networksConf;
    },
    interfaces: async () => s.interfaces ?? [{ name: 'eth0', address: '192.0.2.2', prefix: 24 }],
    portFree: async (port) => {
      asked.ports.push(port);
      return !(s.takenPorts ?? []).includes(port);
    },
  };
  return { probes: p, asked };
}

function lab(architecture: Architecture, overrides: LabOverrides = {}): Lab {
  const libvirtBox = overrides.provider === 'libvirt' && !overrides.box ? { box: { name: 'test/flatcar' } } : {};
  return resolveLab({
    document: { name: architecture, spec: { architecture } },
    source: 'test',
    overrides: { subnet: '192.168.58.0/24', ...libvirtBox, ...overrides },
  }).lab;
}

const check = (checks: PreflightCheck[], name: string | RegExp) => {
  const found = checks.find((c) => (typeof name === 'string' ? c.check === name : name.test(c.check)));
  if (!found) throw new Error(`no check ${name} in ${checks.map((c) => c.check).join(', ')}`);
  return found;
};
const failed = (checks: PreflightCheck[]) => checks.filter((c) => !c.ok).map((c) => c.check);

t.test('a host that has everything passes every check', async (t) => {
  const { probes: p, asked } = probes({ boxes: [{ name: 'flatcar-stable', provider: 'virtualbox' }] });
  const checks = await runPreflight(lab('laptop'), p);
  t.same(failed(checks), []);
  t.same(
    checks.map((c) => c.check),
    ['vagrant', 'provider virtualbox', 'subnet allowed by VirtualBox', 'subnet free on this host', 'docker port 2376', 'box flatcar-stable'],
  );
  t.same(asked.providers, ['virtualbox']);
  t.same(asked.ports, [2376], 'the Docker port the Vagrantfile asks for (TLS, the default)');
  t.notOk(checks.some((c) => c.note), 'nothing worth a note');
});

t.test('vagrant missing, or older than 2.2.5', async (t) => {
  const missing = await runPreflight(lab('dev'), probes({ version: new Error('`vagrant` was not found') }).probes);
  const v = check(missing, 'vagrant');
  t.equal(v.ok, false);
  t.match(v.message, /vagrant cannot run: `vagrant` was not found/);
  t.match(v.fix, /install Vagrant/);

  const old = check(await runPreflight(lab('dev'), probes({ version: '2.2.4' }).probes), 'vagrant');
  t.equal(old.ok, false);
  t.match(old.message, /2\.2\.4 is older than 2\.2\.5/);
  t.match(old.fix, /upgrade Vagrant/);

  for (const good of ['2.2.5', '2.3.4', '2.10.0', '3.0.0']) {
    t.equal(check(await runPreflight(lab('dev'), probes({ version: good }).probes), 'vagrant').ok, true, `${good} is recent enough`);
  }
  t.equal(check(await runPreflight(lab('dev'), probes({ version: 'garbage' }).probes), 'vagrant').ok, false, 'an unreadable version fails');
});

t.test('a provider that cannot be used fails with the fix for that provider', async (t) => {
  const cases: [Provider, RegExp][] = [
    ['virtualbox', /install VirtualBox \(VBoxManage must be on PATH\)/],
    ['libvirt', /vagrant-libvirt.*virsh -c qemu:\/\/\/system version/],
    ['parallels', /vagrant plugin install vagrant-parallels/],
  ];
  for (const [provider, fix] of cases) {
    const { probes: p, asked } = probes({ provider: { ok: false, detail: `${provider} is not there` } });
    const c = check(await runPreflight(lab('dev', { provider, box: { name: 'test/flatcar' } }), p), `provider ${provider}`);
    t.equal(c.ok, false, provider);
    t.equal(c.message, `${provider} is not there`);
    t.match(c.fix, fix);
    t.same(asked.providers, [provider], 'the lab\'s provider is the one probed');
  }
  const thrown = check(await runPreflight(lab('dev'), probes({ provider: new Error('VBoxManage is not installed (not on PATH)') }).probes), 'provider virtualbox');
  t.equal(thrown.ok, false, 'a probe that throws is a failure too');
  t.match(thrown.message, /VBoxManage is not installed/);
});

t.test('VirtualBox: the subnet must lie inside 192.168.56.0/21 unless /etc/vbox/networks.conf allows it', async (t) => {
  const outside = lab('dev', { subnet: '10.10.0.0/24' });
  const refused = check(await runPreflight(outside, probes().probes), 'subnet allowed by VirtualBox');
  t.equal(refused.ok, false);
  t.match(refused.message, /refuses host-only network 10\.10\.0\.0\/24: allowed 192\.168\.56\.0\/21/);
  t.match(refused.fix, /--subnet 192\.168\.58\.0\/24.*"\* 10\.10\.0\.0\/24" in \/etc\/vbox\/networks\.conf/);

  const allowed = check(await runPreflight(outside, probes({ networksConf: '# ranges\n* 10.0.0.0/8 192.168.0.0/16\n' }).probes), 'subnet allowed by VirtualBox');
  t.equal(allowed.ok, true, 'networks.conf allows 10.0.0.0/8');
  const stillOut = check(await runPreflight(outside, probes({ networksConf: '* 192.168.56.0/21\n' }).probes), 'subnet allowed by VirtualBox');
  t.equal(stillOut.ok, false, 'a networks.conf that does not cover it');
  const inside = check(await runPreflight(lab('dev', { subnet: '192.168.63.0/24' }), probes().probes), 'subnet allowed by VirtualBox');
  t.equal(inside.ok, true, '192.168.63.0/24 is inside the default range');

  const { probes: p, asked } = probes({ boxes: [{ name: 'test/flatcar', provider: 'libvirt' }] });
  const libvirtChecks = await runPreflight(lab('dev', { provider: 'libvirt', subnet: '10.10.0.0/24' }), p);
  t.notOk(libvirtChecks.some((c) => c.check === 'subnet allowed by VirtualBox'), 'libvirt has no such rule');
  t.equal(asked.networksConf, 0, 'and networks.conf is not read');
  t.same(failed(libvirtChecks), []);
});

t.test('vboxAllowedRanges reads the `*` lines of networks.conf', async (t) => {
  t.same(vboxAllowedRanges(undefined).length, 1);
  t.same(vboxAllowedRanges('* 10.0.0.0/8 192.168.0.0/16\n# * 172.16.0.0/12\n  * 2001::/64 bogus\n').length, 2, 'comments and unreadable words are skipped');
  t.same(vboxAllowedRanges(''), [], 'an empty file allows nothing');
});

t.test('a subnet overlapping a host interface fails, but the lab\'s own host-side .1 does not', async (t) => {
  // docker0's own 172.17.0.0/16 is refused by the lab rules already; a user-defined bridge is not.
  const bridge = { name: 'br-5f2c', address: '172.20.0.1', prefix: 16 };
  const clash = check(
    await runPreflight(lab('dev', { provider: 'libvirt', subnet: '172.20.8.0/24' }), probes({ interfaces: [bridge] }).probes),
    'subnet free on this host',
  );
  t.equal(clash.ok, false);
  t.match(clash.message, '172.20.8.0/24 overlaps br-5f2c (172.20.0.1/16)');
  t.match(clash.fix, /another --subnet/);

  const own = { name: 'vboxnet1', address: '192.168.58.1', prefix: 24 };
  t.equal(check(await runPreflight(lab('dev'), probes({ interfaces: [own] }).probes), 'subnet free on this host').ok, true, 'the lab network of an earlier run');
  const other = { name: 'wlan0', address: '192.168.58.7', prefix: 24 };
  const taken = check(await runPreflight(lab('dev'), probes({ interfaces: [own, other] }).probes), 'subnet free on this host');
  t.equal(taken.ok, false, 'another address in the lab subnet');
  t.match(taken.message, /wlan0/);
  t.notMatch(taken.message, /vboxnet1/);
});

t.test('libvirt: the management network must not clash with a host interface (libvirt\'s own .1 aside)', async (t) => {
  const mgmt = (ifaces: HostInterface[], overrides: LabOverrides = {}) =>
    runPreflight(lab('dev', { provider: 'libvirt', ...overrides }), probes({ interfaces: ifaces }).probes).then((c) => check(c, 'libvirt management network'));
  t.equal((await mgmt([{ name: 'virbr1', address: '192.168.121.1', prefix: 24 }])).ok, true, 'vagrant-libvirt\'s own bridge');
  const clash = await mgmt([{ name: 'eth1', address: '192.168.121.50', prefix: 24 }]);
  t.equal(clash.ok, false);
  t.match(clash.message, '192.168.121.0/24 overlaps eth1 (192.168.121.50/24)');
  t.match(clash.fix, /--libvirt-management-network/);
  t.equal((await mgmt([{ name: 'eth1', address: '192.168.121.50', prefix: 24 }], { libvirt: { managementNetwork: '192.168.122.0/24' } })).ok, true, 'another management network');
  const vb = await runPreflight(lab('dev'), probes({ interfaces: [{ name: 'eth1', address: '192.168.121.50', prefix: 24 }] }).probes);
  t.notOk(vb.some((c) => c.check === 'libvirt management network'), 'VirtualBox labs have no management network');
});

t.test('a Docker port already taken is a passing note (Vagrant moves it), and is not checked on resume', async (t) => {
  const { probes: p, asked } = probes({ takenPorts: [2376] });
  const checks = await runPreflight(lab('laptop'), p);
  const port = check(checks, 'docker port 2376');
  t.equal(port.ok, true);
  t.equal(port.note, true);
  t.match(port.message, /127\.0\.0\.1:2376 is taken: Vagrant will forward another port \(auto_correct\)/);
  t.same(asked.ports, [2376]);

  const resumed = probes({ takenPorts: [2376] });
  const again = await runPreflight(lab('laptop'), resumed.probes, { existing: true });
  t.notOk(again.some((c) => c.check.startsWith('docker port')), 'the port is the lab\'s own by now');
  t.same(resumed.asked.ports, []);
  t.notOk((await runPreflight(lab('dev'), p)).some((c) => c.check.startsWith('docker port')), 'dev exposes no Docker API');
});

t.test('on libvirt a taken Docker port fails: vagrant-libvirt ignores auto_correct', async (t) => {
  const port = check(await runPreflight(lab('laptop', { provider: 'libvirt' }), probes({ takenPorts: [2376] }).probes), 'docker port 2376');
  t.equal(port.ok, false);
  t.match(port.message, /127\.0\.0\.1:2376 is taken, and libvirt does not move forwarded ports/);
  t.match(port.fix, /ss -ltnp/);
  const free = check(await runPreflight(lab('laptop', { provider: 'libvirt' }), probes().probes), 'docker port 2376');
  t.equal(free.ok, true);
});

t.test('the box: installed, missing with a URL (a note), missing without one (a failure with `vagrant box add`)', async (t) => {
  const installed = check(await runPreflight(lab('dev'), probes({ boxes: [{ name: 'flatcar-stable', provider: 'virtualbox' }] }).probes), 'box flatcar-stable');
  t.equal(installed.ok, true);
  t.notOk(installed.note);

  const withUrl = check(await runPreflight(lab('dev'), probes().probes), 'box flatcar-stable');
  t.equal(withUrl.ok, true);
  t.equal(withUrl.note, true);
  t.match(withUrl.message, /Vagrant will add it from https:\/\/stable\.release\.flatcar-linux\.net\//);

  const otherProvider = check(
    await runPreflight(lab('dev', { box: { name: 'mine/flatcar' } }), probes({ boxes: [{ name: 'mine/flatcar', provider: 'libvirt' }] }).probes),
    'box mine/flatcar',
  );
  t.equal(otherProvider.ok, false, 'a box for another provider does not count');
  t.match(otherProvider.message, 'box mine/flatcar is not installed for virtualbox and there is no URL to add it from');
  t.match(otherProvider.fix, 'vagrant box add mine/flatcar <file-or-url> --provider virtualbox');

  const coreos = check(await runPreflight(lab('dev', { os: 'coreos', box: { name: 'coreos-stable' } }), probes().probes), /^box /);
  t.equal(coreos.ok, false);
  t.match(coreos.message, /CoreOS boxes were deleted/);

  const unlisted = check(await runPreflight(lab('dev'), probes({ boxes: new Error('vagrant box list failed') }).probes), /^box /);
  t.equal(unlisted.ok, false);
  t.match(unlisted.fix, /vagrant box list/);
});

t.test('several failures are all reported, each with its fix', async (t) => {
  const checks = await runPreflight(
    lab('laptop', { subnet: '10.1.2.0/24', box: { name: 'nowhere' } }),
    probes({ version: '2.0.0', provider: { ok: false, detail: 'no VBoxManage' } }).probes,
  );
  t.same(failed(checks), ['vagrant', 'provider virtualbox', 'subnet allowed by VirtualBox', 'box nowhere']);
  const e = new PreflightError(checks.filter((c) => !c.ok).map((c) => ({ check: c.check, message: c.message, fix: c.fix ?? '' })));
  t.equal(e.exitCode, 4);
  t.equal(e.message.match(/fix: /g)?.length, 4);
});

function ctxOf(io = memoryIo()): Context & { io: ReturnType<typeof memoryIo> } {
  return { io, env: {}, cwd: process.cwd(), signal: new AbortController().signal };
}

t.test('printPreflight: notes and the tally on stderr, nothing on stdout', async (t) => {
  const ctx = ctxOf();
  printPreflight(await runPreflight(lab('laptop'), probes({ takenPorts: [2376] }).probes), ctx);
  t.equal(ctx.io.stdout, '');
  t.match(ctx.io.stderr, /^! docker port 2376: 127\.0\.0\.1:2376 is taken/m);
  t.match(ctx.io.stderr, /^! box flatcar-stable: not installed yet/m);
  t.match(ctx.io.stderr, /^✓ preflight: 6 checks passed$/m);
  const failing = ctxOf();
  printPreflight(await runPreflight(lab('laptop'), probes({ version: '1.9.0' }).probes), failing);
  t.notMatch(failing.io.stderr, /checks passed/, 'no tally when something failed (the error lists it)');
});

t.test('cclab doctor prints every check with ✓ ! ✗ and the fixes, and fails when one fails', async (t) => {
  const good = ctxOf();
  await doctor({ architecture: 'laptop', overrides: {}, json: false }, good, probes().probes);
  t.match(good.io.stdout, /^Checks for a laptop lab on virtualbox \(subnet 192\.168\.\d+\.0\/24, box flatcar-stable\):$/m);
  t.match(good.io.stdout, /^✓ vagrant: Vagrant 2\.3\.4$/m);
  t.match(good.io.stdout, /^! box flatcar-stable: not installed yet/m);

  const bad = ctxOf();
  const e = await doctor({ architecture: 'dev', overrides: { subnet: '10.9.9.0/24' }, json: false }, bad, probes().probes).catch((e: unknown) => e);
  t.type(e, PreflightError);
  t.match(bad.io.stdout, /^✗ subnet allowed by VirtualBox: .*\n {4}fix: pick a \/24 inside 192\.168\.56\.0\/21/m);

  const json = ctxOf();
  await t.rejects(doctor({ architecture: 'laptop', overrides: {}, json: true }, json, probes({ takenPorts: [], version: new Error('gone') }).probes), PreflightError);
  const doc = JSON.parse(json.io.stdout) as { ok: boolean; checks: PreflightCheck[] };
  t.equal(doc.ok, false);
  t.equal(doc.checks.find((c) => c.check === 'vagrant')?.ok, false);
});
