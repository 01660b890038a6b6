/**
 * One Ignition config (spec 3.3.0) per machine: the machine's provisioning model (./provision.ts)
 * as Ignition's typed data, serialised with JSON.stringify. Spec 3.3.0 is what Flatcar stable's
 * Ignition reads and what Debian's ignition-validate (2.14) accepts; Butane's `flatcar` 1.0.0
 * variant produces it too.
 *
 * What differs from cloud-config, and why: coreos-cloudinit applies its config on a running system,
 * so it starts units (`command: start`) and restarts Docker for the TCP socket; Ignition runs in the
 * initramfs before systemd starts anything, so enabled units simply start at boot. coreos-cloudinit's
 * `coreos.update` and `coreos.locksmith` sections become the files it would have written:
 * `/etc/flatcar/update.conf` and a locksmithd drop-in.
 */
import type { Lab, Machine } from '../lab/types.js';
import { buildProvision, locksmithDropIn, networkFileByMac, networkUnit, updateConf, type DockerServerTls, type MachineProvision, type Target } from './provision.js';

export const IGNITION_VERSION = '3.3.0';

export interface IgnitionFile {
  path: string;
  mode: number;
  overwrite: boolean;
  contents: { source: string; compression?: 'gzip' };
}

/** What Ignition carries that Vagrant would otherwise upload: a local fleetd (--fleetd), gzipped. */
export interface IgnitionExtras {
  /** The local fleetd, gzip-compressed. */
  fleetdGzip?: Uint8Array | undefined;
  /** The lab's own public key (OpenSSH one-line form), given to user core besides the lab's sshKeys. */
  labPublicKey?: string | undefined;
}

export interface IgnitionUnit {
  name: string;
  enabled?: boolean;
  contents?: string;
  dropins?: { name: string; contents: string }[];
}

export interface IgnitionConfig {
  ignition: { version: string };
  passwd: { users: { name: string; sshAuthorizedKeys?: string[] }[] };
  storage: { files: IgnitionFile[] };
  systemd: { units: IgnitionUnit[] };
}

/** Names systemd accepts for the units cclab writes (`x.service`, `x.socket`, …); a guard, since every name is cclab's own. */
const UNIT_NAME = /^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.(service|socket|timer|path|mount|target)$/;
const DROPIN_NAME = /^[A-Za-z0-9_.-]+\.conf$/;
/** An absolute path without `.`/`..` segments, empty segments or odd characters. */
const FILE_PATH = /^(\/[A-Za-z0-9_][A-Za-z0-9_.@-]*)+$/;

/**
 * A file's contents as an RFC 2397 `data:` URL: percent-encoded (every byte outside the URL's
 * unreserved characters; short text stays readable), or base64 when that is shorter (scripts, whose
 * spaces and punctuation would triple in size).
 */
export function dataUrl(contents: string): string {
  const percent = `data:,${encodeURIComponent(contents).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
  const base64 = `data:;base64,${Buffer.from(contents, 'utf8').toString('base64')}`;
  return base64.length < percent.length ? base64 : percent;
}

function file(path: string, mode: number, contents: string): IgnitionFile {
  if (!FILE_PATH.test(path)) throw new TypeError(`refusing to write the path ${JSON.stringify(path)} into Ignition`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new TypeError(`bad mode ${mode} for ${path}`);
  return { path, mode, overwrite: true, contents: { source: dataUrl(contents) } };
}

/** An OpenSSH public key line (`type base64 [comment]`), one line: a guard on the key cclab made. */
function checkPublicKey(key: string): string {
  const k = key.trim();
  if (!/^[a-z0-9@.-]+ [A-Za-z0-9+/]+=* ?[^\r\n]*$/.test(k)) throw new TypeError('the lab’s public key is not one OpenSSH public key line');
  return k;
}

/** The network file's name: systemd-networkd reads /etc/systemd/network/*.network in name order. */
export const NETWORK_FILE = '/etc/systemd/network/00-cclab.network';

/** The provisioning model as Ignition data. */
export function ignitionOf(p: MachineProvision, extras: IgnitionExtras = {}): IgnitionConfig {
  if (p.etcd2 !== undefined || p.fleet !== undefined) {
    throw new TypeError('legacy CoreOS sections (etcd2, fleet) have no Ignition form: legacy CoreOS is provisioned with cloud-config');
  }
  const files: IgnitionFile[] = [file('/etc/hostname', 0o644, `${p.hostname}\n`)];
  // Ignition always configures the lab network: on real machines nothing else does, and on Vagrant
  // (libvirt) the image has no Vagrant OEM, so the NIC is left to the config (auto_config: false).
  // Matched by MAC where it is the NIC's, else by the guide's eth0 (Flatcar keeps kernel names).
  files.push(file(NETWORK_FILE, 0o644, p.network.macKnown ? networkFileByMac(p.network) : networkUnit(p.network)));
  for (const f of p.files) files.push(file(f.path, f.mode, f.contents));
  // A local fleetd reaches a Vagrant machine by upload; a real machine gets it inside its config.
  if (p.units.some((u) => u.name === 'fleet.service') && p.fleetdLocal) {
    if (extras.fleetdGzip === undefined) throw new TypeError('a local fleetd is asked for, but its contents were not given');
    files.push({
      path: '/opt/bin/fleetd',
      mode: 0o755,
      overwrite: true,
      contents: { compression: 'gzip', source: `data:;base64,${Buffer.from(extras.fleetdGzip).toString('base64')}` },
    });
  }
  if (p.update) files.push(file('/etc/flatcar/update.conf', 0o644, updateConf(p.update)));

  const keys = [...(extras.labPublicKey === undefined ? [] : [checkPublicKey(extras.labPublicKey)]), ...p.sshAuthorizedKeys];

  const units: IgnitionUnit[] = [];
  for (const u of p.units) {
    if (u.cloudConfigOnly) continue;
    if (!UNIT_NAME.test(u.name)) throw new TypeError(`refusing the unit name ${JSON.stringify(u.name)}`);
    for (const d of u.dropIns) if (!DROPIN_NAME.test(d.name)) throw new TypeError(`refusing the drop-in name ${JSON.stringify(d.name)}`);
    units.push({
      name: u.name,
      ...(u.enabled && { enabled: true }),
      ...(u.contents !== undefined && { contents: u.contents }),
      ...(u.dropIns.length > 0 && { dropins: u.dropIns.map((d) => ({ name: d.name, contents: d.contents })) }),
    });
  }
  if (p.locksmithEndpoint !== undefined) {
    units.push({ name: 'locksmithd.service', dropins: [{ name: '20-cclab.conf', contents: locksmithDropIn(p.locksmithEndpoint) }] });
  }

  return {
    ignition: { version: IGNITION_VERSION },
    passwd: { users: [{ name: 'core', ...(keys.length > 0 && { sshAuthorizedKeys: keys }) }] },
    storage: { files },
    systemd: { units },
  };
}

export function buildIgnition(lab: Lab, m: Machine, target: Target, extras: IgnitionExtras = {}, dockerTls?: DockerServerTls): IgnitionConfig {
  return ignitionOf(buildProvision(lab, m, target, dockerTls), extras);
}

/** Ignition JSON: two-space indented (people read and diff these files), newline-terminated. */
export function serializeIgnition(config: IgnitionConfig): string {
  return JSON.stringify(config, null, 2) + '\n';
}
