/**
 * What cclab chooses when nobody did: the provider (the first usable, in VirtualBox, libvirt,
 * Parallels order, over every combination of usable providers) and libvirt's driver; and how
 * `doctor` and `up` use the choice (injected probes), and where a choice is not cclab's to make.
 */
import t from 'tap';
import { run as doctor } from '../../src/commands/doctor.js';
import { prepareLab, type HostDetection } from '../../src/commands/lab-input.js';
import { memoryIo, type Context } from '../../src/context.js';
import { PROVIDERS, type Provider } from '../../src/lab/types.js';
import type { Probes } from '../../src/pipeline/preflight.js';
import { chooseLibvirtDriver, chooseProvider, type Usability } from '../../src/providers/choose.js';

t.test('the first usable provider, over every combination of usable and unusable', async (t) => {
  for (let mask = 0; mask < 8; mask++) {
    const usable = Object.fromEntries(PROVIDERS.map((p, i) => [p, { ok: (mask & (1 << i)) !== 0, detail: (mask & (1 << i)) !== 0 ? `${p} answers` : `${p} is not installed` }])) as Record<Provider, Usability>;
    const got = chooseProvider(usable);
    const first = PROVIDERS.find((_, i) => (mask & (1 << i)) !== 0);
    t.equal(got.provider, first ?? 'virtualbox', `usable: ${PROVIDERS.filter((_, i) => (mask & (1 << i)) !== 0).join(',') || 'none'}`);
    if (first === undefined) t.match(got.why, /no provider is usable here \(virtualbox: virtualbox is not installed; libvirt: libvirt is not installed; parallels: parallels is not installed\); trying VirtualBox/);
    else if (first === 'virtualbox') t.equal(got.why, 'usable here (virtualbox answers)');
    else t.match(got.why, new RegExp(`^the first usable here \\(virtualbox: virtualbox is not installed`));
  }
  t.same(chooseProvider({ virtualbox: { ok: false, detail: 'no VBoxManage' }, libvirt: { ok: true, detail: 'libvirt answers' }, parallels: undefined }), {
    provider: 'libvirt',
    why: 'the first usable here (virtualbox: no VBoxManage)',
  }, 'providers after the chosen one are not asked');
});

t.test('libvirt’s driver: KVM where libvirt can run KVM guests, else QEMU’s emulation with the reason', async (t) => {
  t.same(chooseLibvirtDriver({ devKvm: false, kvmCapabilities: 'yes' }), { driver: 'qemu', why: 'this host has no /dev/kvm (no hardware virtualisation, or the kvm module is not loaded)' });
  t.same(chooseLibvirtDriver({ devKvm: true, kvmCapabilities: 'yes' }), { driver: 'kvm', why: 'libvirt can run KVM guests' });
  t.match(chooseLibvirtDriver({ devKvm: true, kvmCapabilities: { refused: 'unsupported configuration: Emulator does not support virt type kvm' } }), { driver: 'qemu', why: /cannot run KVM guests here \(unsupported configuration/ });
  t.match(chooseLibvirtDriver({ devKvm: true, kvmCapabilities: { noAnswer: 'failed to connect to the hypervisor' } }), { driver: 'kvm' });
});

const ctxOf = (env: Record<string, string> = {}): Context => ({ io: memoryIo(), env, cwd: process.cwd(), signal: new AbortController().signal });

function detection(provider: Provider, driver: 'kvm' | 'qemu', asked: string[]): HostDetection {
  return {
    provider: async () => (asked.push('provider'), { provider, why: 'the first usable here (virtualbox: VBoxManage is not installed)' }),
    libvirtDriver: async () => (asked.push('driver'), { driver, why: driver === 'qemu' ? 'this host has no /dev/kvm' : 'libvirt can run KVM guests' }),
  };
}

t.test('prepareLab asks the host only for what nobody chose', async (t) => {
  const asked: string[] = [];
  const chosen = await prepareLab({ architecture: 'dev', overrides: {}, detect: detection('libvirt', 'qemu', asked) }, ctxOf());
  t.equal(chosen.lab.provider, 'libvirt');
  t.equal(chosen.lab.libvirt.driver, 'qemu');
  t.equal(chosen.lab.provisioning, 'ignition', 'Flatcar on libvirt: Ignition');
  t.same(chosen.notes, ['Using provider libvirt, the first usable here (virtualbox: VBoxManage is not installed); choose another with --provider or VAGRANT_DEFAULT_PROVIDER']);
  t.match(chosen.warnings, [/this host has no \/dev\/kvm: the machines run under QEMU's software emulation, several times slower than KVM/]);
  t.same(asked, ['provider', 'driver']);

  for (const [label, overrides, env] of [
    ['--provider', { provider: 'libvirt' as const, libvirt: { driver: 'kvm' as const } }, {}],
    ['VAGRANT_DEFAULT_PROVIDER', { libvirt: { driver: 'kvm' as const } }, { VAGRANT_DEFAULT_PROVIDER: 'libvirt' }],
  ] as const) {
    const none: string[] = [];
    const r = await prepareLab({ architecture: 'dev', overrides, detect: detection('virtualbox', 'qemu', none) }, ctxOf(env));
    t.equal(r.lab.provider, 'libvirt', label);
    t.equal(r.lab.libvirt.driver, 'kvm', `${label}: --libvirt-driver kept`);
    t.same(none, [], `${label}: nothing asked`);
    t.same(r.notes, []);
  }
  const vbox: string[] = [];
  const v = await prepareLab({ architecture: 'dev', overrides: {}, detect: detection('virtualbox', 'qemu', vbox) }, ctxOf());
  t.equal(v.lab.provider, 'virtualbox');
  t.same(vbox, ['provider'], 'no driver question for VirtualBox');
  const render = await prepareLab({ architecture: 'dev', overrides: {} }, ctxOf());
  t.equal(render.lab.provider, 'virtualbox', 'without detection (render): the same on every host');
});

t.test('doctor on a host with only libvirt says which provider it chose and why', async (t) => {
  const probes: Probes = {
    vagrantVersion: async () => '2.3.4',
    providerUsable: async (p) => (p === 'libvirt' ? { ok: true, detail: 'vagrant-libvirt 0.11.2; libvirt answers' } : { ok: false, detail: `${p} is not installed` }),
    boxes: async () => [{ name: 'flatcar-stable', provider: 'libvirt' }],
    vboxNetworksConf: async () => undefined,
    interfaces: async () => [],
    portFree: async () => true,
  };
  const ctx = ctxOf({ LIBVIRT_DEFAULT_URI: 'qemu:///session', PATH: process.env.PATH ?? '' });
  await doctor({ architecture: 'dev', overrides: { libvirt: { driver: 'qemu' } }, json: false }, ctx, probes);
  const out = (ctx.io as ReturnType<typeof memoryIo>).stdout;
  t.match(out, /^Using provider libvirt, the first usable here \(virtualbox: virtualbox is not installed\); choose another with --provider/);
  t.match(out, 'Checks for a dev lab on libvirt');
  t.match(out, '✓ provider libvirt: vagrant-libvirt 0.11.2; libvirt answers');
  t.match(out, '✓ box flatcar-stable: installed for libvirt');
});
