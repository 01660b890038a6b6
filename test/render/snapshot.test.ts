/**
 * The output contract: the complete rendered files of every architecture × OS at default options.
 * A change here is a change users see in their Vagrantfile and cloud-configs; review the diff and
 * regenerate with `npx tap --snapshot test/render/snapshot.test.ts`.
 */
import t from 'tap';
import { builtinLab, COMBOS, plan, TEST_VERSION } from '../helpers/render.js';

for (const { arch, os } of COMBOS) {
  t.test(`${arch} × ${os}`, async (t) => {
    const p = plan(await builtinLab(arch, { os }));
    for (const f of p.files) {
      t.ok(f.content.includes(TEST_VERSION) || f.kind !== 'vagrantfile', `${f.path}: the version is the test's`);
      t.matchSnapshot(f.content, f.path);
    }
  });
}

t.test('bare metal, production × flatcar', async (t) => {
  const lab = await builtinLab('production', { provisioning: 'cloud-config', subnet: '10.0.0.0/24', gateway: '10.0.0.1', dns: ['10.0.0.2'] });
  for (const f of plan(lab, 'bare-metal').files) t.matchSnapshot(f.content, f.path);
});

// The same machines as Ignition (the default for bare metal), with the MACs real machines report.
t.test('bare metal, production × flatcar, Ignition', async (t) => {
  const macs = { 'services-01': '52:54:00:00:01:01', 'services-02': '52:54:00:00:01:02', 'services-03': '52:54:00:00:01:03', 'worker-01': '52:54:00:00:02:01' };
  const lab = await builtinLab('production', { subnet: '10.0.0.0/24', gateway: '10.0.0.1', dns: ['10.0.0.2'], macs });
  for (const f of plan(lab, 'bare-metal').files) t.matchSnapshot(f.content, f.path);
});

// Flatcar's own image on libvirt: Ignition through fw_cfg, the lab's own key, no Vagrant provisioners.
t.test('dev × flatcar on libvirt (Ignition through fw_cfg)', async (t) => {
  const p = plan(await builtinLab('dev', { provider: 'libvirt', workers: 1 }));
  t.equal(p.provisioning, 'ignition');
  for (const f of p.files) t.matchSnapshot(f.content, f.path);
});
