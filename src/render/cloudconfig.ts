/**
 * One cloud-config per machine, built as data and serialised with the yaml library (pure, apart
 * from reading the static unit files under templates/ once). Literal addresses only, snake_case
 * keys only; user values never reach YAML or unit text as raw strings.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Lab, Machine } from '../lab/types.js';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

const templateCache = new Map<string, string>();
/** A static file under templates/ (read once per process). */
export function template(path: string): string {
  let text = templateCache.get(path);
  if (text === undefined) {
    text = readFileSync(TEMPLATES_DIR + path, 'utf8');
    templateCache.set(path, text);
  }
  return text;
}

export type Target = 'vagrant' | 'bare-metal';

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
    etcd2?: Record<string, string>;
    fleet?: Record<string, string>;
    update?: Record<string, string>;
    locksmith?: Record<string, string>;
    units: Unit[];
  };
}

/**
 * A `[Service]` drop-in of `Environment="K=V"` lines. Values are quoted for systemd: `\` and `"`
 * escaped, `%` doubled (specifiers); line breaks are refused (they would start a new directive).
 */
export function environmentDropIn(vars: [string, string][]): string {
  const lines = vars.map(([k, v]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) throw new TypeError(`bad environment variable name ${JSON.stringify(k)}`);
    if (/[\r\n\0]/.test(v)) throw new TypeError(`refusing a line break in the value of ${k}`);
    const quoted = v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
    return `Environment="${k}=${quoted}"`;
  });
  return `[Service]\n${lines.join('\n')}\n`;
}

/** fleet's metadata string: `k=v,k=v` (values were restricted to safe characters when the lab was resolved). */
export function fleetMetadataString(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** etcd settings of one machine, as coreos-cloudinit's etcd2 keys (snake_case). */
export function etcdSettings(lab: Lab, m: Machine): Record<string, string> {
  const port = lab.etcd.clientPort;
  if (m.etcd === 'member') {
    const s: Record<string, string> = {
      name: m.name,
      advertise_client_urls: `http://${m.ip}:${port}`,
      initial_advertise_peer_urls: `http://${m.ip}:${lab.etcd.peerPort}`,
      listen_client_urls: `http://0.0.0.0:${port},http://0.0.0.0:4001`,
      listen_peer_urls: `http://${m.ip}:${lab.etcd.peerPort}`,
    };
    if (lab.etcd.discovery) s.discovery = lab.etcd.discovery;
    else {
      s.initial_cluster = lab.etcd.initialCluster;
      s.initial_cluster_state = 'new';
      s.initial_cluster_token = lab.etcd.clusterToken;
    }
    return s;
  }
  // A v2 proxy in front of the members: on loopback for dev workers (as the guide's dev cluster), on
  // every address for production workers.
  const listen = m.etcdListen === 'loopback' ? `http://127.0.0.1:${port}` : `http://0.0.0.0:${port},http://0.0.0.0:4001`;
  const s: Record<string, string> = { proxy: 'on', listen_client_urls: listen };
  if (lab.etcd.discovery) s.discovery = lab.etcd.discovery;
  else s.initial_cluster = lab.etcd.initialCluster;
  return s;
}

/** fleet settings of one machine, as coreos-cloudinit's fleet keys. */
export function fleetSettings(lab: Lab, m: Machine): Record<string, string> {
  const s: Record<string, string> = { public_ip: m.ip };
  const metadata = fleetMetadataString(m.fleetMetadata);
  if (metadata) s.metadata = metadata;
  // Members serve etcd on every address; proxies only on their own listen address. Either way the
  // local endpoint is the one fleet should use.
  s.etcd_servers = `http://127.0.0.1:${lab.etcd.clientPort}`;
  return s;
}

const upper = (k: string) => k.toUpperCase();

export function buildCloudConfig(lab: Lab, m: Machine, target: Target): CloudConfig {
  const units: Unit[] = [];
  const cc: CloudConfig = { hostname: m.name, coreos: { units } };
  if (lab.sshAuthorizedKeys.length > 0) cc.ssh_authorized_keys = [...lab.sshAuthorizedKeys];

  if (lab.os === 'coreos') {
    // Legacy Container Linux (≤ 1632) ships etcd2 and fleet: configure them through their sections.
    if (m.etcd !== 'none') cc.coreos.etcd2 = etcdSettings(lab, m);
    if (m.fleet) cc.coreos.fleet = fleetSettings(lab, m);
    if (m.etcd !== 'none') units.push({ name: 'etcd2.service', command: 'start' });
    if (m.fleet) units.push({ name: 'fleet.service', command: 'start' });
  } else {
    if (m.etcd !== 'none') {
      const env: [string, string][] = [
        ['ETCD_NAME', m.name],
        ['ETCD_ENABLE_V2', 'true'],
        ...Object.entries(etcdSettings(lab, m))
          .filter(([k]) => k !== 'name')
          .map(([k, v]): [string, string] => [`ETCD_${upper(k)}`, v]),
      ];
      units.push({
        name: 'etcd-member.service',
        enable: true,
        command: 'start',
        drop_ins: [{ name: '20-cclab.conf', content: environmentDropIn(env) }],
      });
    }
    if (m.fleet) {
      if (lab.fleet.localFile === undefined) {
        cc.write_files = [
          { path: '/opt/cclab/install-fleetd.sh', permissions: '0755', owner: 'root', content: template('scripts/install-fleetd.sh') },
        ];
        const env: [string, string][] = [['FLEET_URL', lab.fleet.url]];
        if (lab.fleet.sha256) env.push(['FLEET_SHA256', lab.fleet.sha256]);
        units.push({
          name: 'fleet-install.service',
          content: template('units/fleet-install.service'),
          drop_ins: [{ name: '20-cclab.conf', content: environmentDropIn(env) }],
        });
      }
      const fleetEnv = Object.entries(fleetSettings(lab, m)).map(([k, v]): [string, string] => [`FLEET_${upper(k)}`, v]);
      units.push({
        name: 'fleet.service',
        content: template('units/fleet.service'),
        enable: true,
        command: 'start',
        drop_ins: [{ name: '20-cclab.conf', content: environmentDropIn(fleetEnv) }],
      });
    }
  }

  if (m.dockerTcp) {
    units.push({ name: 'docker-tcp.socket', content: template('units/docker-tcp.socket'), enable: true });
    units.push({ name: 'enable-docker-tcp.service', content: template('units/enable-docker-tcp.service'), command: 'start' });
  }

  if (m.updateGroup !== undefined) {
    const update: Record<string, string> = { group: m.updateGroup };
    if (lab.update.server) update.server = lab.update.server;
    if (lab.update.rebootStrategy) update.reboot_strategy = lab.update.rebootStrategy;
    cc.coreos.update = update;
  }
  if (m.locksmithEndpoint !== undefined) cc.coreos.locksmith = { endpoint: m.locksmithEndpoint };

  if (target === 'bare-metal') {
    units.push({ name: '00-eth0.network', runtime: true, content: networkUnit(lab, m) });
  }
  // Top-level keys in the order people read them.
  const { hostname, ssh_authorized_keys, write_files, coreos } = cc;
  return {
    hostname,
    ...(ssh_authorized_keys ? { ssh_authorized_keys } : {}),
    ...(write_files ? { write_files } : {}),
    coreos,
  };
}

/** The guide's static network unit for real machines (values are validated IPv4 addresses). */
export function networkUnit(lab: Lab, m: Machine): string {
  const dns = lab.dns.map((d) => `DNS=${d}\n`).join('');
  return `[Match]\nName=eth0\n\n[Network]\n${dns}Address=${m.ip}/${lab.subnet.prefix}\nGateway=${lab.subnet.gateway}\n`;
}

/**
 * `#cloud-config` + YAML. YAML 1.1 mode quotes the strings coreos-cloudinit's YAML 1.1 parser would
 * otherwise read as booleans or numbers (`on`, `yes`, `0644`); multi-line unit text is a literal block.
 */
export function serializeCloudConfig(cc: CloudConfig): string {
  return '#cloud-config\n' + stringify(cc, { version: '1.1', lineWidth: 0, blockQuote: 'literal', indentSeq: true });
}
