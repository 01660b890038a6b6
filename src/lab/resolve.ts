/**
 * Lab file + flags → the resolved Lab (pure), in three steps as kind's config is: defaults
 * (./defaults.ts), then every rule of every option (./options.ts) with all problems reported
 * together, then the machines built from values known to be good. Values that will reach
 * generated Ruby, YAML or unit files are checked against safe patterns by the rules, and escaped
 * again where they are written.
 */
import { LabConfigError, type Problem } from '../errors.js';
import { ARCHITECTURE_RULES, machineName, type MachineKind } from './architectures.js';
import { withDefaults, type LabValues } from './defaults.js';
import { FIRST_HOST_OFFSET, formatCidr, hostAt, machineMac, normalizeMac, type Cidr } from './net.js';
import { flagOfProblem, LAB_OPTIONS, type LabOption } from './options.js';
import type { LabDocument, LabSpec } from './schema.js';
import { API_VERSION } from './schema.js';
import type { Lab, LibvirtDriver, Machine, Provider } from './types.js';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const DOCKER_PORT = 2375;
/** The Docker API with TLS (docker-machine's port, Docker's registered port for TLS). */
export const DOCKER_TLS_PORT = 2376;

/** Flag values that override the lab file (undefined = not given). */
export interface LabOverrides extends Partial<Omit<LabSpec, 'architecture' | 'metadata' | 'sshKeys' | 'macs'>> {
  /** --macs FILE, read: merged over the file's macs. */
  macs?: Record<string, string>;
  name?: string;
  /** --metadata k=v, merged over the file's metadata. */
  metadata?: Record<string, string>;
}

export interface ResolveInput {
  document: LabDocument;
  /** Where the document came from, for messages (`labs/dev.yaml`, `my-lab.yaml`). */
  source: string;
  overrides?: LabOverrides;
  /** Contents of the SSH public key files (file then flags, whose `flag` is 'ssh-key'), already read. */
  sshKeys?: { source: string; content: string; flag?: string }[];
  /** VAGRANT_DEFAULT_PROVIDER from the environment. */
  defaultProvider?: string | undefined;
  /** Subnets of the labs that already exist, to pick a different default. */
  takenSubnets?: readonly string[];
  /**
   * What the host offers, found by `up` and `doctor` (src/commands/lab-input.ts): the first usable
   * provider (used when neither the lab, a flag nor VAGRANT_DEFAULT_PROVIDER names one) and
   * libvirt's driver (kvm when /dev/kvm can be used, else qemu; used when none is given).
   */
  detected?: { provider?: Provider | undefined; libvirtDriver?: LibvirtDriver | undefined };
}

export interface Resolved {
  lab: Lab;
  warnings: string[];
}

export function resolveLab(input: ResolveInput): Resolved {
  const values = withDefaults(input);
  const warnings = checkLab(values, input.source, input.overrides);
  return { lab: buildLab(values), warnings };
}

/** Runs every option's rule; throws LabConfigError with every problem, in table order. Returns the warnings. */
export function checkLab(values: LabValues, source: string, overrides: LabOverrides = {}): string[] {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const report = {
    bad: (path: string, message: string, flag?: string) => {
      // A value given by a flag is named by its flag, not by the lab file it overrode.
      const from = flag ?? flagOfProblem(path, overrides as Record<string, unknown>);
      problems.push(from ? { path, message, flag: from } : { path, message });
    },
    warn: (w: string) => void warnings.push(w),
  };
  for (const option of LAB_OPTIONS as readonly LabOption[]) option.rule?.(values, report);
  if (problems.length > 0) throw new LabConfigError(source, problems);
  return warnings;
}

/** The machines and the rest of the lab, from values the rules accepted. */
function buildLab(v: LabValues): Lab {
  const { spec, name, os, channel } = v;
  const rules = ARCHITECTURE_RULES[spec.architecture];
  const update = spec.update ?? {};
  const libvirt = spec.libvirt ?? {};
  const machines: Machine[] = [];
  const kinds: { kind: MachineKind; count: number }[] = [];
  if (rules.single) kinds.push({ kind: rules.single, count: 1 });
  if (rules.members) kinds.push({ kind: rules.members.kind, count: v.counts.members });
  if (rules.workers) kinds.push({ kind: rules.workers.kind, count: v.counts.workers });
  const c = v.cidr as Cidr;
  const userMetadata = Object.fromEntries(v.metadata);
  const givenMacs = new Map(v.macs.map(([machine, mac]) => [machine, normalizeMac(mac)!]));
  const clientUrl = (ip: string) => `http://${ip}:${ETCD_CLIENT_PORT}`;
  const peerUrl = (ip: string) => `http://${ip}:${ETCD_PEER_PORT}`;
  let offset = FIRST_HOST_OFFSET;
  for (const { kind, count } of kinds) {
    for (let i = 0; i < count; i++) {
      const ip = hostAt(c, offset++);
      const fleetMetadata: Record<string, string> = {};
      if (kind.fleetRole) fleetMetadata.role = kind.fleetRole;
      Object.assign(fleetMetadata, userMetadata);
      const machine = machineName(kind.prefix, i);
      const givenMac = givenMacs.get(machine);
      machines.push({
        name: machine,
        role: kind.role,
        ip,
        mac: givenMac ?? machineMac(name, machine),
        macGiven: givenMac !== undefined,
        etcd: kind.etcd,
        etcdListen: kind.etcdListen,
        fleet: kind.fleet,
        fleetMetadata: kind.fleet ? fleetMetadata : {},
        dockerTcp: v.dockerTcp,
        dockerHostPort: v.dockerTcp ? (v.dockerTls ? DOCKER_TLS_PORT : DOCKER_PORT) + machines.length : undefined,
        updateGroup:
          kind.updateGroup === 'services'
            ? update.servicesGroup ?? update.group ?? channel
            : kind.updateGroup === 'workers'
              ? update.workersGroup ?? update.group ?? channel
              : undefined,
        locksmithEndpoint: undefined,
      });
    }
  }
  const members = machines
    .filter((m) => m.etcd === 'member')
    .map((m) => ({ name: m.name, ip: m.ip, peerUrl: peerUrl(m.ip), clientUrl: clientUrl(m.ip) }));
  for (const m of machines) {
    if (!rules.workers?.kind.locksmith || m.role !== rules.workers.kind.role) continue;
    // The v2 proxy carries only etcd's v2 HTTP API. Legacy CoreOS's locksmith speaks v2 and uses the
    // local proxy as the guide does; Flatcar's locksmith speaks v3 (gRPC), so it gets the members.
    m.locksmithEndpoint = os === 'coreos' ? clientUrl('127.0.0.1') : members.map((x) => x.clientUrl).join(',');
  }

  return {
    apiVersion: API_VERSION,
    name,
    architecture: spec.architecture,
    os,
    channel,
    provider: v.provider,
    provisioning: v.provisioning,
    box: v.box,
    memory: v.memory,
    cpus: v.cpus,
    subnet: { cidr: formatCidr(c), network: hostAt(c, 0), prefix: c.prefix, gateway: v.gateway },
    dns: v.dns,
    machines,
    etcd: {
      clientPort: ETCD_CLIENT_PORT,
      peerPort: ETCD_PEER_PORT,
      members,
      initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
      clusterToken: `cclab-${name}`,
      discovery: spec.discovery,
      imageTag: v.etcdImageTag,
    },
    fleet: v.fleet,
    docker: { guestPort: v.dockerTls ? DOCKER_TLS_PORT : DOCKER_PORT, tls: v.dockerTls },
    update: { group: update.group, server: update.server, rebootStrategy: v.rebootStrategy },
    sshAuthorizedKeys: v.sshKeys.map((k) => k.content.trim()),
    userMetadata,
    libvirt: {
      driver: v.libvirtDriver,
      cpuMode: libvirt.cpuMode,
      cpuModel: libvirt.cpuModel,
      managementNetwork: v.managementNetwork,
      ...(v.libvirtUri !== undefined && { uri: v.libvirtUri }),
    },
  };
}
