/**
 * `doctor --fix`'s plan over the kinds of host it meets: Debian, Ubuntu and Fedora, as root or
 * through sudo, with and without systemd, with some packages in place; and the hosts it refuses
 * (another distribution, macOS, no root), where every failure stays the user's to fix.
 */
import t from 'tap';
import { familyOf, planHostFixes, type HostSetupFacts, type PlanInput } from '../../src/pipeline/host-fix.js';
import type { PreflightCheck } from '../../src/providers/types.js';

const DEBIAN = { id: 'debian', idLike: [], name: 'Debian GNU/Linux 12 (bookworm)' };
const UBUNTU = { id: 'ubuntu', idLike: ['debian'], name: 'Ubuntu 24.04.1 LTS' };
const FEDORA = { id: 'fedora', idLike: [], name: 'Fedora Linux 41 (Workstation Edition)' };
const ARCH = { id: 'arch', idLike: [], name: 'Arch Linux' };

const facts = (over: Partial<HostSetupFacts> = {}): HostSetupFacts => ({
  platform: 'linux',
  arch: 'x64',
  os: DEBIAN,
  root: true,
  sudo: true,
  systemd: true,
  packages: {},
  libvirt: 'absent',
  user: undefined,
  ...over,
});
const fail = (check: string, fix = `fix ${check}`): PreflightCheck => ({ check, ok: false, message: `${check} failed`, fix });
const VAGRANT = fail('vagrant');
const NO_VBOX = fail('provider virtualbox', 'install VirtualBox (VBoxManage must be on PATH), or use --provider libvirt on Linux');
const NO_LIBVIRT = fail('provider libvirt');
const input = (over: Partial<PlanInput>): PlanInput => ({ facts: facts(), failed: [], provider: 'libvirt', providerChosen: false, subnet: '192.168.58.0/24', ...over });
const commands = (p: { steps: { argv: string[] }[] }) => p.steps.map((s) => s.argv.join(' '));

t.test('a fresh Debian host, as root: Vagrant, libvirt and QEMU installed, libvirtd started; cclab then picks libvirt', async (t) => {
  const plan = planHostFixes(input({ failed: [VAGRANT, NO_VBOX], provider: 'virtualbox', providerChosen: true }));
  t.same(commands(plan), [
    'apt-get update',
    'apt-get install -y vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base',
    'systemctl enable --now libvirtd',
  ]);
  t.same(plan.manual, []);
  t.match(plan.notes, [/`cclab up` picks it \(VirtualBox is in no distribution’s archive/]);
  t.equal(plan.refused, undefined);
});

t.test('Ubuntu through sudo, Vagrant already there: the missing packages only, and the user joins the libvirt group', async (t) => {
  const plan = planHostFixes(input({
    failed: [NO_LIBVIRT],
    facts: facts({ os: UBUNTU, root: false, packages: { vagrant: true, 'libvirt-clients': true, 'qemu-utils': true }, user: { name: 'ada', inLibvirtGroup: false } }),
  }));
  t.same(commands(plan), [
    'sudo apt-get update',
    'sudo apt-get install -y vagrant-libvirt libvirt-daemon-system qemu-system-x86 dnsmasq-base',
    'sudo systemctl enable --now libvirtd',
    'sudo usermod --append --groups libvirt ada',
  ]);
  t.match(plan.notes, [/ada is in the libvirt group from the next login on: log out and in again \(or run `newgrp libvirt`\)/]);
});

t.test('libvirt installed and running, but not for this user: only the group', async (t) => {
  const all = Object.fromEntries(familyOf(DEBIAN)!.libvirtPackages('x64').map((p) => [p, true]));
  const plan = planHostFixes(input({ failed: [NO_LIBVIRT], facts: facts({ root: false, packages: all, libvirt: 'denied', user: { name: 'ada', inLibvirtGroup: false } }) }));
  t.same(commands(plan), ['sudo usermod --append --groups libvirt ada']);
  const inGroup = planHostFixes(input({ failed: [NO_LIBVIRT], facts: facts({ root: false, packages: all, libvirt: 'answers', user: { name: 'ada', inLibvirtGroup: true } }) }));
  t.same(inGroup.steps, [], 'everything in place, yet the check failed (a Vagrant of another origin without the plugin)');
  t.same(inGroup.manual, [{ check: 'provider libvirt', fix: 'fix provider libvirt' }], 'its own fix is left to the user');
});

t.test('a host without systemd: the daemons are started by hand, and the note says they will not come back after a reboot', async (t) => {
  const plan = planHostFixes(input({ failed: [NO_LIBVIRT], facts: facts({ systemd: false, libvirt: 'not-running' }) }));
  t.same(commands(plan).slice(-2), ['virtlogd --daemon', 'libvirtd --daemon']);
  t.match(plan.notes, [/started by hand here \(no systemd\): start them again after a reboot/]);
});

t.test('Fedora: dnf (no separate refresh), its package names; arm64 Debian gets ARM’s QEMU', async (t) => {
  t.same(commands(planHostFixes(input({ failed: [NO_LIBVIRT], facts: facts({ os: FEDORA }) }))), [
    'dnf install -y vagrant vagrant-libvirt libvirt-daemon-kvm libvirt-client qemu-img',
    'systemctl enable --now libvirtd',
  ]);
  t.match(commands(planHostFixes(input({ failed: [NO_LIBVIRT], facts: facts({ arch: 'arm64' }) })))[1], / qemu-system-arm /);
  t.same(commands(planHostFixes(input({ failed: [VAGRANT], provider: 'virtualbox' }))), ['apt-get update', 'apt-get install -y vagrant'], 'Vagrant alone when the provider is fine');
});

t.test('VirtualBox’s networks.conf: the subnet reaches the shell as an argument, not as script text', async (t) => {
  const plan = planHostFixes(input({ failed: [fail('subnet allowed by VirtualBox')], provider: 'virtualbox', subnet: '10.0.0.0/24', facts: facts({ root: false }) }));
  t.equal(plan.steps.length, 1);
  t.same(plan.steps[0]!.argv, ['sudo', 'sh', '-c', `mkdir -p /etc/vbox && printf '%s\\n' "$1" >> /etc/vbox/networks.conf`, 'sh', '* 10.0.0.0/24']);
});

t.test('what --fix has no command for stays the user’s, with the check’s own fix', async (t) => {
  const clash = fail('subnet free on this host', 'choose another --subnet');
  const port = fail('docker port 2376', 'stop what listens on 127.0.0.1:2376');
  const plan = planHostFixes(input({ failed: [clash, port], facts: facts({ os: ARCH }) }));
  t.same(plan.steps, []);
  t.equal(plan.refused, undefined, 'nothing to run, so nothing to refuse, even on a system --fix does not know');
  t.same(plan.manual, [{ check: 'subnet free on this host', fix: 'choose another --subnet' }, { check: 'docker port 2376', fix: 'stop what listens on 127.0.0.1:2376' }]);
  const vbox = planHostFixes(input({ failed: [NO_VBOX], provider: 'virtualbox', providerChosen: false }));
  t.same(vbox.steps, [], 'VirtualBox asked for by name: --fix does not install it, or swap it for libvirt');
  t.same(vbox.manual.map((m) => m.check), ['provider virtualbox']);
});

t.test('hosts --fix refuses: every failure stays the user’s', async (t) => {
  const cases: [string, Partial<HostSetupFacts>, RegExp][] = [
    ['another distribution', { os: ARCH }, /^doctor --fix knows Debian, Ubuntu and Fedora; this host is Arch Linux$/],
    ['no os-release', { os: undefined }, /this host is a Linux without \/etc\/os-release$/],
    ['macOS', { platform: 'darwin', os: undefined }, /^doctor --fix changes Linux hosts only \(Debian, Ubuntu, Fedora\); this one is darwin$/],
    ['no root and no sudo', { root: false, sudo: false }, /needs root for its commands, and sudo is not installed: run it as root/],
  ];
  for (const [label, over, why] of cases) {
    const plan = planHostFixes(input({ failed: [VAGRANT, NO_LIBVIRT], facts: facts(over) }));
    t.same(plan.steps, [], `${label}: nothing runs`);
    t.match(plan.refused, why, label);
    t.same(plan.manual.map((m) => m.check), ['vagrant', 'provider libvirt'], `${label}: both failures left to the user`);
  }
});

t.test('families from os-release', async (t) => {
  t.equal(familyOf(DEBIAN)?.label, 'Debian/Ubuntu');
  t.equal(familyOf(UBUNTU)?.label, 'Debian/Ubuntu');
  t.equal(familyOf({ id: 'linuxmint', idLike: ['ubuntu'], name: 'Linux Mint 22' })?.label, 'Debian/Ubuntu');
  t.equal(familyOf(FEDORA)?.label, 'Fedora');
  t.equal(familyOf({ id: 'rhel', idLike: ['fedora'], name: 'RHEL 9' }), undefined, 'RHEL carries no Vagrant: not Fedora');
  t.equal(familyOf(ARCH), undefined);
});
