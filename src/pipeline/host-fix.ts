/**
 * `cclab doctor --fix`: the commands that make this host able to run labs, planned from the
 * failed preflight checks and the host's facts (gathered by src/pipeline/host-facts.ts). Pure: the
 * plan is printed before anything runs, and tests check it for every kind of host. It knows Debian,
 * Ubuntu (apt) and Fedora (dnf) and refuses elsewhere, leaving the printed fixes to the user.
 */
import type { Provider } from '../lab/types.js';
import type { PreflightCheck } from '../providers/types.js';

/** /etc/os-release, the fields the plan reads. */
export interface OsRelease {
  /** ID, e.g. "debian". */
  id: string;
  /** ID_LIKE, e.g. ["debian"] on Ubuntu. */
  idLike: string[];
  /** PRETTY_NAME (or NAME), for messages. */
  name: string;
}

/** How libvirt answered `virsh -c qemu:///system version`. */
export type LibvirtState =
  | 'answers'
  /** Installed, but no daemon listens (its socket is missing or refuses). */
  | 'not-running'
  /** The daemon runs, but this user may not use it (not in the libvirt group). */
  | 'denied'
  /** virsh is not installed. */
  | 'absent';

export interface HostSetupFacts {
  platform: NodeJS.Platform;
  /** process.arch: which QEMU system package. */
  arch: string;
  /** undefined when /etc/os-release is missing or unreadable. */
  os: OsRelease | undefined;
  /** cclab runs as root: the commands run as they are. */
  root: boolean;
  /** sudo is on PATH (used when not root). */
  sudo: boolean;
  /** systemd runs this host (/run/systemd/system exists): services are started with systemctl. */
  systemd: boolean;
  /** The family's packages (familyOf(os).packages): installed or not. */
  packages: Record<string, boolean>;
  libvirt: LibvirtState;
  /**
   * The user who runs the labs (SUDO_USER under sudo, else the current user) and whether they are
   * in the libvirt group; undefined for root itself, which needs no group.
   */
  user: { name: string; inLibvirtGroup: boolean } | undefined;
}

export interface PackageFamily {
  /** For messages: "Debian/Ubuntu". */
  label: string;
  /** Asks the package database whether one package is installed (exit status 0: yes). */
  query: (pkg: string) => string[];
  /** Refreshes the package lists first (apt), or nothing (dnf refreshes itself). */
  update: string[] | undefined;
  install: (pkgs: string[]) => string[];
  /** Vagrant, the libvirt plugin, libvirt's daemon and client, QEMU, and what libvirt's networks need. */
  libvirtPackages: (arch: string) => string[];
}

const DEBIAN: PackageFamily = {
  label: 'Debian/Ubuntu',
  query: (pkg) => ['dpkg-query', '-W', '-f', '${Status}', pkg],
  update: ['apt-get', 'update'],
  install: (pkgs) => ['apt-get', 'install', '-y', ...pkgs],
  libvirtPackages: (arch) => [
    'vagrant',
    'vagrant-libvirt',
    'libvirt-daemon-system',
    'libvirt-clients',
    arch === 'arm64' ? 'qemu-system-arm' : 'qemu-system-x86',
    'qemu-utils',
    'dnsmasq-base',
  ],
};

const FEDORA: PackageFamily = {
  label: 'Fedora',
  query: (pkg) => ['rpm', '-q', '--quiet', pkg],
  update: undefined,
  install: (pkgs) => ['dnf', 'install', '-y', ...pkgs],
  // libvirt-daemon-kvm brings QEMU (qemu-kvm) with it.
  libvirtPackages: () => ['vagrant', 'vagrant-libvirt', 'libvirt-daemon-kvm', 'libvirt-client', 'qemu-img'],
};

/** The package family of a host, or undefined when --fix does not know it. */
export function familyOf(os: OsRelease | undefined): PackageFamily | undefined {
  if (os === undefined) return undefined;
  const ids = [os.id, ...os.idLike];
  if (ids.includes('debian') || ids.includes('ubuntu')) return DEBIAN;
  if (os.id === 'fedora') return FEDORA;
  return undefined;
}

export interface FixStep {
  /** The command as it will run (with sudo in front when cclab is not root). */
  argv: string[];
  why: string;
}

export interface FixPlan {
  steps: FixStep[];
  /** Failures --fix leaves to the user, each with its fix as preflight printed it. */
  manual: { check: string; fix: string }[];
  /** What to know afterwards (a new login for the group; daemons started by hand). */
  notes: string[];
  /** Why nothing will run although there is something to fix (unknown system, no root). */
  refused?: string;
}

export interface PlanInput {
  facts: HostSetupFacts;
  /** The failed checks of `cclab doctor`. */
  failed: PreflightCheck[];
  provider: Provider;
  /** The provider was chosen for the user (nothing named one): --fix may set up another. */
  providerChosen: boolean;
  /** The lab's subnet (VirtualBox's networks.conf). */
  subnet: string;
}

const NETWORKS_CONF = '/etc/vbox/networks.conf';

export function planHostFixes(input: PlanInput): FixPlan {
  const { facts, failed, provider } = input;
  const manual: FixPlan['manual'] = [];
  const wanted: ('vagrant' | 'libvirt' | 'vbox-subnet')[] = [];
  let providerCheck: PreflightCheck | undefined;
  for (const c of failed) {
    if (c.check === 'vagrant') wanted.push('vagrant');
    else if (
      c.check === `provider ${provider}` &&
      // Nothing usable and nobody asked for VirtualBox, which no distribution's archive carries:
      // libvirt is what --fix can install, and what cclab then picks.
      (provider === 'libvirt' || (provider === 'virtualbox' && input.providerChosen && facts.platform === 'linux'))
    ) {
      wanted.push('libvirt');
      providerCheck = c;
    }
    else if (c.check === 'subnet allowed by VirtualBox') wanted.push('vbox-subnet');
    else manual.push({ check: c.check, fix: c.fix ?? '' });
  }
  const notes: string[] = [];
  if (wanted.length === 0) return { steps: [], manual, notes };

  const refuse = (why: string): FixPlan => ({
    steps: [],
    manual: failed.map((c) => ({ check: c.check, fix: c.fix ?? '' })),
    notes,
    refused: why,
  });
  if (facts.platform !== 'linux') return refuse(`doctor --fix changes Linux hosts only (Debian, Ubuntu, Fedora); this one is ${facts.platform}`);
  const family = familyOf(facts.os);
  if (family === undefined) {
    const what = facts.os === undefined ? 'a Linux without /etc/os-release' : facts.os.name;
    return refuse(`doctor --fix knows Debian, Ubuntu and Fedora; this host is ${what}`);
  }
  if (!facts.root && !facts.sudo) return refuse('doctor --fix needs root for its commands, and sudo is not installed: run it as root');

  const asRoot = (argv: string[]): string[] => (facts.root ? argv : ['sudo', ...argv]);
  const steps: FixStep[] = [];

  // Packages: Vagrant alone, or everything a libvirt lab needs; only what is missing, except that a
  // Vagrant too old is installed again (the archive's may be newer).
  const pkgs = new Set<string>();
  if (wanted.includes('vagrant')) pkgs.add('vagrant');
  if (wanted.includes('libvirt')) {
    for (const p of family.libvirtPackages(facts.arch)) if (facts.packages[p] !== true) pkgs.add(p);
  }
  if (pkgs.size > 0) {
    const list = [...pkgs];
    if (family.update) steps.push({ argv: asRoot(family.update), why: `refresh ${family.label}'s package lists` });
    steps.push({ argv: asRoot(family.install(list)), why: `install ${list.join(', ')}` });
  }

  if (wanted.includes('libvirt')) {
    const before = steps.length;
    if (facts.libvirt !== 'answers' && facts.libvirt !== 'denied') {
      if (facts.systemd) steps.push({ argv: asRoot(['systemctl', 'enable', '--now', 'libvirtd']), why: 'start libvirt’s daemon now and at every boot' });
      else {
        steps.push(
          { argv: asRoot(['virtlogd', '--daemon']), why: 'start libvirt’s log daemon (QEMU writes its console log through it); this host has no systemd' },
          { argv: asRoot(['libvirtd', '--daemon']), why: 'start libvirt’s daemon' },
        );
        notes.push('virtlogd and libvirtd are started by hand here (no systemd): start them again after a reboot');
      }
    }
    if (facts.user !== undefined && !facts.user.inLibvirtGroup) {
      steps.push({ argv: asRoot(['usermod', '--append', '--groups', 'libvirt', facts.user.name]), why: `let ${facts.user.name} use libvirt without root` });
      notes.push(`${facts.user.name} is in the libvirt group from the next login on: log out and in again (or run \`newgrp libvirt\`) before \`cclab up\``);
    }
    // Everything is installed, libvirt answers and the user may use it, yet the provider check
    // failed (a Vagrant of another origin without the plugin): the check's own fix says what to do.
    if (steps.length === before && pkgs.size === 0) manual.push({ check: providerCheck!.check, fix: providerCheck!.fix ?? '' });
    else if (provider === 'virtualbox') notes.push('with libvirt usable, `cclab up` picks it (VirtualBox is in no distribution’s archive: virtualbox.org has it); the checks after the fixes are libvirt’s');
  }

  if (wanted.includes('vbox-subnet')) {
    // The subnet is a parsed CIDR, and it reaches the shell as an argument, not as script text.
    steps.push({
      argv: asRoot(['sh', '-c', `mkdir -p /etc/vbox && printf '%s\\n' "$1" >> ${NETWORKS_CONF}`, 'sh', `* ${input.subnet}`]),
      why: `let VirtualBox create host-only networks in ${input.subnet} (a line in ${NETWORKS_CONF})`,
    });
  }
  return { steps, manual, notes };
}
