/**
 * What cclab needs to know about one Vagrant provider, in one record per provider
 * (virtualbox.ts, libvirt.ts, parallels.ts). Adding a provider is adding a file here and its name
 * to PROVIDERS in src/lab/types.ts; nothing else branches on the provider's name.
 */
import type { Cidr } from '../lab/net.js';
import type { Lab, Provider, Provisioning } from '../lab/types.js';

/** One line of preflight: what was found and, when it failed, how to fix it. */
export interface PreflightCheck {
  check: string;
  ok: boolean;
  /** What was found. */
  message: string;
  /** How to fix it (failures). */
  fix?: string;
  /** A passing check with something worth saying. */
  note?: boolean;
}

export interface HostInterface {
  name: string;
  address: string;
  /** e.g. 24 */
  prefix: number;
}

/** The host tools a provider's usability probe may ask (real ones in src/pipeline/probes.ts). */
export interface ProviderTools {
  env: Record<string, string | undefined>;
  /** Runs a program, resolving with its stdout; rejects with a one-line reason (not installed, failed). */
  run(bin: string, args: string[]): Promise<string>;
  /** Installed Vagrant plugins. */
  plugins(): Promise<{ name: string; version: string }[]>;
}

/** Host facts the provider's own preflight checks read. */
export interface HostFacts {
  /** /etc/vbox/networks.conf, or undefined when absent or not read. */
  vboxNetworksConf: string | undefined;
  /** Host interfaces overlapping `net`, except the one holding `ownGateway` (the lab's own host side). */
  clashes(net: Cidr, ownGateway: string): HostInterface[];
}

export interface ProviderRecord {
  name: Provider;
  /**
   * Boot gating: the line of the first machine's `vagrant up` output after which its shared work
   * is done (box imported, lab networks created), so the other machines may start.
   */
  sharedWorkDone: RegExp;
  /**
   * How the rest boot: true, in one `vagrant up --parallel` (the provider boots machines in
   * parallel inside one process); false, one `vagrant up MACHINE` process each.
   */
  parallelInOneProcess: boolean;
  /** Port forwarding: whether a taken host port is moved (auto_correct) rather than failing silently. */
  movesTakenPorts: boolean;
  /** How a machine's cloud-config reaches it (told to users in `doctor`'s and the README's words). */
  configDelivery: string;
  /** Why a Vagrant lab on this provider cannot be provisioned with Ignition (undefined: it can). */
  ignitionUnsupported: string | undefined;
  /** Box source: the file of Flatcar's Vagrant box JSON under a release's directory, if Flatcar publishes one. */
  flatcarBoxJson: string | undefined;
  /**
   * The command that adds Flatcar's box for this provider when Flatcar publishes none (libvirt:
   * `cclab box add` packs Flatcar's QEMU image); undefined where Vagrant adds it from the box JSON.
   */
  addFlatcarBox: ((channel: string) => string) | undefined;
  /**
   * How Flatcar's own image for this provider is provisioned: cloud-config where its Vagrant box
   * has Flatcar's Vagrant OEM (VirtualBox, Parallels), Ignition where the image has none (libvirt's
   * QEMU image reads Ignition from fw_cfg). A box the user names keeps cloud-config unless asked.
   */
  flatcarProvisioning: Provisioning;
  /** Whether QEMU opens each machine's Ignition file itself (fw_cfg): preflight checks it can. */
  qemuOpensIgnition: boolean;
  /** Preflight: can the provider run here? */
  usable(tools: ProviderTools): Promise<{ ok: boolean; detail: string }>;
  /** Preflight: what to do when it cannot. */
  fix: string;
  /** Preflight: the provider's own checks of the lab's subnet (ranges it refuses). */
  subnetChecks(lab: Lab, host: HostFacts): PreflightCheck[];
  /** Preflight: the provider's checks of other networks it creates on the host. */
  networkChecks(lab: Lab, host: HostFacts): PreflightCheck[];
  /** Whether preflight should read /etc/vbox/networks.conf for this provider. */
  readsVboxNetworksConf: boolean;
}
