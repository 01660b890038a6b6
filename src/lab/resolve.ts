/**
 * Lab file + flags → the resolved Lab (pure). Every problem is collected and reported together;
 * values that will reach generated Ruby, YAML or unit files are checked against safe patterns here,
 * and escaped again where they are written.
 */
import { LabConfigError, type Problem } from '../errors.js';
import { ARCHITECTURE_RULES, machineName, type MachineKind } from './architectures.js';
import {
  FIRST_HOST_OFFSET,
  defaultSubnet,
  formatCidr,
  hostAt,
  isIpv4,
  machineCapacity,
  parseCidr,
  type Cidr,
} from './net.js';
import type { LabDocument, LabSpec } from './schema.js';
import { API_VERSION } from './schema.js';
import { PROVIDERS, type Lab, type Machine, type OsName, type Provider } from './types.js';

export const LAB_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const META_KEY = /^[A-Za-z0-9_.-]{1,63}$/;
const META_VALUE = /^[A-Za-z0-9_.:/@+-]{1,253}$/;
const GROUP = /^[A-Za-z0-9._-]{1,128}$/;
const BOX_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const BOX_VERSION = /^[0-9A-Za-z.,<>=~! -]{1,64}$/;
const CPU_WORD = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SSH_KEY = /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( [^\r\n\0]*)?$/;

export const CHANNELS: Record<OsName, readonly string[]> = {
  flatcar: ['stable', 'beta', 'alpha', 'lts'],
  coreos: ['stable', 'beta', 'alpha'],
};

export const DEFAULT_FLEET_URL = 'https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz';
export const DEFAULT_MANAGEMENT_NETWORK = '192.168.121.0/24';
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const DOCKER_PORT = 2375;

/** Flag values that override the lab file (undefined = not given). */
export interface LabOverrides extends Partial<Omit<LabSpec, 'architecture' | 'metadata' | 'sshKeys'>> {
  name?: string;
  /** --metadata k=v, merged over the file's metadata. */
  metadata?: Record<string, string>;
}

export interface ResolveInput {
  document: LabDocument;
  /** Where the document came from, for messages (`labs/dev.yaml`, `my-lab.yaml`). */
  source: string;
  overrides?: LabOverrides;
  /** Contents of the SSH public key files (file then flags), already read. */
  sshKeys?: { source: string; content: string }[];
  /** VAGRANT_DEFAULT_PROVIDER from the environment. */
  defaultProvider?: string | undefined;
  /** Subnets of the labs that already exist, to pick a different default. */
  takenSubnets?: readonly string[];
}

export interface Resolved {
  lab: Lab;
  warnings: string[];
}

export function resolveLab(input: ResolveInput): Resolved {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const o = input.overrides ?? {};
  const spec = mergeSpec(input.document.spec, o);
  const rules = ARCHITECTURE_RULES[spec.architecture];
  const bad = (path: string, message: string) => problems.push({ path, message });

  // Name
  const name = o.name ?? input.document.name ?? spec.architecture;
  if (!LAB_NAME.test(name)) {
    bad('name', `"${printable(name)}" is not a valid lab name: use 1–32 lower-case letters, digits and inner hyphens (e.g. dev-2)`);
  }

  // OS, channel, provider
  const os: OsName = spec.os ?? 'flatcar';
  const channel = spec.channel ?? 'stable';
  if (!CHANNELS[os].includes(channel)) {
    bad('channel', `"${printable(channel)}" is not a ${os} channel (${CHANNELS[os].join(', ')})`);
  }
  let provider: Provider = 'virtualbox';
  if (spec.provider) provider = spec.provider;
  else if (input.defaultProvider) {
    if ((PROVIDERS as readonly string[]).includes(input.defaultProvider)) provider = input.defaultProvider as Provider;
    else bad('provider', `VAGRANT_DEFAULT_PROVIDER is "${printable(input.defaultProvider)}", which cclab does not support (${PROVIDERS.join(', ')}); pass --provider`);
  }

  // Machine counts
  const counts = machineCounts(spec, bad);

  // Subnet and addresses
  const subnetText = spec.subnet ?? defaultSubnet(LAB_NAME.test(name) ? name : 'lab', input.takenSubnets ?? []);
  let cidr: Cidr | undefined;
  if (subnetText === undefined) {
    bad('subnet', 'every default lab subnet (192.168.57.0/24 … 192.168.63.0/24) is used by another lab; pass --subnet or remove a lab');
  } else {
    const parsed = parseCidr(subnetText);
    if (typeof parsed === 'string') bad('subnet', parsed);
    else cidr = parsed;
  }
  const total = counts.members + counts.workers + (rules.single ? 1 : 0);
  if (cidr && total > machineCapacity(cidr)) {
    bad(
      'workers',
      `${total} machines do not fit in ${formatCidr(cidr)}: it holds ${machineCapacity(cidr)} from .${FIRST_HOST_OFFSET}; ` +
        'ask for fewer machines or a larger --subnet (e.g. 10.64.0.0/16)',
    );
  }
  const gateway = spec.gateway ?? (cidr ? hostAt(cidr, 1) : '0.0.0.0');
  if (spec.gateway !== undefined && !isIpv4(spec.gateway)) bad('gateway', `"${printable(spec.gateway)}" is not an IPv4 address`);
  const dns = spec.dns ?? [gateway];
  dns.forEach((d, i) => {
    if (!isIpv4(d)) bad(`dns[${i}]`, `"${printable(d)}" is not an IPv4 address`);
  });

  // Metadata
  const userMetadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.metadata ?? {})) {
    const value = String(v);
    if (!META_KEY.test(k)) bad(`metadata.${printable(k)}`, 'fleet metadata keys are letters, digits, ".", "_" and "-" (fleet joins pairs as k=v,k=v)');
    else if (k === 'role') bad('metadata.role', 'role is set by the architecture (services, worker, etcd); choose another key');
    else if (!META_VALUE.test(value)) {
      bad(`metadata.${k}`, `"${printable(value)}" cannot be fleet metadata: use letters, digits and . _ : / @ + - (no commas, "=", spaces or quotes)`);
    } else userMetadata[k] = value;
  }
  for (const [k, v] of Object.entries(o.metadata ?? {})) {
    if (!META_KEY.test(k)) bad(`metadata.${printable(k)}`, 'fleet metadata keys are letters, digits, ".", "_" and "-"');
    else if (k === 'role') bad('metadata.role', 'role is set by the architecture (services, worker, etcd); choose another key');
    else if (!META_VALUE.test(v)) bad(`metadata.${k}`, `"${printable(v)}" cannot be fleet metadata: use letters, digits and . _ : / @ + - (no commas, "=", spaces or quotes)`);
    else userMetadata[k] = v;
  }

  // Box
  const box = resolveBox(spec, os, channel, provider, bad);

  // Update and locksmith
  const update = spec.update ?? {};
  for (const key of ['group', 'servicesGroup', 'workersGroup'] as const) {
    const v = update[key];
    if (v !== undefined && !GROUP.test(v)) bad(`update.${key}`, `"${printable(v)}" is not a valid update group (letters, digits, ".", "_", "-")`);
  }
  if (update.server !== undefined) checkUrl('update.server', update.server, ['http:', 'https:'], bad);
  if (!rules.updates && (update.group || update.servicesGroup || update.workersGroup || update.server)) {
    warnings.push(`update groups and servers apply to the production architecture; ignored for ${spec.architecture}`);
  }

  // Discovery
  if (spec.discovery !== undefined) {
    checkUrl('discovery', spec.discovery, ['http:', 'https:'], bad);
    warnings.push('discovery.etcd.io is deprecated and was answering 503 in 2026; the default static initial_cluster needs no service');
  }

  // fleet source
  const fleet = spec.fleet ?? {};
  const fleetUrl = fleet.url ?? DEFAULT_FLEET_URL;
  checkUrl('fleet.url', fleetUrl, ['https:', 'http:'], bad);
  if (fleet.sha256 !== undefined && !SHA256.test(fleet.sha256)) bad('fleet.sha256', 'must be 64 lower-case hex digits');
  if (fleet.localFile !== undefined && /[\0\r\n]|\p{Cs}/u.test(fleet.localFile)) {
    bad('fleet.localFile', 'a path cannot contain NUL, line breaks or unpaired UTF-16 surrogates');
  }
  const needsFleet = rules.members !== undefined;
  if (os === 'flatcar' && needsFleet && fleet.localFile === undefined && fleet.sha256 === undefined) {
    warnings.push(
      'fleetd will be downloaded at first boot without a checksum: pass --fleet-sha256 to verify it, or --fleetd FILE to upload a local binary',
    );
  }
  if (os === 'coreos' && (fleet.localFile !== undefined || fleet.url !== undefined || fleet.sha256 !== undefined)) {
    warnings.push('legacy CoreOS images ship fleet; the fleet download and upload settings apply to Flatcar only');
  }

  // SSH keys
  const sshAuthorizedKeys: string[] = [];
  for (const key of input.sshKeys ?? []) {
    const content = key.content.trim();
    if (!SSH_KEY.test(content) || content.length > 16384) {
      bad('sshKeys', `${printable(key.source)} is not one OpenSSH public key line (ssh-ed25519 AAAA… comment)`);
    } else sshAuthorizedKeys.push(content);
  }

  // libvirt
  const libvirt = spec.libvirt ?? {};
  for (const key of ['cpuMode', 'cpuModel'] as const) {
    const v = libvirt[key];
    if (v !== undefined && !CPU_WORD.test(v)) bad(`libvirt.${key}`, `"${printable(v)}" is not a libvirt CPU ${key === 'cpuMode' ? 'mode' : 'model'}`);
  }
  const managementNetwork = libvirt.managementNetwork ?? DEFAULT_MANAGEMENT_NETWORK;
  const mgmt = parseCidr(managementNetwork);
  if (typeof mgmt === 'string') bad('libvirt.managementNetwork', mgmt);

  // Machines
  if (spec.memory !== undefined && (!Number.isInteger(spec.memory) || spec.memory < 512 || spec.memory > 65536)) {
    bad('memory', 'must be between 512 and 65536 MiB');
  }
  if (spec.cpus !== undefined && (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > 64)) bad('cpus', 'must be between 1 and 64');
  if (counts.members > 0 && counts.members % 2 === 0) {
    warnings.push(`${counts.members} etcd members tolerate no more failures than ${counts.members - 1}; an odd count is the better choice`);
  }

  if (problems.length > 0) throw new LabConfigError(input.source, problems);

  const dockerTcp = rules.dockerAlways || spec.dockerTcp === true;
  if (rules.dockerAlways && spec.dockerTcp === false) warnings.push('the laptop architecture always exposes Docker; --no-docker-tcp ignored');
  const machines: Machine[] = [];
  const kinds: { kind: MachineKind; count: number }[] = [];
  if (rules.single) kinds.push({ kind: rules.single, count: 1 });
  if (rules.members) kinds.push({ kind: rules.members.kind, count: counts.members });
  if (rules.workers) kinds.push({ kind: rules.workers.kind, count: counts.workers });
  const c = cidr!;
  const clientUrl = (ip: string) => `http://${ip}:${ETCD_CLIENT_PORT}`;
  const peerUrl = (ip: string) => `http://${ip}:${ETCD_PEER_PORT}`;
  let offset = FIRST_HOST_OFFSET;
  for (const { kind, count } of kinds) {
    for (let i = 0; i < count; i++) {
      const ip = hostAt(c, offset++);
      const fleetMetadata: Record<string, string> = {};
      if (kind.fleetRole) fleetMetadata.role = kind.fleetRole;
      Object.assign(fleetMetadata, userMetadata);
      machines.push({
        name: machineName(kind.prefix, i),
        role: kind.role,
        ip,
        etcd: kind.etcd,
        etcdListen: kind.etcdListen,
        fleet: kind.fleet,
        fleetMetadata: kind.fleet ? fleetMetadata : {},
        dockerTcp,
        dockerHostPort: dockerTcp ? DOCKER_PORT + machines.length : undefined,
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

  const lab: Lab = {
    apiVersion: API_VERSION,
    name,
    architecture: spec.architecture,
    os,
    channel,
    provider,
    box,
    memory: spec.memory ?? 1024,
    cpus: spec.cpus ?? 1,
    subnet: { cidr: formatCidr(c), network: hostAt(c, 0), prefix: c.prefix, gateway },
    dns,
    machines,
    etcd: {
      clientPort: ETCD_CLIENT_PORT,
      peerPort: ETCD_PEER_PORT,
      members,
      initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
      clusterToken: `cclab-${name}`,
      discovery: spec.discovery,
    },
    fleet: { url: fleetUrl, sha256: fleet.sha256, localFile: fleet.localFile },
    docker: { guestPort: DOCKER_PORT },
    update: {
      group: update.group,
      server: update.server,
      rebootStrategy: update.rebootStrategy ?? (rules.updates ? 'etcd-lock' : undefined),
    },
    sshAuthorizedKeys,
    userMetadata,
    libvirt: {
      driver: libvirt.driver ?? 'kvm',
      cpuMode: libvirt.cpuMode,
      cpuModel: libvirt.cpuModel,
      managementNetwork,
    },
  };
  return { lab, warnings };
}

function machineCounts(spec: LabSpec, bad: (path: string, message: string) => void): { members: number; workers: number } {
  const rules = ARCHITECTURE_RULES[spec.architecture];
  const arch = spec.architecture;
  let members = 0;
  let workers = 0;
  if (rules.members) {
    const other = rules.members.option === 'members' ? 'services' : 'members';
    const given = spec[rules.members.option] ?? spec[other];
    if (spec.members !== undefined && spec.services !== undefined && spec.members !== spec.services) {
      bad(rules.members.option, `--members ${spec.members} and --services ${spec.services} disagree; give one`);
    }
    members = given ?? rules.members.default;
    if (members < rules.members.min || members > rules.members.max) {
      const range = rules.members.min === rules.members.max ? `exactly ${rules.members.min}` : `${rules.members.min}–${rules.members.max}`;
      bad(rules.members.option, `${arch} takes ${range} ${rules.members.option}, not ${members}: ${rules.members.why}`);
    }
  } else if (spec.members !== undefined || spec.services !== undefined) {
    bad('members', `${arch} has exactly one machine: ${rules.summary}; --members/--services do not apply`);
  }
  if (rules.workers) {
    workers = spec.workers ?? rules.workers.default;
    if (workers < rules.workers.min || workers > rules.workers.max) {
      bad('workers', `${arch} takes ${rules.workers.min}–${rules.workers.max} workers, not ${workers}: ${rules.workers.why}`);
    }
  } else if (spec.workers !== undefined && spec.workers !== 0) {
    bad('workers', `${arch} has no workers (${rules.summary})${arch === 'small' ? '; use --members, or the dev or production architecture' : ''}`);
  }
  return { members, workers };
}

const FLATCAR_BOX_JSON: Partial<Record<Provider, string>> = {
  virtualbox: 'flatcar_production_vagrant.json',
  parallels: 'flatcar_production_vagrant_parallels.json',
};

function resolveBox(
  spec: LabSpec,
  os: OsName,
  channel: string,
  provider: Provider,
  bad: (path: string, message: string) => void,
): Lab['box'] {
  const given = spec.box ?? {};
  const name = given.name ?? `${os}-${channel}`;
  if (!BOX_NAME.test(name)) bad('box.name', `"${printable(name)}" is not a Vagrant box name (letters, digits, . _ - /)`);
  if (given.version !== undefined && !BOX_VERSION.test(given.version)) {
    bad('box.version', `"${printable(given.version)}" is not a Vagrant version constraint such as ">= 3815.2.0"`);
  }
  let url = given.url;
  if (url !== undefined) checkUrl('box.url', url, ['http:', 'https:', 'file:'], bad);
  else if (given.name === undefined) {
    if (os === 'flatcar') {
      const json = FLATCAR_BOX_JSON[provider];
      if (json) url = `https://${channel}.release.flatcar-linux.net/amd64-usr/current/${json}`;
      else {
        bad('box', `Flatcar publishes no ${provider} box; pass --box with a ${provider} box you have (see \`vagrant box list\`)`);
      }
    }
    // Legacy CoreOS boxes were deleted from the release servers in 2020: only a box already added
    // under its name can be used, so there is no URL to fall back on (preflight says so).
  }
  return { name, url, version: given.version };
}

function checkUrl(path: string, value: string, schemes: string[], bad: (path: string, message: string) => void): void {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || !schemes.includes(u.protocol) || /[\s"'\\`\0]|\p{Cs}/u.test(value)) {
    bad(path, `"${printable(value)}" is not a ${schemes.map((s) => s.replace(':', '')).join('/')} URL`);
  }
}

/** Shows a hostile value safely inside a message (control characters escaped, length capped). */
export function printable(value: string): string {
  const s = JSON.stringify(value).slice(1, -1);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Flags over the file: scalars replace, nested groups (box, update, fleet, libvirt) merge field by field. */
function mergeSpec(file: LabSpec, flags: LabOverrides): LabSpec {
  const merged: Record<string, unknown> = { ...file };
  // --members and --services name the same count: a flag replaces the file's value under either name.
  if (flags.members !== undefined && flags.services === undefined) delete merged.services;
  if (flags.services !== undefined && flags.members === undefined) delete merged.members;
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || key === 'name' || key === 'metadata') continue;
    const current = merged[key];
    if (isPlainObject(value) && isPlainObject(current)) {
      merged[key] = { ...current, ...Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) };
    } else if (isPlainObject(value)) {
      merged[key] = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
    } else merged[key] = value;
  }
  return merged as LabSpec;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
