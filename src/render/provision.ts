/**
 * What one machine is given at first boot, as typed data: its user and keys, files, units and
 * drop-ins, update and locksmith settings, and its network. Built once from the resolved lab (pure,
 * apart from reading the static unit texts under templates/ once); the cloud-config serialiser
 * (./cloudconfig.ts) and the Ignition serialiser (./ignition.ts) both write this and nothing else,
 * so the two formats cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnsupportedCombinationError } from '../errors.js';
import { providerRecord } from '../providers/index.js';
import type { Lab, Machine, Provisioning } from '../lab/types.js';
import type { Pem } from './docker-tls.js';

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

/** Where the rendered files go: a Vagrant lab, real machines, or a matchbox data directory. */
export type Target = 'vagrant' | 'bare-metal' | 'matchbox';

export interface DropIn {
  name: string;
  contents: string;
}

export interface ProvisionUnit {
  name: string;
  /** The unit file; undefined for units the OS image ships (only enabled or extended here). */
  contents?: string;
  /** Enabled at boot (its [Install] section applied). */
  enabled: boolean;
  /**
   * Started as soon as the config is applied. coreos-cloudinit applies user-data on a running
   * system, so it must start what it adds; Ignition runs before systemd starts anything, so an
   * enabled unit simply starts at boot and this has no Ignition form.
   */
  startOnApply: boolean;
  /**
   * Only needed when the config is applied on a running system (cloud-config): e.g. the unit that
   * restarts Docker so that a socket added after boot takes effect. Ignition leaves it out.
   */
  cloudConfigOnly: boolean;
  dropIns: DropIn[];
}

export interface ProvisionFile {
  path: string;
  /** Permission bits (0o755). */
  mode: number;
  contents: string;
}

export interface UpdateSettings {
  group: string;
  server: string | undefined;
  rebootStrategy: string | undefined;
}

export interface NetworkSettings {
  /** The machine's MAC: deterministic on Vagrant, given for real machines. */
  mac: string;
  /** Whether the MAC is the real NIC's (given by the user, or set on the NIC by cclab). */
  macKnown: boolean;
  address: string;
  prefix: number;
  /** Real machines only: the lab network is then their only network. */
  gateway: string | undefined;
  dns: string[];
}

export interface MachineProvision {
  hostname: string;
  /** SSH keys of user core. */
  sshAuthorizedKeys: string[];
  files: ProvisionFile[];
  units: ProvisionUnit[];
  update: UpdateSettings | undefined;
  locksmithEndpoint: string | undefined;
  /** Legacy CoreOS only: settings of its own etcd2 and fleet (coreos-cloudinit sections). */
  etcd2: Record<string, string> | undefined;
  fleet: Record<string, string> | undefined;
  network: NetworkSettings;
  /** fleetd is the lab's local file (uploaded by Vagrant, carried in Ignition), not downloaded. */
  fleetdLocal: boolean;
  /** Real machines: the network is configured by the config (not by Vagrant). */
  configureNetwork: boolean;
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

function unit(name: string, u: Partial<ProvisionUnit> = {}): ProvisionUnit {
  return { name, enabled: false, startOnApply: false, cloudConfigOnly: false, dropIns: [], ...u };
}

/** Where a Docker machine keeps its TLS files (docker-machine's names: ca.pem, server.pem, server-key.pem). */
export const DOCKER_TLS_DIR = '/etc/docker/tls';

/** The server side of a Docker machine's TLS: the lab's CA and the machine's own certificate and key. */
export interface DockerServerTls {
  ca: string;
  server: Pem;
}

/**
 * dockerd's TLS settings as /etc/docker/daemon.json. dockerd applies them to every TCP listener,
 * including the ones systemd hands it (`-H fd://`, the socket on 2376), and not to unix sockets;
 * a daemon.json leaves the unit's own flags and $DOCKER_OPTS alone (a setting given both ways is
 * an error that stops dockerd, and neither Flatcar's nor Debian's docker.service passes TLS flags).
 */
export function dockerTlsDaemonJson(): string {
  return (
    JSON.stringify(
      { tlsverify: true, tlscacert: `${DOCKER_TLS_DIR}/ca.pem`, tlscert: `${DOCKER_TLS_DIR}/server.pem`, tlskey: `${DOCKER_TLS_DIR}/server-key.pem` },
      null,
      2,
    ) + '\n'
  );
}

/** Everything one machine is given at first boot (`dockerTls`: its server TLS, for a lab whose Docker has TLS). */
export function buildProvision(lab: Lab, m: Machine, target: Target, dockerTls?: DockerServerTls): MachineProvision {
  const units: ProvisionUnit[] = [];
  const files: ProvisionFile[] = [];
  const p: MachineProvision = {
    hostname: m.name,
    sshAuthorizedKeys: [...lab.sshAuthorizedKeys],
    files,
    units,
    update: undefined,
    locksmithEndpoint: m.locksmithEndpoint,
    etcd2: undefined,
    fleet: undefined,
    network: {
      mac: m.mac,
      macKnown: target === 'vagrant' || m.macGiven,
      address: m.ip,
      prefix: lab.subnet.prefix,
      gateway: target === 'vagrant' ? undefined : lab.subnet.gateway,
      dns: target === 'vagrant' ? [] : [...lab.dns],
    },
    fleetdLocal: lab.os === 'flatcar' && m.fleet && lab.fleet.localFile !== undefined,
    configureNetwork: target !== 'vagrant',
  };

  if (lab.os === 'coreos') {
    // Legacy Container Linux (≤ 1632) ships etcd2 and fleet: configure them through their sections.
    if (m.etcd !== 'none') p.etcd2 = etcdSettings(lab, m);
    if (m.fleet) p.fleet = fleetSettings(lab, m);
    if (m.etcd !== 'none') units.push(unit('etcd2.service', { startOnApply: true }));
    if (m.fleet) units.push(unit('fleet.service', { startOnApply: true }));
  } else {
    if (m.etcd !== 'none') {
      const env: [string, string][] = [
        // etcd-member runs whatever image its wrapper defaults to; 3.6 would drop the v2 API and proxy.
        ['ETCD_IMAGE_TAG', lab.etcd.imageTag],
        ['ETCD_NAME', m.name],
        ['ETCD_ENABLE_V2', 'true'],
        ...Object.entries(etcdSettings(lab, m))
          .filter(([k]) => k !== 'name')
          .map(([k, v]): [string, string] => [`ETCD_${upper(k)}`, v]),
      ];
      units.push(unit('etcd-member.service', { enabled: true, startOnApply: true, dropIns: [{ name: '20-cclab.conf', contents: environmentDropIn(env) }] }));
    }
    if (m.fleet) {
      if (lab.fleet.localFile === undefined) {
        files.push({ path: '/opt/cclab/install-fleetd.sh', mode: 0o755, contents: template('scripts/install-fleetd.sh') });
        const env: [string, string][] = [['FLEET_URL', lab.fleet.url]];
        if (lab.fleet.sha256) env.push(['FLEET_SHA256', lab.fleet.sha256]);
        units.push(
          unit('fleet-install.service', { contents: template('units/fleet-install.service'), dropIns: [{ name: '20-cclab.conf', contents: environmentDropIn(env) }] }),
        );
      }
      const fleetEnv = Object.entries(fleetSettings(lab, m)).map(([k, v]): [string, string] => [`FLEET_${upper(k)}`, v]);
      units.push(
        unit('fleet.service', {
          contents: template('units/fleet.service'),
          enabled: true,
          startOnApply: true,
          dropIns: [{ name: '20-cclab.conf', contents: environmentDropIn(fleetEnv) }],
        }),
      );
    }
  }

  if (m.dockerTcp && lab.docker.tls) {
    if (dockerTls === undefined) throw new TypeError(`the TLS certificate of ${m.name}'s Docker API is needed to render it`);
    files.push({ path: `${DOCKER_TLS_DIR}/ca.pem`, mode: 0o644, contents: dockerTls.ca });
    files.push({ path: `${DOCKER_TLS_DIR}/server.pem`, mode: 0o644, contents: dockerTls.server.cert });
    files.push({ path: `${DOCKER_TLS_DIR}/server-key.pem`, mode: 0o600, contents: dockerTls.server.key });
    files.push({ path: '/etc/docker/daemon.json', mode: 0o644, contents: dockerTlsDaemonJson() });
    units.push(unit('docker-tls-tcp.socket', { contents: template('units/docker-tls-tcp.socket'), enabled: true }));
    units.push(unit('enable-docker-tls-tcp.service', { contents: template('units/enable-docker-tls-tcp.service'), startOnApply: true, cloudConfigOnly: true }));
  } else if (m.dockerTcp) {
    units.push(unit('docker-tcp.socket', { contents: template('units/docker-tcp.socket'), enabled: true }));
    units.push(unit('enable-docker-tcp.service', { contents: template('units/enable-docker-tcp.service'), startOnApply: true, cloudConfigOnly: true }));
  }

  if (m.updateGroup !== undefined) p.update = { group: m.updateGroup, server: lab.update.server, rebootStrategy: lab.update.rebootStrategy };
  return p;
}

/** The guide's static network unit for real machines, matched by interface name (values are validated IPv4 addresses). */
export function networkUnit(n: NetworkSettings): string {
  return networkFile(n, `Name=eth0`);
}

/** The same, matched by the NIC's MAC address (what Ignition writes when the MAC is known). */
export function networkFileByMac(n: NetworkSettings): string {
  return networkFile(n, `MACAddress=${n.mac}`);
}

function networkFile(n: NetworkSettings, match: string): string {
  const dns = n.dns.map((d) => `DNS=${d}\n`).join('');
  const gateway = n.gateway === undefined ? '' : `Gateway=${n.gateway}\n`;
  return `[Match]\n${match}\n\n[Network]\n${dns}Address=${n.address}/${n.prefix}\n${gateway}`;
}

/** `/etc/flatcar/update.conf`: what coreos-cloudinit writes for `coreos.update` (values were checked: no line breaks, no quotes). */
export function updateConf(u: UpdateSettings): string {
  const lines: [string, string | undefined][] = [
    ['GROUP', u.group],
    ['SERVER', u.server],
    ['REBOOT_STRATEGY', u.rebootStrategy],
  ];
  return lines
    .filter((l): l is [string, string] => l[1] !== undefined)
    .map(([k, v]) => {
      if (/[\r\n\0]/.test(v)) throw new TypeError(`refusing a line break in ${k}`);
      return `${k}=${v}\n`;
    })
    .join('');
}

/** locksmithd's etcd endpoint, as the drop-in coreos-cloudinit writes for `coreos.locksmith.endpoint`. */
export function locksmithDropIn(endpoint: string): string {
  return environmentDropIn([['LOCKSMITHD_ENDPOINT', endpoint]]);
}

/**
 * The format a lab is rendered in for a target: the lab's choice, else cloud-config on Vagrant (the
 * boxes' OEM applies user-data) and for legacy CoreOS (its Ignition is spec 2.x), Ignition for real
 * machines and matchbox. Combinations that cannot boot are refused, naming what to use instead.
 */
export function provisioningFor(lab: Lab, target: Target): Provisioning {
  const chosen = lab.provisioning ?? (target === 'vagrant' || lab.os === 'coreos' ? 'cloud-config' : 'ignition');
  if (chosen === 'ignition' && lab.os === 'coreos') {
    throw new UnsupportedCombinationError(
      { provisioning: 'ignition', os: 'coreos' },
      'provisioning ignition with --os coreos: legacy CoreOS (≤ 1632) reads only Ignition spec 2.x, which cclab does not write',
      { hint: 'use --provisioning cloud-config, or --os flatcar' },
    );
  }
  if (target === 'matchbox' && lab.os === 'coreos') {
    throw new UnsupportedCombinationError(
      { target: 'matchbox', os: 'coreos' },
      '--target matchbox with --os coreos: cclab’s matchbox profiles boot Flatcar with Ignition (matchbox is dropping cloud-config)',
      { hint: 'use --os flatcar, or --target bare-metal for legacy CoreOS cloud-configs' },
    );
  }
  if (target === 'matchbox' && chosen === 'cloud-config') {
    throw new UnsupportedCombinationError(
      { target: 'matchbox', provisioning: 'cloud-config' },
      '--target matchbox with provisioning cloud-config: matchbox serves Ignition to Flatcar (its cloud-config support is deprecated)',
      { hint: 'drop --provisioning cloud-config, or use --target bare-metal' },
    );
  }
  const refusal = providerRecord(lab.provider).ignitionUnsupported;
  if (target === 'vagrant' && chosen === 'ignition' && refusal !== undefined) {
    throw new UnsupportedCombinationError(
      { provisioning: 'ignition', provider: lab.provider },
      `provisioning ignition with provider ${lab.provider}: ${refusal}`,
      { hint: 'use --provisioning cloud-config (the default on Vagrant), or `cclab render --target bare-metal|matchbox` for Ignition' },
    );
  }
  return chosen;
}
