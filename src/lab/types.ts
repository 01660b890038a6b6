/**
 * The resolved lab: every value decided, every address literal. Rendering, health checks and the
 * boot pipeline read this and nothing else. Built by resolveLab() in ./resolve.ts (pure).
 */

export const ARCHITECTURES = ['laptop', 'small', 'dev', 'production'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const OSES = ['flatcar', 'coreos'] as const;
export type OsName = (typeof OSES)[number];

export const PROVIDERS = ['virtualbox', 'libvirt', 'parallels'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** First-boot config formats: Ignition (Flatcar's own) and coreos-cloudinit's cloud-config (legacy). */
export const PROVISIONINGS = ['cloud-config', 'ignition'] as const;
export type Provisioning = (typeof PROVISIONINGS)[number];

export const REBOOT_STRATEGIES = ['etcd-lock', 'reboot', 'off'] as const;
export type RebootStrategy = (typeof REBOOT_STRATEGIES)[number];

export const LIBVIRT_DRIVERS = ['kvm', 'qemu'] as const;
export type LibvirtDriver = (typeof LIBVIRT_DRIVERS)[number];

/** Release channels of each OS. */
export const CHANNELS: Record<OsName, readonly string[]> = {
  flatcar: ['stable', 'beta', 'alpha', 'lts'],
  coreos: ['stable', 'beta', 'alpha'],
};

/** What a machine does for etcd: a voting member, a v2 proxy in front of the members, or nothing. */
export type EtcdRole = 'member' | 'proxy' | 'none';

/** Role names as they appear in fleet metadata (`role=…`) and in `cclab status`. */
export type Role = 'docker' | 'member' | 'etcd' | 'worker' | 'services';

export interface Machine {
  /** Vagrant machine name and hostname: core-01, etcd-01, worker-01, services-01. */
  name: string;
  role: Role;
  /** Private-network address (literal; never $private_ipv4). */
  ip: string;
  /** MAC of the NIC on the lab network: given (lab file `macs`, --macs), else derived from the lab and machine names. */
  mac: string;
  /** Whether `mac` was given (a real machine's) rather than derived (set by cclab on a Vagrant NIC). */
  macGiven: boolean;
  etcd: EtcdRole;
  /**
   * Where the machine's etcd client URL listens. Members listen on all addresses; dev workers'
   * proxies listen on loopback only (as the seed does), production workers' proxies on all.
   */
  etcdListen: 'all' | 'loopback' | 'none';
  fleet: boolean;
  /** fleet metadata, in order: role first (where the architecture has one), then the user's. */
  fleetMetadata: Record<string, string>;
  /** Whether the Docker API is exposed on TCP (2376 with TLS, else 2375; forwarded to host 127.0.0.1). */
  dockerTcp: boolean;
  /** Host port asked for in the Vagrantfile's forwarded_port (auto_correct may move it). */
  dockerHostPort: number | undefined;
  /** Update group for `coreos.update.group` (production). */
  updateGroup: string | undefined;
  /** locksmith's etcd endpoint (production workers). */
  locksmithEndpoint: string | undefined;
}

export interface EtcdMember {
  name: string;
  ip: string;
  peerUrl: string;
  clientUrl: string;
}

export interface FleetSource {
  /** Release tarball to download at first boot (Flatcar). */
  url: string;
  /** Expected SHA-256 of the tarball; undefined means not verified (README explains). */
  sha256: string | undefined;
  /** A local fleetd binary uploaded by Vagrant instead of downloading (offline labs). */
  localFile: string | undefined;
}

export interface Subnet {
  /** e.g. 192.168.57.0/24 */
  cidr: string;
  network: string;
  prefix: number;
  gateway: string;
}

export interface Box {
  name: string;
  url: string | undefined;
  version: string | undefined;
}

export interface Lab {
  apiVersion: string;
  name: string;
  architecture: Architecture;
  os: OsName;
  channel: string;
  provider: Provider;
  /** The format asked for (lab file or --provisioning); undefined = the target's default (src/render/provision.ts). */
  provisioning: Provisioning | undefined;
  box: Box;
  memory: number;
  cpus: number;
  subnet: Subnet;
  dns: string[];
  machines: Machine[];
  etcd: {
    clientPort: number;
    peerPort: number;
    members: EtcdMember[];
    /** `name=http://ip:2380,…` of the members (static bootstrap). */
    initialCluster: string;
    clusterToken: string;
    /** Opt-in discovery URL; when set, initialCluster is not used for bootstrap. */
    discovery: string | undefined;
    /** etcd image tag Flatcar's etcd-member runs (ETCD_IMAGE_TAG), pinned to 3.5: see README. */
    imageTag: string;
  };
  fleet: FleetSource;
  /**
   * The Docker API of the lab's Docker machines: TLS with client certificates on 2376 (`tls`, the
   * default), or the guide's unauthenticated socket on 2375.
   */
  docker: { guestPort: number; tls: boolean };
  update: {
    group: string | undefined;
    server: string | undefined;
    rebootStrategy: RebootStrategy | undefined;
  };
  /** Public keys (file contents, one key per entry) for ssh_authorized_keys. */
  sshAuthorizedKeys: string[];
  /** Fleet metadata the user added (--metadata), also merged into each machine's fleetMetadata. */
  userMetadata: Record<string, string>;
  libvirt: {
    driver: LibvirtDriver;
    cpuMode: string | undefined;
    cpuModel: string | undefined;
    /** Management network (a /24) that must not clash with host interfaces. */
    managementNetwork: string;
    /**
     * The libvirt the lab runs on (src/providers/libvirt-uri.ts): undefined for this host's
     * default (LIBVIRT_DEFAULT_URI, else qemu:///system); qemu+ssh://… for another host.
     */
    uri?: string | undefined;
  };
}
