/**
 * Can QEMU's user open the lab's Ignition files (fw_cfg)? The POSIX rules as pure functions, the
 * real probe over a real directory tree and the real `id` of libvirt's QEMU user, and the preflight
 * check users see.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { allows, blockingSteps, isSessionUri, parseAcl, qemuConfUser, type Identity, type PathStep } from '../../src/providers/qemu-access.js';
import { realProbes } from '../../src/pipeline/probes.js';
import { runPreflight, type Probes } from '../../src/pipeline/preflight.js';
import type { VagrantDriver } from '../../src/vagrant/driver.js';
import { builtinLab } from '../helpers/render.js';

const qemu: Identity = { name: 'libvirt-qemu', uid: 64055, gids: [64055, 109] };
const step = (path: string, mode: number, uid = 0, gid = 0, acl?: PathStep['acl']): PathStep => ({ path, mode, uid, gid, acl });

t.test('mode bits: owner, group, other; root passes everything', async (t) => {
  t.ok(allows(step('/', 0o755), qemu, 1), 'other x');
  t.notOk(allows(step('/root', 0o700), qemu, 1), '0700 root-owned: no way through');
  t.ok(allows(step('/home/me', 0o710, 1000, 109), qemu, 1), 'through the group kvm');
  t.notOk(allows(step('/home/me', 0o701, 1000, 109), qemu, 1), 'group class applies before other: its --- wins');
  t.ok(allows(step('/x', 0o700, 64055, 0), qemu, 1), 'owner');
  t.ok(allows(step('/f', 0o644), qemu, 4), 'file readable by other');
  t.notOk(allows(step('/f', 0o640), qemu, 4), 'file not readable');
  t.ok(allows(step('/root', 0o700), { name: 'root', uid: 0, gids: [0] }, 1), 'QEMU as root');
});

t.test('ACLs: a named user entry, limited by the mask; named groups', async (t) => {
  t.ok(allows(step('/root', 0o750, 0, 0, [{ kind: 'user', id: 64055, perms: 1 }, { kind: 'mask', perms: 5 }]), qemu, 1), 'setfacl -m u:libvirt-qemu:x');
  t.notOk(allows(step('/root', 0o700, 0, 0, [{ kind: 'user', id: 64055, perms: 1 }, { kind: 'mask', perms: 4 }]), qemu, 1), 'the mask takes x away');
  t.ok(allows(step('/root', 0o700, 0, 0, [{ kind: 'group', id: 109, perms: 1 }, { kind: 'mask', perms: 1 }]), qemu, 1), 'a named group');
  t.same(parseAcl('# file: /root\n# owner: 0\nuser::rwx\nuser:64055:--x\ngroup::---\ngroup:109:r-x\nmask::r-x\nother::---\n'), [
    { kind: 'user', id: 64055, perms: 1 },
    { kind: 'group', id: 109, perms: 5 },
    { kind: 'mask', perms: 5 },
  ]);
});

t.test('the chain: every directory needs x, the last path r; qemu.conf and session URIs', async (t) => {
  const chain = [step('/', 0o755), step('/root', 0o700), step('/root/.local', 0o755), step('/root/.local/lab/ignition', 0o755)];
  t.same(blockingSteps(chain, qemu).map((s) => s.path), ['/root']);
  t.same(qemuConfUser('#user = "libvirt-qemu"\nuser = "qemu"\n group = "kvm"\n'), { user: 'qemu', group: 'kvm' });
  t.same(qemuConfUser(undefined), {});
  t.ok(isSessionUri('qemu:///session'));
  t.ok(isSessionUri('qemu+unix:///session'));
  t.notOk(isSessionUri('qemu:///system'));
  t.notOk(isSessionUri('qemu+ssh://me@host/system'));
});

t.test('the real probe: a 0700 directory on the way blocks libvirt-qemu, 0711 lets it through', async (t) => {
  const root = t.testdir({ home: { lab: {} } });
  const probes = realProbes({} as VagrantDriver, { ...process.env, LIBVIRT_DEFAULT_URI: 'qemu:///system' });
  chmodSync(join(root, 'home'), 0o700);
  const target = join(root, 'home', 'lab', 'ignition');
  const blocked = await probes.qemuFileAccess!(target);
  if ('skip' in blocked) {
    t.fail(`no QEMU user on this machine: ${blocked.skip}`);
    return;
  }
  t.equal(blocked.who.name, 'libvirt-qemu');
  t.same(blockingSteps(blocked.chain, blocked.who).map((s) => s.path), [join(root, 'home')], 'not yet made: the directories up to the lab');
  chmodSync(join(root, 'home'), 0o711);
  mkdirSync(target, { mode: 0o755 });
  const open = await probes.qemuFileAccess!(target);
  t.same('skip' in open ? ['skip'] : blockingSteps(open.chain, open.who), []);
  const session = await realProbes({} as VagrantDriver, { ...process.env, LIBVIRT_DEFAULT_URI: 'qemu:///session' }).qemuFileAccess!(target);
  t.match(session, { skip: /runs QEMU as you/ });
});

const baseProbes: Probes = {
  vagrantVersion: async () => '2.3.4',
  providerUsable: async () => ({ ok: true, detail: 'libvirt answers' }),
  boxes: async () => [],
  vboxNetworksConf: async () => undefined,
  interfaces: async () => [],
  portFree: async () => true,
};

t.test('preflight of a Flatcar lab on libvirt: QEMU’s access with the setfacl fix, and `cclab box add` for the missing box', async (t) => {
  const lab = await builtinLab('dev', { provider: 'libvirt', workers: 1 });
  const checks = await runPreflight(lab, {
    ...baseProbes,
    qemuFileAccess: async () => ({ who: qemu, chain: [step('/', 0o755), step('/root', 0o700)] }),
  }, { labDir: '/root/.local/share/cclab/labs/dev' });
  const access = checks.find((c) => c.check === 'QEMU can read the Ignition files')!;
  t.equal(access.ok, false);
  t.match(access.message, 'libvirt runs QEMU as libvirt-qemu, which cannot enter /root');
  t.match(access.fix, 'setfacl -m u:libvirt-qemu:x /root');
  t.match(access.fix, 'CCLAB_HOME');
  const box = checks.find((c) => c.check === 'box flatcar-stable')!;
  t.equal(box.ok, false);
  t.match(box.fix, 'cclab box add --channel stable');

  const fine = await runPreflight(lab, {
    ...baseProbes,
    boxes: async () => [{ name: 'flatcar-stable', provider: 'libvirt', version: '4230.2.3' }],
    qemuFileAccess: async () => ({ skip: 'qemu:///session runs QEMU as you' }),
  }, { labDir: '/home/me/lab' });
  t.ok(fine.every((c) => c.ok), JSON.stringify(fine.filter((c) => !c.ok)));

  // A box of the user's own keeps cloud-config: no fw_cfg, nothing for QEMU to open.
  const own = await builtinLab('dev', { provider: 'libvirt', box: { name: 'my/flatcar' } });
  const ownChecks = await runPreflight(own, { ...baseProbes, qemuFileAccess: async () => t.fail('not asked') as never }, { labDir: '/x' });
  t.notOk(ownChecks.some((c) => c.check === 'QEMU can read the Ignition files'));
  t.match(ownChecks.find((c) => c.check === 'box my/flatcar')!.fix, 'vagrant box add my/flatcar');
});
