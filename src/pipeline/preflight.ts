/**
 * Preflight: can this host run the lab? Pure policy over injected probes (src/pipeline/probes.ts
 * has the real ones), so every rule is testable without VirtualBox. Each failed check says how to fix it.
 */
import type { Lab, Provider } from '../lab/types.js';
import { interfaceNetwork, overlaps, parseCidr, type Cidr } from '../lab/net.js';
import { providerRecord } from '../providers/index.js';
import type { HostInterface, PreflightCheck } from '../providers/types.js';
import { compareVersion } from '../vagrant/parse.js';
import { blockingSteps, type Identity, type PathStep } from '../providers/qemu-access.js';
import type { KvmFacts } from '../providers/choose.js';
import { provisioningFor } from '../render/provision.js';
import { IGNITION_DIR } from '../render/layout.js';
import { flatcarBoxName } from '../box/names.js';
import { remoteLibvirtOf } from '../providers/libvirt-uri.js';

export const MIN_VAGRANT = { major: 2, minor: 2, patch: 5 } as const;

export interface Probes {
  /** `vagrant --version` → "2.3.4"; rejects when vagrant cannot run. */
  vagrantVersion(): Promise<string>;
  /**
   * Is the provider's own tooling usable? (VBoxManage, libvirt + plugin, prlctl + plugin)
   * `libvirtUri`: a lab's own libvirt (another host's), asked instead of this host's default.
   */
  providerUsable(provider: Provider, libvirtUri?: string): Promise<{ ok: boolean; detail: string }>;
  /** Installed boxes: name + provider. */
  boxes(): Promise<{ name: string; provider: string; version?: string }[]>;
  /** /etc/vbox/networks.conf, or undefined when absent. */
  vboxNetworksConf(): Promise<string | undefined>;
  interfaces(): Promise<HostInterface[]>;
  /** Whether 127.0.0.1:port can be bound now. */
  portFree(port: number): Promise<boolean>;
  /**
   * Who opens a file QEMU is given (fw_cfg) and the existing directories down to `path`, or why
   * that need not be checked (a session daemon runs QEMU as the user; libvirt is not installed).
   */
  qemuFileAccess?(path: string): Promise<{ who: Identity; chain: PathStep[] } | { skip: string }>;
  /** Whether this host has /dev/kvm, and whether libvirt says it can run KVM guests (`virsh domcapabilities --virttype kvm`). */
  kvmFacts?(): Promise<KvmFacts>;
}

/**
 * Probes that answer each question once (per arguments): `up` asks Vagrant what preflight needs
 * while it is still loading the lab, and preflight then reads the same answers.
 */
export function memoProbes(probes: Probes): Probes {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, f: () => Promise<T>): Promise<T> => {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = f();
      cache.set(key, p);
    }
    return p;
  };
  return {
    vagrantVersion: () => once('version', () => probes.vagrantVersion()),
    providerUsable: (provider, libvirtUri) => once(`provider:${provider}:${libvirtUri ?? ''}`, () => probes.providerUsable(provider, libvirtUri)),
    boxes: () => once('boxes', () => probes.boxes()),
    vboxNetworksConf: () => once('vbox', () => probes.vboxNetworksConf()),
    interfaces: () => once('interfaces', () => probes.interfaces()),
    ...(probes.qemuFileAccess && { qemuFileAccess: (path: string) => probes.qemuFileAccess!(path) }),
    ...(probes.kvmFacts && { kvmFacts: () => once('kvm', () => probes.kvmFacts!()) }),
    // A port's state can change between two looks: always look again.
    portFree: (port) => probes.portFree(port),
  };
}

export interface PreflightOptions {
  /** Machines already created (resume): their ports and networks are theirs already. */
  existing?: boolean;
  /** The lab's directory (where its Ignition files will be). */
  labDir?: string;
}

/** The release numbers in what the probe reported ("2.3.4"), or undefined when it holds none. */
function releaseOf(text: string): { major: number; minor: number; patch: number } | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

export async function runPreflight(lab: Lab, probes: Probes, opts: PreflightOptions = {}): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  // A lab on another host's libvirt: its networks and QEMU are there, not here.
  const remoteLibvirt = lab.provider === 'libvirt' && remoteLibvirtOf(lab) !== undefined;
  const [version, provider, boxes, conf, ifaces] = await Promise.allSettled([
    probes.vagrantVersion(),
    // The lab's own libvirt when it names one (another host's, or this host's session), else the default.
    probes.providerUsable(lab.provider, lab.provider === 'libvirt' ? lab.libvirt.uri : undefined),
    probes.boxes(),
    providerRecord(lab.provider).readsVboxNetworksConf ? probes.vboxNetworksConf() : Promise.resolve(undefined),
    probes.interfaces(),
  ]);

  // Vagrant
  if (version.status === 'rejected') {
    checks.push({
      check: 'vagrant',
      ok: false,
      message: `vagrant cannot run: ${(version.reason as Error).message}`,
      fix: 'install Vagrant ≥ 2.2.5 (Debian/Ubuntu: apt-get install vagrant; elsewhere the HashiCorp packages)',
    });
  } else {
    const v = releaseOf(version.value);
    const ok = v !== undefined && compareVersion(v, MIN_VAGRANT) >= 0;
    checks.push(
      ok
        ? { check: 'vagrant', ok, message: `Vagrant ${v!.major}.${v!.minor}.${v!.patch}` }
        : { check: 'vagrant', ok, message: `Vagrant ${version.value.trim()} is older than 2.2.5, which Flatcar's boxes need`, fix: 'upgrade Vagrant to 2.2.5 or later' },
    );
  }

  // Provider
  const record = providerRecord(lab.provider);
  if (provider.status === 'fulfilled' && provider.value.ok) {
    checks.push({ check: `provider ${lab.provider}`, ok: true, message: provider.value.detail });
  } else {
    const detail = provider.status === 'fulfilled' ? provider.value.detail : (provider.reason as Error).message;
    checks.push({ check: `provider ${lab.provider}`, ok: false, message: detail, fix: record.fix });
  }

  // Subnet vs host interfaces (the lab's own host-side address, .1, is not a clash)
  const hostIfaces = ifaces.status === 'fulfilled' ? ifaces.value : [];
  const clashes = (net: Cidr, ownGateway: string) =>
    hostIfaces.filter((i) => overlaps(interfaceNetwork(i.address, i.prefix), net) && i.address !== ownGateway);
  const host = { vboxNetworksConf: conf.status === 'fulfilled' ? conf.value : undefined, clashes };
  const subnet = parseCidr(lab.subnet.cidr) as Cidr;
  const subnetClash = clashes(subnet, lab.subnet.gateway);
  if (remoteLibvirt) {
    // This host's interfaces say nothing about the libvirt host's, where the networks are made.
    checks.push({
      check: 'lab networks',
      ok: true,
      note: true,
      message: `${lab.subnet.cidr} and ${lab.libvirt.managementNetwork} are made on the libvirt host (${lab.libvirt.uri}): not checked from here; vagrant-libvirt refuses a clash there`,
    });
  } else checks.push(
    // Ranges the provider refuses (VirtualBox's host-only networks).
    ...record.subnetChecks(lab, host),
    subnetClash.length === 0
      ? { check: 'subnet free on this host', ok: true, message: `no host interface overlaps ${lab.subnet.cidr}` }
      : {
          check: 'subnet free on this host',
          ok: false,
          message: `${lab.subnet.cidr} overlaps ${subnetClash.map((i) => `${i.name} (${i.address}/${i.prefix})`).join(', ')}`,
          fix: 'choose another --subnet (e.g. 192.168.58.0/24) that no host interface uses',
        },
    // Networks the provider creates besides the lab's (libvirt's management network).
    ...record.networkChecks(lab, host),
  );

  // Docker port(s)
  for (const m of lab.machines) {
    if (m.dockerHostPort === undefined || opts.existing) continue;
    const free = await probes.portFree(m.dockerHostPort);
    const check = `docker port ${m.dockerHostPort}`;
    if (free) checks.push({ check, ok: true, message: `127.0.0.1:${m.dockerHostPort} is free for ${m.name}` });
    else if (providerRecord(lab.provider).movesTakenPorts) {
      checks.push({
        check,
        ok: true,
        note: true,
        message: `127.0.0.1:${m.dockerHostPort} is taken: Vagrant will forward another port (auto_correct); cclab reads it back for docker-env`,
      });
    } else {
      checks.push({
        check,
        ok: false,
        message: `127.0.0.1:${m.dockerHostPort} is taken, and ${lab.provider} does not move forwarded ports (its forwarder would exit silently)`,
        fix: `stop what listens on 127.0.0.1:${m.dockerHostPort} (\`ss -ltnp 'sport = :${m.dockerHostPort}'\` names it), or take down the lab that uses it`,
      });
    }
  }

  // Ignition through fw_cfg: QEMU itself opens the lab's config files.
  // (On a remote libvirt host cclab copies them to a directory QEMU's user can read.)
  if (record.qemuOpensIgnition && !remoteLibvirt && opts.labDir !== undefined && probes.qemuFileAccess && provisioningFor(lab, 'vagrant') === 'ignition') {
    checks.push(await ignitionAccessCheck(`${opts.labDir}/${IGNITION_DIR}`, probes.qemuFileAccess));
  }

  // Box
  if (boxes.status === 'rejected') {
    checks.push({ check: `box ${lab.box.name}`, ok: false, message: `cannot list boxes: ${(boxes.reason as Error).message}`, fix: 'run `vagrant box list` to see what is wrong' });
  } else {
    const have = boxes.value.some((b) => b.name === lab.box.name && b.provider === lab.provider);
    // Flatcar's own image where Flatcar publishes no box for the provider: cclab packs it.
    const ownImage = lab.os === 'flatcar' && lab.box.name === flatcarBoxName(lab.channel) && lab.box.url === undefined;
    const flatcarBoxAdd = ownImage ? record.addFlatcarBox?.(lab.channel) : undefined;
    if (have) checks.push({ check: `box ${lab.box.name}`, ok: true, message: `installed for ${lab.provider}` });
    else if (lab.box.url) checks.push({ check: `box ${lab.box.name}`, ok: true, note: true, message: `not installed yet: Vagrant will add it from ${lab.box.url}` });
    else {
      checks.push({
        check: `box ${lab.box.name}`,
        ok: false,
        message: `box ${lab.box.name} is not installed for ${lab.provider} and there is no URL to add it from` +
          (lab.os === 'coreos' ? ' (CoreOS boxes were deleted from the release servers in 2020)' : ''),
        fix: flatcarBoxAdd !== undefined
          ? `add Flatcar’s ${lab.channel} image as this box: ${flatcarBoxAdd} (or pass --box with a ${lab.provider} box you have)`
          : `add it: vagrant box add ${lab.box.name} <file-or-url> --provider ${lab.provider}, or pass --box-url`,
      });
    }
  }
  return checks;
}

/** Can QEMU's user reach the lab's Ignition directory? (Its files are written 0644 by cclab.) */
async function ignitionAccessCheck(dir: string, probe: NonNullable<Probes['qemuFileAccess']>): Promise<PreflightCheck> {
  const check = 'QEMU can read the Ignition files';
  let found;
  try {
    found = await probe(dir);
  } catch (e) {
    return { check, ok: true, note: true, message: `not checked: ${(e as Error).message}` };
  }
  if ('skip' in found) return { check, ok: true, message: found.skip };
  const blocked = blockingSteps(found.chain, found.who);
  if (blocked.length === 0) return { check, ok: true, message: `${found.who.name} (QEMU’s user) can reach ${dir}` };
  const dirs = blocked.map((s) => s.path);
  return {
    check,
    ok: false,
    message: `libvirt runs QEMU as ${found.who.name}, which cannot enter ${dirs.join(', ')} (on the way to ${dir}), so QEMU could not open the machines’ Ignition configs`,
    fix: `let it through: setfacl -m u:${found.who.name}:x ${dirs.join(' ')} (needs the acl package), or set CCLAB_HOME to a directory ${found.who.name} can reach (e.g. one under /var/lib)`,
  };
}
