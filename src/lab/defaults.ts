/**
 * Step one of resolving a lab (pure): the lab file with the flags over it, and every value that
 * was not given filled with its default. Nothing is checked here (src/lab/options.ts' rules do
 * that next); values that cannot be used are kept as given so the rules can name them.
 */
import { ARCHITECTURE_RULES } from './architectures.js';
import { defaultSubnet, hostAt, parseCidr, type Cidr } from './net.js';
import { parseLibvirtUri, type LibvirtConnection } from '../providers/libvirt-uri.js';
import { LAB_NAME } from './options.js';
import type { ResolveInput } from './resolve.js';
import type { LabSpec } from './schema.js';
import { providerRecord } from '../providers/index.js';
import { PROVIDERS, type Box, type FleetSource, type LibvirtDriver, type OsName, type Provider, type Provisioning, type RebootStrategy } from './types.js';

export const DEFAULT_FLEET_URL = 'https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz';
/**
 * The etcd image Flatcar's etcd-member runs unless the lab says otherwise: a 3.5 release, because
 * etcd 3.6 removed the v2 API and the v2 proxy that fleet and the workers need (README: the etcd pin).
 */
export const DEFAULT_ETCD_IMAGE_TAG = 'v3.5.16';
export const DEFAULT_MANAGEMENT_NETWORK = '192.168.121.0/24';

/** A lab's values once defaults are applied: what the rules check and the lab is built from. */
export interface LabValues {
  /** The lab file with the flags over it, as given (rules that care whether a value was given read it). */
  spec: LabSpec;
  name: string;
  os: OsName;
  channel: string;
  provider: Provider;
  /** VAGRANT_DEFAULT_PROVIDER when it names a provider cclab does not support (and no --provider). */
  unsupportedDefaultProvider: string | undefined;
  counts: { members: number; workers: number };
  /** The parsed subnet, or why it does not parse; undefined when every default subnet is taken. */
  cidr: Cidr | string | undefined;
  gateway: string;
  dns: string[];
  /** Given MACs (the file's, then --macs'), as given. */
  macs: [string, string][];
  /** The etcd image tag (v3.5.16 unless given). */
  etcdImageTag: string;
  /** The file's fleet metadata then the flags', as text, in order. */
  metadata: [string, string][];
  box: Box;
  /**
   * The format asked for, or the one Flatcar's own image on this provider takes when the lab uses
   * it (Ignition on libvirt); undefined: the render target's default (src/render/provision.ts).
   */
  provisioning: Provisioning | undefined;
  fleet: FleetSource;
  sshKeys: { source: string; content: string; flag?: string }[];
  managementNetwork: string;
  managementCidr: Cidr | string;
  /** libvirt's driver: given, else the one `up` found usable (kvm or qemu), else kvm. */
  libvirtDriver: LibvirtDriver;
  /** --libvirt-uri as given, and what it parses to (or why it does not). */
  libvirtUri: string | undefined;
  libvirtConnection: LibvirtConnection | string | undefined;
  memory: number;
  cpus: number;
  dockerTcp: boolean;
  /** The Docker API with TLS and client certificates (default), else the guide's plain 2375. */
  dockerTls: boolean;
  rebootStrategy: RebootStrategy | undefined;
}

export function withDefaults(input: ResolveInput): LabValues {
  const o = input.overrides ?? {};
  const spec = mergeSpec(input.document.spec, o);
  const rules = ARCHITECTURE_RULES[spec.architecture];
  const name = o.name ?? input.document.name ?? spec.architecture;
  const os: OsName = spec.os ?? 'flatcar';
  const channel = spec.channel ?? 'stable';

  // --provider or the lab file, else VAGRANT_DEFAULT_PROVIDER, else the first usable on this host
  // (when `up` or `doctor` looked), else VirtualBox, the guide's.
  let provider: Provider = input.detected?.provider ?? 'virtualbox';
  let unsupportedDefaultProvider: string | undefined;
  if (spec.provider) provider = spec.provider;
  else if (input.defaultProvider) {
    if ((PROVIDERS as readonly string[]).includes(input.defaultProvider)) provider = input.defaultProvider as Provider;
    else unsupportedDefaultProvider = input.defaultProvider;
  }

  let members = 0;
  let workers = 0;
  if (rules.members) {
    const other = rules.members.option === 'members' ? 'services' : 'members';
    members = spec[rules.members.option] ?? spec[other] ?? rules.members.default;
  }
  if (rules.workers) workers = spec.workers ?? rules.workers.default;

  const subnet = spec.subnet ?? defaultSubnet(LAB_NAME.test(name) ? name : 'lab', input.takenSubnets ?? []);
  const cidr = subnet === undefined ? undefined : parseCidr(subnet);
  const gateway = spec.gateway ?? (typeof cidr === 'object' ? hostAt(cidr, 1) : '0.0.0.0');

  const metadata = new Map<string, string>();
  for (const [k, v] of Object.entries(spec.metadata ?? {})) metadata.set(k, String(v));
  for (const [k, v] of Object.entries(o.metadata ?? {})) metadata.set(k, v);

  const givenBox = spec.box ?? {};
  let boxUrl = givenBox.url;
  if (boxUrl === undefined && givenBox.name === undefined && os === 'flatcar') {
    const json = providerRecord(provider).flatcarBoxJson;
    if (json) boxUrl = `https://${channel}.release.flatcar-linux.net/amd64-usr/current/${json}`;
  }

  // Flatcar's own image (no box named) is provisioned the way it can be on this provider.
  const ownFlatcarImage = os === 'flatcar' && givenBox.name === undefined && givenBox.url === undefined;
  const flatcarProvisioning = providerRecord(provider).flatcarProvisioning;
  const provisioning = spec.provisioning ?? (ownFlatcarImage && flatcarProvisioning === 'ignition' ? 'ignition' : undefined);

  const fleet = spec.fleet ?? {};
  const libvirt = spec.libvirt ?? {};
  const managementNetwork = libvirt.managementNetwork ?? DEFAULT_MANAGEMENT_NETWORK;
  return {
    spec,
    name,
    os,
    channel,
    provider,
    unsupportedDefaultProvider,
    counts: { members, workers },
    cidr,
    gateway,
    dns: spec.dns ?? [gateway],
    metadata: [...metadata],
    macs: Object.entries(spec.macs ?? {}),
    etcdImageTag: spec.etcd?.version === undefined ? DEFAULT_ETCD_IMAGE_TAG : spec.etcd.version.startsWith('v') ? spec.etcd.version : `v${spec.etcd.version}`,
    box: { name: givenBox.name ?? `${os}-${channel}`, url: boxUrl, version: givenBox.version },
    provisioning,
    fleet: { url: fleet.url ?? DEFAULT_FLEET_URL, sha256: fleet.sha256, localFile: fleet.localFile },
    sshKeys: input.sshKeys ?? [],
    managementNetwork,
    managementCidr: parseCidr(managementNetwork),
    libvirtDriver: libvirt.driver ?? input.detected?.libvirtDriver ?? 'kvm',
    libvirtUri: libvirt.uri,
    libvirtConnection: libvirt.uri === undefined ? undefined : parseLibvirtUri(libvirt.uri),
    memory: spec.memory ?? 1024,
    cpus: spec.cpus ?? 1,
    dockerTcp: rules.dockerAlways || spec.dockerTcp === true,
    dockerTls: spec.docker?.tls ?? true,
    rebootStrategy: spec.update?.rebootStrategy ?? (rules.updates ? 'etcd-lock' : undefined),
  };
}

/** Flags over the file: scalars replace, nested groups (box, update, fleet, libvirt) merge field by field. */
function mergeSpec(file: LabSpec, flags: NonNullable<ResolveInput['overrides']>): LabSpec {
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
