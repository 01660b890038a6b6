/**
 * Rendered files handed to the real tools: every Vagrantfile parsed by Ruby and loaded by Vagrant
 * (libvirt picked by default here; VirtualBox with provider blocks ignored), every unit of every
 * cloud-config checked by `systemd-analyze verify`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { LabOverrides } from '../../src/lab/resolve.js';
import { ensureLabKey } from '../../src/home/lab-key.js';
import type { Architecture, OsName } from '../../src/lab/types.js';
import type { Target } from '../../src/render/cloudconfig.js';
import {
  builtinLab,
  COMBOS,
  missingTool,
  parseCloudConfig,
  plan,
  pool,
  prepareVerifyRoot,
  REPO,
  run,
  systemdVerify,
  unitsOf,
  vagrantValidate,
  writePlan,
} from '../helpers/render.js';

const FLEETD = join(REPO, 'test/fixtures/labs/bin/fleetd');
// When CI=true these are false even if the tool is missing: the tests run and fail.
const rubyMissing = await missingTool('ruby');
const vagrantMissing = await missingTool('vagrant');
const systemdMissing = await missingTool('systemd-analyze');

interface Variant {
  label: string;
  arch: Architecture;
  os: OsName;
  overrides: LabOverrides;
  target: Target;
}

/** Default options for every architecture × OS, plus the options that change the files most. */
const VARIANTS: Variant[] = [
  ...COMBOS.map(({ arch, os }) => ({ label: `${arch}-${os}`, arch, os, overrides: { os }, target: 'vagrant' as const })),
  ...COMBOS.filter((c) => c.arch !== 'laptop').map(({ arch, os }) => ({
    label: `${arch}-${os}-options`,
    arch,
    os,
    overrides: {
      os,
      dockerTcp: true,
      metadata: { zone: 'eu-1' },
      libvirt: { driver: 'qemu' as const },
      fleet: { localFile: FLEETD },
      update: { server: 'https://nebraska.example/v1/update/' },
    },
    target: 'vagrant' as const,
  })),
  {
    label: 'production-flatcar-sha256',
    arch: 'production',
    os: 'flatcar',
    overrides: { fleet: { sha256: 'c'.repeat(64) }, update: { group: 'canary', rebootStrategy: 'off' } },
    target: 'vagrant',
  },
  // The guide's plain Docker socket on 2375 (--no-docker-tls).
  { label: 'laptop-flatcar-plain-docker', arch: 'laptop', os: 'flatcar', overrides: { docker: { tls: false } }, target: 'vagrant' },
  // Flatcar's own image on libvirt: Ignition through fw_cfg, user core with the lab's own key.
  { label: 'dev-flatcar-libvirt-ignition', arch: 'dev', os: 'flatcar', overrides: { provider: 'libvirt', workers: 1 }, target: 'vagrant' },
  ...(['flatcar', 'coreos'] as const).map((os) => ({
    label: `dev-${os}-bare-metal`,
    arch: 'dev' as const,
    os,
    overrides: { os, provisioning: 'cloud-config' as const, subnet: '10.0.0.0/24', dns: ['10.0.0.2', '10.0.0.3'] },
    target: 'bare-metal' as const,
  })),
];

async function renderAll(root: string) {
  return Promise.all(
    VARIANTS.map(async (v) => {
      const lab = await builtinLab(v.arch, v.overrides);
      const p = plan(lab, v.target);
      const dir = join(root, v.label);
      await writePlan(dir, p);
      // Vagrant checks that config.ssh.private_key_path exists: the key `up` would have made.
      if (p.provisioning === 'ignition' && v.target === 'vagrant') await ensureLabKey(dir, `cclab lab ${lab.name}`);
      return { ...v, lab, plan: p, dir };
    }),
  );
}

t.test('ruby -c accepts every Vagrantfile', { skip: rubyMissing }, async (t) => {
  const rendered = (await renderAll(t.testdir({}))).filter((r) => r.target === 'vagrant');
  t.equal(rendered.length, 17);
  for (const r of rendered) {
    const res = await run('ruby', ['-c', join(r.dir, 'Vagrantfile')]);
    t.equal(res.code, 0, `${r.label}: ruby -c exit status`);
    t.equal(res.stdout.trim(), 'Syntax OK', `${r.label}: Syntax OK`);
    t.equal(res.stderr, '', `${r.label}: no warnings`);
  }
});

t.test('vagrant validate loads every Vagrantfile (libvirt here; VirtualBox without its provider block)', { skip: vagrantMissing }, async (t) => {
  const root = t.testdir({});
  const rendered = (await renderAll(join(root, 'labs'))).filter(
    (r) => COMBOS.some((c) => r.label === `${c.arch}-${c.os}`) || r.label === 'dev-flatcar-options' || r.label === 'dev-flatcar-libvirt-ignition',
  );
  t.equal(rendered.length, 10, 'every architecture × OS at defaults, one with every option, one with Ignition on libvirt');
  const homes = [0, 1].map((i) => {
    const h = join(root, `vagrant-home-${i}`);
    mkdirSync(h, { recursive: true });
    return h;
  });
  // Both modes for every architecture × OS; the all-options file differs only in provider settings
  // and provisioners, which the default (libvirt) mode checks.
  const runs = rendered.flatMap((r) =>
    (r.label.endsWith('-options') || r.lab.provider === 'libvirt' ? (['default'] as const) : (['default', 'virtualbox'] as const)).map((mode) => ({ r, mode })),
  );
  t.equal(runs.length, 18);
  const results = await pool(runs, 2, ({ r, mode }, slot) => vagrantValidate(r.dir, mode, homes[slot]!));
  for (const [i, { r, mode }] of runs.entries()) {
    const res = results[i]!;
    const what = `${r.label}: ${mode === 'default' ? 'vagrant validate' : 'VAGRANT_DEFAULT_PROVIDER=virtualbox vagrant validate -p'}`;
    t.equal(res.code, 0, `${what} exits 0`, { stdout: res.stdout, stderr: res.stderr });
    t.match(res.stdout, /Vagrantfile validated successfully\./, `${what}: validated`);
    t.notMatch(res.stdout + res.stderr, /There are errors|shouldn't exist/, `${what}: no errors`);
  }
});

t.test('vagrant validate is a real check: a missing user-data file or a misspelt libvirt setting fails it', { skip: vagrantMissing }, async (t) => {
  const root = t.testdir({ home: {} });
  const lab = await builtinLab('small');
  const p = plan(lab);
  const noUserData = { ...p, files: p.files.filter((f) => f.path !== 'user-data/core-02.yaml') };
  const typo = { ...p, files: p.files.map((f) => (f.kind === 'vagrantfile' ? { ...f, content: f.content.replace('lv.memory =', 'lv.memroy =') } : f)) };
  await writePlan(join(root, 'missing'), noUserData);
  await writePlan(join(root, 'typo'), typo);
  const [missing, misspelt] = await Promise.all([
    vagrantValidate(join(root, 'missing'), 'virtualbox', join(root, 'home')),
    vagrantValidate(join(root, 'typo'), 'default', join(root, 'home')),
  ]);
  t.not(missing!.code, 0, 'the file provisioner’s source must exist');
  t.match(missing!.stdout + missing!.stderr, /core-02\.yaml/);
  t.not(misspelt!.code, 0, 'a misspelt libvirt setting is refused');
  t.match(misspelt!.stdout + misspelt!.stderr, /memroy/);
  // An Ignition lab logs in with its own key: without the key file, Vagrant refuses the Vagrantfile.
  await writePlan(join(root, 'nokey'), plan(await builtinLab('dev', { provider: 'libvirt', workers: 1 })));
  const nokey = await vagrantValidate(join(root, 'nokey'), 'default', join(root, 'home'));
  t.not(nokey.code, 0, 'private_key_path must exist');
  t.match(nokey.stdout + nokey.stderr, /id_ed25519/);
});

t.test('systemd-analyze verify accepts every unit and drop-in of every cloud-config', { skip: systemdMissing }, async (t) => {
  const root = t.testdir({});
  const rendered = await renderAll(join(root, 'labs'));
  // Machines of one role share their units but for addresses: verify each distinct set once.
  const seen = new Map<string, string>();
  const jobs: { label: string; units: ReturnType<typeof unitsOf> }[] = [];
  for (const r of rendered) {
    for (const f of r.plan.files.filter((x) => x.kind === 'user-data')) {
      const units = unitsOf(parseCloudConfig(f.content));
      if (units.every((u) => u.content === undefined && u.dropIns.length === 0)) continue; // only `command: start` of OS units
      const key = createHash('sha256').update(JSON.stringify(units)).digest('hex');
      if (seen.has(key)) continue;
      seen.set(key, `${r.label}/${f.machine}`);
      jobs.push({ label: `${r.label}/${f.machine}`, units });
    }
  }
  const roots = [0, 1].map((i) => prepareVerifyRoot(join(root, `root-${i}`)));
  const results = await pool(jobs, 2, (j, slot) => systemdVerify(roots[slot]!, j.units));
  t.ok(jobs.length > 10, `${jobs.length} distinct sets of units`);
  const verifiedNames = new Set<string>();
  for (const [i, j] of jobs.entries()) {
    const res = results[i]!;
    res.verified.forEach((n) => verifiedNames.add(n));
    const output = (res.stdout + res.stderr).trim();
    t.equal(res.code, 0, `${j.label}: systemd-analyze verify ${res.verified.join(' ')} exits 0`, { output });
    t.notMatch(output, /Unknown key|Unknown section|Invalid|Failed|not executable|Missing|ignoring/i, `${j.label}: no complaints`);
    t.equal(output, '', `${j.label}: nothing said at all`);
  }
  t.same(
    [...verifiedNames].sort(),
    ['docker-tcp.socket', 'docker-tls-tcp.socket', 'enable-docker-tcp.service', 'enable-docker-tls-tcp.service', 'etcd-member.service', 'fleet-install.service', 'fleet.service'],
    'every kind of unit cclab writes was verified',
  );
});

t.test('systemd-analyze verify is a real check: a bad directive or drop-in fails it', { skip: systemdMissing }, async (t) => {
  const root = t.testdir({});
  const cc = parseCloudConfig(plan(await builtinLab('dev', { dockerTcp: true })).files.find((f) => f.machine === 'worker-01')!.content);
  const units = unitsOf(cc);
  const broken = units.map((u) =>
    u.name === 'fleet.service'
      ? { ...u, dropIns: u.dropIns.map((d) => ({ ...d, content: d.content.replace('Environment="FLEET_PUBLIC_IP=', 'Environment="FLEET_PUBLIC_IP=\n') })) }
      : u.name === 'docker-tls-tcp.socket'
        ? { ...u, content: u.content?.replace('ListenStream=', 'ListenStreem=') }
        : u,
  );
  const res = await systemdVerify(prepareVerifyRoot(join(root, 'r')), broken);
  const output = res.stdout + res.stderr;
  t.match(output, /Unknown key 'ListenStreem'|Unknown key name 'ListenStreem'/, 'a misspelt directive is reported');
  t.match(output, /Invalid syntax|Unbalanced quoting|Invalid environment assignment|ignoring/i, 'a broken Environment= line is reported');
});
