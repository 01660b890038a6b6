/**
 * Ignition output: every architecture × option rendered as Ignition passes the real
 * `ignition-validate` and cclab's own validator; every unit in it passes `systemd-analyze verify`;
 * the Ignition and the cloud-config of a machine carry the same units, drop-ins, files and keys
 * (compared as data); matchbox directories match matchbox's documented formats; the format a target
 * gets, and the combinations that are refused.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { UnsupportedCombinationError, UsageError } from '../../src/errors.js';
import type { LabOverrides } from '../../src/lab/resolve.js';
import type { Architecture, Lab } from '../../src/lab/types.js';
import type { IgnitionConfig } from '../../src/render/ignition.js';
import type { RenderPlan } from '../../src/render/plan.js';
import { buildProvision, provisioningFor, updateConf } from '../../src/render/provision.js';
import { validateIgnition } from '../../src/validate/ignition.js';
import {
  ARCHS,
  environmentOf,
  ignitionFiles,
  ignitionUnitsOf,
  missingTool,
  parseCloudConfig,
  parseIgnition,
  plan,
  pool,
  prepareVerifyRoot,
  REPO,
  resolveBuiltin,
  run,
  systemdVerify,
  TEST_LAB_KEY,
  type UnitFile,
} from '../helpers/render.js';

const FLEETD = join(REPO, 'test/fixtures/labs/bin/fleetd');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0Yk9vJ1wX0mZ2yqkq3Xb2yM1J0p8q3b4c5d6e7f8g lab@cclab';
const ivMissing = await missingTool('ignition-validate');
const systemdMissing = await missingTool('systemd-analyze');
const MATCHBOX = 'http://matchbox.example:8080';

interface Variant {
  label: string;
  overrides: LabOverrides;
  target: 'bare-metal' | 'matchbox';
  /** Give every machine a MAC (matchbox needs them). */
  macs?: boolean;
}

const VARIANTS: Variant[] = [
  { label: 'defaults', overrides: {}, target: 'bare-metal' },
  { label: 'docker-tcp', overrides: { dockerTcp: true, metadata: { zone: 'eu-1' } }, target: 'bare-metal' },
  {
    label: 'update groups',
    overrides: { update: { servicesGroup: 'beta-ring', workersGroup: 'canary', server: 'https://nebraska.example/v1/update/', rebootStrategy: 'reboot' } },
    target: 'bare-metal',
  },
  { label: 'fleetd upload', overrides: { fleet: { localFile: FLEETD } }, target: 'bare-metal' },
  { label: 'fleet sha256, etcd version', overrides: { fleet: { sha256: 'c'.repeat(64) }, etcd: { version: '3.5.17' } }, target: 'bare-metal' },
  { label: 'bare-metal network', overrides: { subnet: '10.0.0.0/24', gateway: '10.0.0.254', dns: ['10.0.0.2', '10.0.0.3'] }, target: 'bare-metal', macs: true },
  { label: 'matchbox', overrides: { subnet: '10.0.0.0/24', dockerTcp: true }, target: 'matchbox', macs: true },
  { label: 'plain docker', overrides: { dockerTcp: true, docker: { tls: false } }, target: 'bare-metal' },
];

function macsFor(lab: Lab): Record<string, string> {
  return Object.fromEntries(lab.machines.map((m, i) => [m.name, `52:54:00:aa:${String(Math.floor(i / 100)).padStart(2, '0')}:${String(i % 100).padStart(2, '0')}`]));
}

async function labOf(arch: Architecture, v: Variant, extra: LabOverrides = {}): Promise<Lab> {
  const resolve = async (o: LabOverrides) => (await resolveBuiltin(arch, { ...v.overrides, ...extra, ...o }, { sshKeys: [{ source: 'lab.pub', content: KEY }] })).lab;
  const lab = await resolve({});
  return v.macs ? resolve({ macs: macsFor(lab) }) : lab;
}

const rendered = await Promise.all(
  ARCHS.flatMap((arch) =>
    VARIANTS.map(async (v) => {
      const lab = await labOf(arch, v);
      return { arch, v, lab, plan: plan(lab, v.target, MATCHBOX) };
    }),
  ),
);
const ignitionFilesOf = (p: RenderPlan) => p.files.filter((f) => f.kind === 'ignition');

t.test('bare-metal and matchbox default to Ignition; Vagrant and legacy CoreOS to cloud-config', async (t) => {
  const flatcar = await labOf('dev', VARIANTS[0]!);
  t.equal(provisioningFor(flatcar, 'vagrant'), 'cloud-config');
  t.equal(provisioningFor(flatcar, 'bare-metal'), 'ignition');
  t.equal(provisioningFor(flatcar, 'matchbox'), 'ignition');
  const coreos = await labOf('dev', VARIANTS[0]!, { os: 'coreos' });
  t.equal(provisioningFor(coreos, 'bare-metal'), 'cloud-config');
  t.equal(provisioningFor({ ...flatcar, provisioning: 'cloud-config' }, 'bare-metal'), 'cloud-config', 'cloud-config on bare metal when asked');
  for (const r of rendered) {
    t.equal(r.plan.provisioning, 'ignition', `${r.arch} ${r.v.label}`);
    t.equal(ignitionFilesOf(r.plan).length, r.lab.machines.length, `${r.arch} ${r.v.label}: one .ign per machine`);
    t.notOk(r.plan.files.some((f) => f.kind === 'user-data' || f.kind === 'vagrantfile'), 'no cloud-config, no Vagrantfile');
  }
});

t.test('impossible combinations are typed errors naming the combination and what to use', async (t) => {
  const lab = await labOf('small', VARIANTS[0]!);
  const cases: [Lab, 'vagrant' | 'bare-metal' | 'matchbox', Record<string, string>, RegExp, RegExp][] = [
    [{ ...lab, provisioning: 'ignition', provider: 'virtualbox' }, 'vagrant', { provisioning: 'ignition', provider: 'virtualbox' }, /1024 bytes/, /cloud-config/],
    [{ ...lab, provisioning: 'ignition', provider: 'parallels' }, 'vagrant', { provisioning: 'ignition', provider: 'parallels' }, /1024 bytes/, /cloud-config/],
    [{ ...lab, provisioning: 'ignition', os: 'coreos' }, 'bare-metal', { provisioning: 'ignition', os: 'coreos' }, /spec 2\.x/, /--os flatcar/],
    [{ ...lab, provisioning: 'cloud-config' }, 'matchbox', { target: 'matchbox', provisioning: 'cloud-config' }, /matchbox serves Ignition/, /bare-metal/],
    [{ ...lab, os: 'coreos' }, 'matchbox', { target: 'matchbox', os: 'coreos' }, /Flatcar with Ignition/, /bare-metal/],
  ];
  for (const [l, target, combination, message, hint] of cases) {
    try {
      provisioningFor(l, target);
      t.fail(`${JSON.stringify(combination)} accepted`);
    } catch (e) {
      t.type(e, UnsupportedCombinationError, JSON.stringify(combination));
      const err = e as UnsupportedCombinationError;
      t.same(err.combination, combination);
      t.match(err.message, message);
      t.match(err.hint, hint);
      t.equal(err.exitCode, 2, 'a usage error');
    }
  }
});

t.test('matchbox: missing MACs are an error listing the machines; --matchbox-url is required', async (t) => {
  const lab = await labOf('dev', VARIANTS[0]!);
  t.throws(() => plan(lab, 'matchbox', MATCHBOX), UsageError);
  t.throws(() => plan(lab, 'matchbox', MATCHBOX), { message: 'matchbox selects machines by MAC address, and these machines have none: etcd-01, worker-01, worker-02', hint: /--macs FILE/ });
  const partial = (await resolveBuiltin('dev', { macs: { 'worker-01': '52:54:00:00:00:01' } })).lab;
  t.throws(() => plan(partial, 'matchbox', MATCHBOX), /these machines have none: etcd-01, worker-02$/);
  const full = await labOf('dev', VARIANTS[6]!);
  t.throws(() => plan(full, 'matchbox'), /needs --matchbox-url/);
});

t.test('ignition-validate accepts every rendered config, and cclab validate agrees', { skip: ivMissing }, async (t) => {
  const dir = t.testdir({});
  // Machines of one role differ only in addresses and names: check each distinct config shape once
  // with ignition-validate (a process each), and every config with cclab's own validator.
  const jobs: { label: string; path: string }[] = [];
  const seen = new Set<string>();
  for (const r of rendered) {
    for (const f of ignitionFilesOf(r.plan)) {
      const label = `${r.arch} ${r.v.label} ${f.machine}`;
      t.same(validateIgnition(f.content), [], `${label}: cclab validate finds nothing`, { diagnostic: false });
      const shape = createHash('sha256').update(f.content.replace(/[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[a-z]+-0[0-9]/g, '')).digest('hex');
      if (seen.has(shape)) continue;
      seen.add(shape);
      const path = join(dir, `${jobs.length}.ign`);
      writeFileSync(path, f.content);
      jobs.push({ label, path });
    }
  }
  t.ok(jobs.length >= 28, `${jobs.length} distinct configs`);
  const results = await pool(jobs, 2, (j) => run('ignition-validate', [j.path]));
  for (const [i, j] of jobs.entries()) {
    const r = results[i]!;
    t.equal(r.code, 0, `${j.label}: ignition-validate exits 0`, { output: r.stdout + r.stderr });
    t.equal((r.stdout + r.stderr).trim(), '', `${j.label}: not even a warning`);
  }
});

t.test('systemd-analyze verify accepts every unit and drop-in of every Ignition config', { skip: systemdMissing }, async (t) => {
  const root = t.testdir({});
  const seen = new Set<string>();
  const jobs: { label: string; units: UnitFile[] }[] = [];
  for (const r of rendered) {
    for (const f of ignitionFilesOf(r.plan)) {
      const units = ignitionUnitsOf(parseIgnition(f.content));
      const key = createHash('sha256').update(JSON.stringify(units)).digest('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      jobs.push({ label: `${r.arch} ${r.v.label} ${f.machine}`, units });
    }
  }
  const roots = [0, 1].map((i) => prepareVerifyRoot(join(root, `root-${i}`)));
  const results = await pool(jobs, 2, (j, slot) => systemdVerify(roots[slot]!, j.units));
  const names = new Set<string>();
  for (const [i, j] of jobs.entries()) {
    const res = results[i]!;
    res.verified.forEach((n) => names.add(n));
    const output = (res.stdout + res.stderr).trim();
    t.equal(res.code, 0, `${j.label}: systemd-analyze verify ${res.verified.join(' ')}`, { output });
    t.equal(output, '', `${j.label}: nothing said`);
  }
  t.same([...names].sort(), ['docker-tcp.socket', 'docker-tls-tcp.socket', 'etcd-member.service', 'fleet-install.service', 'fleet.service', 'locksmithd.service'], 'every kind of unit');
});

/** A machine's cloud-config and Ignition, reduced to the same data. */
function asData(lab: Lab, machine: string, target: 'bare-metal') {
  const m = lab.machines.find((x) => x.name === machine)!;
  const ccLab = { ...lab, provisioning: 'cloud-config' as const };
  const cc = parseCloudConfig(plan(ccLab, target).files.find((f) => f.machine === machine)!.content);
  const ign: IgnitionConfig = parseIgnition(plan(lab, target).files.find((f) => f.machine === machine)!.content);
  return { m, cc, ign };
}

t.test('the Ignition and the cloud-config of a machine carry the same units, drop-ins, files and keys', async (t) => {
  for (const arch of ARCHS) {
    for (const v of VARIANTS.filter((x) => x.target === 'bare-metal')) {
      const lab = await labOf(arch, v);
      for (const machine of lab.machines.map((m) => m.name)) {
        const { m, cc, ign } = asData(lab, machine, 'bare-metal');
        const label = `${arch} ${v.label} ${machine}`;
        // Keys and hostname.
        // Ignition adds the lab's own key (cclab makes it beside the files) before the lab's sshKeys.
        t.same(ign.passwd.users, [{ name: 'core', sshAuthorizedKeys: [TEST_LAB_KEY, ...(cc.ssh_authorized_keys ?? [])] }], `${label}: core's keys`);
        const files = ignitionFiles(ign);
        t.equal(files.get('/etc/hostname')?.contents, `${cc.hostname}\n`, `${label}: hostname`);
        // Units: what cloud-config enables is enabled; contents and drop-ins identical. The unit that
        // restarts Docker on a running system has no place in Ignition (the socket is enabled at boot).
        const ccUnits = cc.coreos.units
          .filter((u) => u.name !== '00-eth0.network' && u.name !== 'enable-docker-tcp.service' && u.name !== 'enable-docker-tls-tcp.service')
          .map((u) => ({ name: u.name, enabled: u.enable === true, contents: u.content, dropins: u.drop_ins ?? [] }));
        const ignUnits = ign.systemd.units
          .filter((u) => u.name !== 'locksmithd.service')
          .map((u) => ({ name: u.name, enabled: u.enabled === true, contents: u.contents, dropins: (u.dropins ?? []).map((d) => ({ name: d.name, content: d.contents })) }));
        t.same(ignUnits, ccUnits, `${label}: units and drop-ins`);
        // Files: write_files, byte for byte, with the same mode.
        for (const f of cc.write_files ?? []) {
          t.same(files.get(f.path), { mode: parseInt(f.permissions, 8), contents: f.content }, `${label}: ${f.path}`);
        }
        // coreos.update / coreos.locksmith as the files coreos-cloudinit would write.
        if (cc.coreos.update) {
          const u = cc.coreos.update as Record<string, string>;
          t.equal(files.get('/etc/flatcar/update.conf')?.contents, updateConf({ group: u.group!, server: u.server, rebootStrategy: u.reboot_strategy }), `${label}: update.conf`);
        } else t.notOk(files.has('/etc/flatcar/update.conf'), `${label}: no update.conf`);
        const locksmith = ign.systemd.units.find((u) => u.name === 'locksmithd.service');
        if (cc.coreos.locksmith) {
          t.equal(environmentOf(locksmith?.dropins?.[0]?.contents ?? '').get('LOCKSMITHD_ENDPOINT'), (cc.coreos.locksmith as { endpoint: string }).endpoint, `${label}: locksmith endpoint`);
        } else t.equal(locksmith, undefined, `${label}: no locksmith settings`);
        // The network: the same address, gateway and DNS; matched by MAC when the MAC is known.
        const net = files.get('/etc/systemd/network/00-cclab.network')!.contents;
        const ccNet = cc.coreos.units.find((u) => u.name === '00-eth0.network')!.content!;
        t.equal(net.replace(/^MACAddress=.*$/m, 'Name=eth0'), ccNet, `${label}: the same network settings`);
        t.match(net, m.macGiven ? `MACAddress=${m.mac}` : 'Name=eth0', `${label}: matched by ${m.macGiven ? 'MAC' : 'name'}`);
        // Nothing else: every Ignition file is accounted for.
        const expected = new Set(['/etc/hostname', '/etc/systemd/network/00-cclab.network', ...(cc.write_files ?? []).map((f) => f.path)]);
        if (cc.coreos.update) expected.add('/etc/flatcar/update.conf');
        if (lab.fleet.localFile !== undefined && m.fleet) expected.add('/opt/bin/fleetd');
        t.same([...files.keys()].sort(), [...expected].sort(), `${label}: no other files`);
      }
    }
  }
});

t.test('a local fleetd travels inside the Ignition, gzipped', async (t) => {
  const lab = await labOf('small', VARIANTS[3]!);
  const ign = parseIgnition(plan(lab, 'bare-metal').files[0]!.content);
  const f = ign.storage.files.find((x) => x.path === '/opt/bin/fleetd')!;
  t.equal(f.mode, 0o755);
  t.equal(f.contents.compression, 'gzip');
  const { gunzipSync } = await import('node:zlib');
  const { readFileSync } = await import('node:fs');
  t.same(gunzipSync(Buffer.from(f.contents.source.replace(/^data:;base64,/, ''), 'base64')), readFileSync(FLEETD), 'the exact file');
  t.notOk(ign.storage.files.some((x) => x.path === '/opt/cclab/install-fleetd.sh'), 'nothing to download');
});

t.test('etcd-member is pinned in Ignition as in cloud-config', async (t) => {
  for (const [o, tag] of [
    [{}, 'v3.5.16'],
    [{ etcd: { version: '3.5.17' } }, 'v3.5.17'],
  ] as const) {
    const lab = await labOf('production', VARIANTS[0]!, o);
    for (const f of ignitionFilesOf(plan(lab, 'bare-metal'))) {
      const u = parseIgnition(f.content).systemd.units.find((x) => x.name === 'etcd-member.service')!;
      t.equal(u.enabled, true);
      t.equal(environmentOf(u.dropins![0]!.contents).get('ETCD_IMAGE_TAG'), tag, `${f.machine}: ${tag}`);
    }
  }
});

/* ------------------------------------------------------------------------------------ matchbox */

interface MatchboxProblem {
  file: string;
  problem: string;
}

/**
 * A matchbox data directory checked against matchbox's documented formats (docs/matchbox.md,
 * docs/ignition.md, examples/profiles/flatcar.json): every group has an id, a profile that exists and
 * a MAC selector; every profile has an id, Flatcar's PXE kernel and initrd, flatcar.first_boot=yes,
 * flatcar.config.url at the /ignition endpoint, and an ignition_id that exists under ignition/.
 */
function matchboxProblems(files: Map<string, string>, matchboxUrl: string): MatchboxProblem[] {
  const problems: MatchboxProblem[] = [];
  const bad = (file: string, problem: string) => problems.push({ file, problem });
  const profiles = new Map<string, Record<string, unknown>>();
  for (const [path, content] of files) {
    const m = /^profiles\/([^/]+)\.json$/.exec(path);
    if (!m) continue;
    const p = JSON.parse(content) as Record<string, unknown>;
    const allowed = ['id', 'name', 'boot', 'ignition_id', 'cloud_id', 'generic_id'];
    for (const k of Object.keys(p)) if (!allowed.includes(k)) bad(path, `unknown profile field ${k}`);
    if (p.id !== m[1]) bad(path, 'id is not the file name');
    const boot = p.boot as { kernel?: unknown; initrd?: unknown; args?: unknown } | undefined;
    if (typeof boot?.kernel !== 'string' || !/\/flatcar_production_pxe\.vmlinuz$/.test(boot.kernel)) bad(path, 'no Flatcar PXE kernel');
    if (!Array.isArray(boot?.initrd) || !boot.initrd.some((i) => typeof i === 'string' && /\/flatcar_production_pxe_image\.cpio\.gz$/.test(i))) bad(path, 'no Flatcar PXE initrd');
    const args = Array.isArray(boot?.args) ? (boot.args as string[]) : [];
    if (!args.includes('flatcar.first_boot=yes')) bad(path, 'no flatcar.first_boot=yes');
    if (!args.includes(`flatcar.config.url=${matchboxUrl}/ignition?uuid=\${uuid}&mac=\${mac:hexhyp}`)) bad(path, 'no flatcar.config.url at matchbox’s /ignition endpoint');
    if (typeof p.ignition_id !== 'string' || !/\.ign$/.test(p.ignition_id)) bad(path, 'no ignition_id ending in .ign');
    else if (!files.has(`ignition/${p.ignition_id}`)) bad(path, `ignition_id ${p.ignition_id} is not under ignition/`);
    else if (validateIgnition(files.get(`ignition/${p.ignition_id}`)!).some((d) => d.severity === 'error')) bad(path, 'its Ignition is invalid');
    profiles.set(m[1]!, p);
  }
  const macs = new Map<string, string>();
  let groups = 0;
  for (const [path, content] of files) {
    const m = /^groups\/([^/]+)\.json$/.exec(path);
    if (!m) continue;
    groups++;
    const g = JSON.parse(content) as Record<string, unknown>;
    for (const k of Object.keys(g)) if (!['id', 'name', 'profile', 'selector', 'metadata'].includes(k)) bad(path, `unknown group field ${k}`);
    if (g.id !== m[1]) bad(path, 'id is not the file name');
    if (typeof g.profile !== 'string' || !profiles.has(g.profile)) bad(path, `profile ${String(g.profile)} does not exist`);
    const selector = g.selector as Record<string, unknown> | undefined;
    if (typeof selector?.mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(selector.mac)) bad(path, 'no MAC selector (a group without selectors matches every machine)');
    else if (macs.has(selector.mac)) bad(path, `MAC ${selector.mac} is also ${macs.get(selector.mac)}'s`);
    else macs.set(selector.mac, path);
    if (g.metadata !== undefined && (typeof g.metadata !== 'object' || g.metadata === null)) bad(path, 'metadata is not an object');
  }
  if (groups === 0) bad('groups/', 'no groups');
  return problems;
}

t.test('matchbox output follows matchbox’s formats; a missing selector, profile or Ignition is caught', async (t) => {
  for (const r of rendered.filter((x) => x.v.target === 'matchbox')) {
    const files = new Map(r.plan.files.map((f) => [f.path, f.content]));
    t.same(matchboxProblems(files, MATCHBOX), [], `${r.arch}: a valid matchbox data directory`);
    for (const m of r.lab.machines) {
      t.ok(files.has(`profiles/${m.name}.json`) && files.has(`groups/${m.name}.json`) && files.has(`ignition/${m.name}.ign`), `${r.arch} ${m.name}: profile, group, Ignition`);
      t.equal((JSON.parse(files.get(`groups/${m.name}.json`)!) as { selector: { mac: string } }).selector.mac, m.mac, `${m.name}: selected by its MAC`);
    }
  }
  const r = rendered.find((x) => x.v.target === 'matchbox' && x.arch === 'dev')!;
  const good = new Map(r.plan.files.map((f) => [f.path, f.content]));
  const broken = (edit: (files: Map<string, string>) => void) => {
    const copy = new Map(good);
    edit(copy);
    return matchboxProblems(copy, MATCHBOX).map((p) => p.problem);
  };
  const group = JSON.parse(good.get('groups/worker-01.json')!) as Record<string, unknown>;
  t.match(broken((f) => f.set('groups/worker-01.json', JSON.stringify({ ...group, selector: {} }))), [/no MAC selector/], 'a group without a selector');
  t.match(broken((f) => f.delete('profiles/worker-01.json')), [/profile worker-01 does not exist/], 'a missing profile');
  t.match(broken((f) => f.delete('ignition/worker-01.ign')), [/ignition_id worker-01\.ign is not under ignition/], 'a missing Ignition');
  t.match(
    broken((f) => f.set('profiles/worker-01.json', f.get('profiles/worker-01.json')!.replace('flatcar.first_boot=yes', 'x'))),
    [/first_boot/],
    'a profile that would not run Ignition',
  );
});

/* ------------------------------------------------------------------------------------ hostile values */

t.test('hostile values reach Ignition only as data: no extra users, units or files', async (t) => {
  const hostile: LabOverrides[] = [
    { metadata: { zone: 'a"},{"name":"evil.service' } },
    { metadata: { 'a\nb': 'c' } },
    { fleet: { url: 'https://x.example/f.tgz"}],"passwd":{"users":[{"name":"root"}]},"x":[{"' } },
    { fleet: { url: 'https://x.example/%0A[Service]%0AExecStart=/bin/sh' } },
    { update: { server: 'https://u.example/"\nGROUP=evil' } },
    { update: { group: 'g\nSERVER=http://evil' } },
    { discovery: 'https://d.example/"\n[Install]' },
    { macs: { 'etcd-01': '52:54:00:00:00:01\n[Match]' } },
    { macs: { '../../etc/passwd': '52:54:00:00:00:01' } },
    { etcd: { version: '3.5.16"\nExecStartPre=/bin/sh' } },
    { name: 'x","mode":2559,"path":"/etc/shadow' },
  ];
  const refused = [];
  for (const o of hostile) {
    let lab: Lab;
    try {
      lab = (await resolveBuiltin('dev', o)).lab;
    } catch {
      refused.push(o);
      continue;
    }
    for (const f of ignitionFilesOf(plan(lab, 'bare-metal'))) {
      const ign = parseIgnition(f.content);
      t.same(ign.passwd.users.map((u) => u.name), ['core'], `${JSON.stringify(o)}: one user`);
      t.same(
        ign.systemd.units.map((u) => u.name),
        ['etcd-member.service', 'fleet-install.service', 'fleet.service'],
        `${JSON.stringify(o)}: only cclab's units`,
      );
      t.same(
        ign.storage.files.map((x) => x.path),
        ['/etc/hostname', '/etc/systemd/network/00-cclab.network', '/opt/cclab/install-fleetd.sh'],
        `${JSON.stringify(o)}: only cclab's files`,
      );
      for (const u of ign.systemd.units) for (const d of u.dropins ?? []) t.notMatch(d.contents, /^\[(Install|Unit)\]|^ExecStart/m, 'no directive injected');
      t.same(validateIgnition(f.content).filter((d) => d.severity === 'error'), [], 'valid');
    }
  }
  t.equal(refused.length, hostile.length - 1, 'every value that could break out is refused by the lab rules');
});

t.test('the serialiser refuses names and paths that are not cclab’s shapes', async (t) => {
  const { ignitionOf } = await import('../../src/render/ignition.js');
  const lab = await labOf('small', VARIANTS[0]!);
  const p = buildProvision(lab, lab.machines[0]!, 'bare-metal');
  t.throws(() => ignitionOf({ ...p, files: [{ path: '/etc/../shadow', mode: 0o644, contents: '' }] }), /refusing to write the path/);
  t.throws(() => ignitionOf({ ...p, files: [{ path: 'etc/x', mode: 0o644, contents: '' }] }), /refusing to write the path/);
  t.throws(() => ignitionOf({ ...p, units: [{ ...p.units[0]!, name: 'x.service/../y' }] }), /refusing the unit name/);
  t.throws(() => ignitionOf({ ...p, units: [{ ...p.units[0]!, dropIns: [{ name: '../x.conf', contents: '' }] }] }), /refusing the drop-in name/);
  t.throws(() => ignitionOf({ ...p, files: [{ path: '/x', mode: 0o17777, contents: '' }] }), /bad mode/);
});

t.test('Docker with TLS in Ignition: the server’s files (key 0600), daemon.json, the 2376 socket enabled; no restart unit', { skip: ivMissing }, async (t) => {
  const lab = await labOf('laptop', VARIANTS[0]!);
  const text = plan(lab, 'bare-metal').files[0]!.content;
  const ign = parseIgnition(text);
  const files = ignitionFiles(ign);
  t.same(
    ['/etc/docker/tls/ca.pem', '/etc/docker/tls/server.pem', '/etc/docker/tls/server-key.pem', '/etc/docker/daemon.json'].map((p) => [p, files.get(p)?.mode]),
    [
      ['/etc/docker/tls/ca.pem', 0o644],
      ['/etc/docker/tls/server.pem', 0o644],
      ['/etc/docker/tls/server-key.pem', 0o600],
      ['/etc/docker/daemon.json', 0o644],
    ],
  );
  t.match(files.get('/etc/docker/tls/server-key.pem')?.contents, /TEST-SERVER-KEY-core-01/);
  t.same(JSON.parse(files.get('/etc/docker/daemon.json')!.contents), {
    tlsverify: true,
    tlscacert: '/etc/docker/tls/ca.pem',
    tlscert: '/etc/docker/tls/server.pem',
    tlskey: '/etc/docker/tls/server-key.pem',
  });
  const socket = ign.systemd.units.find((u) => u.name === 'docker-tls-tcp.socket');
  t.equal(socket?.enabled, true);
  t.match(socket?.contents, /^ListenStream=2376$/m);
  t.notOk(ign.systemd.units.some((u) => u.name.startsWith('enable-docker') || u.name === 'docker-tcp.socket'), 'no restart unit, no plain socket');
  const path = join(t.testdir({}), 'laptop.ign');
  writeFileSync(path, text);
  const r = await run('ignition-validate', [path]);
  t.equal(r.code, 0, 'ignition-validate accepts it', { output: r.stdout + r.stderr });
  t.same(validateIgnition(text).filter((d) => d.severity === 'error'), [], 'cclab validate agrees');
  // The plain opt-out: the guide's socket, no TLS files.
  const plain = parseIgnition(plan(await labOf('laptop', VARIANTS[0]!, { docker: { tls: false } }), 'bare-metal').files[0]!.content);
  t.ok(plain.systemd.units.some((u) => u.name === 'docker-tcp.socket' && u.enabled));
  t.notOk([...ignitionFiles(plain).keys()].some((p) => p.startsWith('/etc/docker/')));
});
