/**
 * One cloud-config per machine: the machine's provisioning model (./provision.ts) written as
 * coreos-cloudinit's data and serialised with the yaml library. Literal addresses only, snake_case
 * keys only; user values never reach YAML or unit text as raw strings.
 */
import { stringify } from 'yaml';
import type { Lab, Machine } from '../lab/types.js';
import { buildProvision, networkUnit, type DockerServerTls, type MachineProvision, type ProvisionUnit, type Target } from './provision.js';

export {
  environmentDropIn,
  etcdSettings,
  fleetMetadataString,
  fleetSettings,
  template,
  TEMPLATES_DIR,
  type Target,
} from './provision.js';

export interface Unit {
  name: string;
  content?: string;
  enable?: boolean;
  runtime?: boolean;
  command?: 'start' | 'restart';
  drop_ins?: { name: string; content: string }[];
}

export interface CloudConfig {
  hostname: string;
  ssh_authorized_keys?: string[];
  write_files?: { path: string; permissions: string; owner: string; content: string }[];
  coreos: {
    units: Unit[];
    etcd2?: Record<string, string>;
    fleet?: Record<string, string>;
    update?: Record<string, string>;
    locksmith?: Record<string, string>;
  };
}

/** A model unit as a coreos-cloudinit unit (keys in the order people read them). */
function cloudConfigUnit(u: ProvisionUnit): Unit {
  return {
    name: u.name,
    ...(u.contents !== undefined && { content: u.contents }),
    ...(u.enabled && { enable: true }),
    ...(u.startOnApply && { command: 'start' as const }),
    ...(u.dropIns.length > 0 && { drop_ins: u.dropIns.map((d) => ({ name: d.name, content: d.contents })) }),
  };
}

/** The provisioning model as cloud-config data. */
export function cloudConfigOf(p: MachineProvision): CloudConfig {
  const units = p.units.map(cloudConfigUnit);
  if (p.configureNetwork) units.push({ name: '00-eth0.network', runtime: true, content: networkUnit(p.network) });
  const coreos: CloudConfig['coreos'] = { units };
  if (p.etcd2) coreos.etcd2 = p.etcd2;
  if (p.fleet) coreos.fleet = p.fleet;
  if (p.update) {
    const update: Record<string, string> = { group: p.update.group };
    if (p.update.server) update.server = p.update.server;
    if (p.update.rebootStrategy) update.reboot_strategy = p.update.rebootStrategy;
    coreos.update = update;
  }
  if (p.locksmithEndpoint !== undefined) coreos.locksmith = { endpoint: p.locksmithEndpoint };
  return {
    hostname: p.hostname,
    ...(p.sshAuthorizedKeys.length > 0 && { ssh_authorized_keys: [...p.sshAuthorizedKeys] }),
    ...(p.files.length > 0 && {
      write_files: p.files.map((f) => ({ path: f.path, permissions: f.mode.toString(8).padStart(4, '0'), owner: 'root', content: f.contents })),
    }),
    coreos,
  };
}

export function buildCloudConfig(lab: Lab, m: Machine, target: Target, dockerTls?: DockerServerTls): CloudConfig {
  return cloudConfigOf(buildProvision(lab, m, target, dockerTls));
}

/**
 * `#cloud-config` + YAML. YAML 1.1 mode quotes the strings coreos-cloudinit's YAML 1.1 parser would
 * otherwise read as booleans or numbers (`on`, `yes`, `0644`); multi-line unit text is a literal block.
 */
export function serializeCloudConfig(cc: CloudConfig): string {
  return '#cloud-config\n' + stringify(cc, { version: '1.1', lineWidth: 0, blockQuote: 'literal', indentSeq: true });
}
