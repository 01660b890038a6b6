/**
 * Every cloud-config cclab renders passes cclab's own validator (coreos-cloudinit's rules plus
 * Flatcar's) for the OS it targets: no errors, and no warnings but the deprecation of the legacy
 * etcd2/fleet sections that only legacy CoreOS reads.
 */
import { join } from 'node:path';
import t from 'tap';
import type { LabOverrides } from '../../src/lab/resolve.js';
import type { Architecture } from '../../src/lab/types.js';
import type { Target } from '../../src/render/cloudconfig.js';
import { validateCloudConfig } from '../../src/validate/cloudconfig.js';
import { builtinLab, COMBOS, plan, REPO, resolveBuiltin } from '../helpers/render.js';
import { readFileSync } from 'node:fs';

const FLEETD = join(REPO, 'test/fixtures/labs/bin/fleetd');
const KEY = readFileSync(join(REPO, 'test/fixtures/labs/keys/lab.pub'), 'utf8');

const OPTION_SETS: { label: string; overrides: LabOverrides; target: Target }[] = [
  { label: 'defaults', overrides: {}, target: 'vagrant' },
  {
    label: 'docker-tcp, metadata, qemu, update server',
    overrides: { dockerTcp: true, metadata: { zone: 'eu-1', rack: '0644', on: 'yes' }, libvirt: { driver: 'qemu' }, update: { server: 'https://nebraska.example/v1/update/' } },
    target: 'vagrant',
  },
  { label: 'local fleetd', overrides: { fleet: { localFile: FLEETD } }, target: 'vagrant' },
  { label: 'fleet sha256, update group', overrides: { fleet: { sha256: 'd'.repeat(64) }, update: { group: 'on', rebootStrategy: 'off' } }, target: 'vagrant' },
  { label: 'bare metal', overrides: { provisioning: 'cloud-config', subnet: '10.0.0.0/24', gateway: '10.0.0.254', dns: ['10.0.0.2'] }, target: 'bare-metal' },
  { label: 'discovery', overrides: { discovery: 'https://discovery.etcd.io/0123456789abcdef' }, target: 'vagrant' },
];

const DEPRECATED_LEGACY = /^deprecated key "coreos\.(etcd2|fleet)"/;
/** Said when the user opts into discovery.etcd.io (coreos.etcd2.discovery is visible to the validator). */
const DISCOVERY = /discovery\.etcd\.io is deprecated/;

for (const { arch, os } of COMBOS) {
  t.test(`${arch} × ${os}`, async (t) => {
    for (const set of OPTION_SETS) {
      if (arch === 'laptop' && set.label === 'discovery') continue; // no etcd on a laptop
      const { lab } = await resolveBuiltin(arch as Architecture, { ...set.overrides, os }, { sshKeys: [{ source: 'lab.pub', content: KEY }] });
      for (const f of plan(lab, set.target).files.filter((x) => x.kind === 'user-data')) {
        const diagnostics = validateCloudConfig(f.content, { os });
        const errors = diagnostics.filter((d) => d.severity === 'error');
        const warnings = diagnostics.filter((d) => d.severity === 'warning');
        t.same(errors, [], `${set.label}, ${f.machine}: no errors for ${os}`);
        if (os === 'flatcar') t.same(warnings, [], `${set.label}, ${f.machine}: no warnings for flatcar`);
        else {
          const expected = (w: { message: string }) => DEPRECATED_LEGACY.test(w.message) || (set.label === 'discovery' && DISCOVERY.test(w.message));
          t.ok(warnings.every(expected), `${set.label}, ${f.machine}: only the legacy sections’ deprecation`, { warnings });
        }
      }
    }
  });
}

t.test('the validator is a real check of these files', async (t) => {
  const text = plan(await builtinLab('production')).files.find((f) => f.machine === 'worker-01')!.content;
  t.same(validateCloudConfig(text, { os: 'flatcar' }), [], 'as rendered: clean');
  const hyphen = text.replace('reboot_strategy:', 'reboot-strategy:');
  t.ok(validateCloudConfig(hyphen, { os: 'flatcar' }).some((d) => d.severity === 'error'), 'a hyphenated key is an error on Flatcar');
  const noHeader = text.replace('#cloud-config\n', '');
  t.ok(validateCloudConfig(noHeader, { os: 'flatcar' }).length > 0, 'a missing header is reported');
  const badCommand = text.replace('command: start', 'command: begin');
  t.ok(validateCloudConfig(badCommand, { os: 'flatcar' }).some((d) => d.severity === 'error'), 'an invalid unit command is an error');
});
