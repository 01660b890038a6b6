/**
 * The cloud-config schema understood by coreos-cloudinit, as data.
 *
 * Transcribed from the Go structs of coreos-cloudinit's `config/*.go` (identical in coreos/coreos-cloudinit
 * v1.13–v1.14 and in flatcar/coreos-cloudinit today): the YAML key of every field, its Go kind, the `valid`
 * pattern the validator enforces and the `deprecated` notes it prints. Only the key names, kinds and allowed
 * values are taken from there; the wording of the notes is cclab's.
 */
import { REBOOT_STRATEGIES, type OsName } from '../lab/types.js';

import { show } from './yamlscalar.js';

/** The OS whose rules apply: the lab model's OS names. */
export type TargetOs = OsName;

/** A value constraint: returns a problem description, or undefined when `text` is acceptable. */
export interface ValueRule {
  /** `text` is the value as written (coreos-cloudinit decodes scalars into string fields as their source text). */
  check(text: string, os: TargetOs): { severity: 'error' | 'warning'; message: string } | undefined;
}

export type FieldType =
  | { kind: 'string'; rule?: ValueRule }
  | { kind: 'int' }
  | { kind: 'float' }
  | { kind: 'bool' }
  | { kind: 'list'; of: FieldType }
  | { kind: 'struct'; fields: Readonly<Record<string, Field>> };

export interface Field {
  type: FieldType;
  /** Set when coreos-cloudinit reports the key as deprecated: the explanation, per target. */
  deprecated?: (os: TargetOs) => string;
}

const str: Field = { type: { kind: 'string' } };
const int: Field = { type: { kind: 'int' } };
const float: Field = { type: { kind: 'float' } };
const bool: Field = { type: { kind: 'bool' } };
const strList: Field = { type: { kind: 'list', of: { kind: 'string' } } };

function oneOf(name: string, values: readonly string[], extra?: ValueRule['check']): ValueRule {
  return {
    check(text, os) {
      if (values.includes(text)) return undefined;
      const special = extra?.(text, os);
      if (special) return special;
      const allowed = values.length === 1 ? `must be "${values[0]}"` : `must be one of ${values.join(', ')}`;
      return { severity: 'error', message: `invalid value ${show(text)} for "${name}": ${allowed} (case-sensitive)` };
    },
  };
}

function matching(name: string, pattern: RegExp, expected: string): ValueRule {
  return {
    check(text) {
      if (pattern.test(text)) return undefined;
      return { severity: 'error', message: `invalid value ${show(text)} for "${name}": ${expected}` };
    },
  };
}

function withRule(rule: ValueRule): Field {
  return { type: { kind: 'string', rule } };
}

function deprecated(field: Field, note: (os: TargetOs) => string): Field {
  return { ...field, deprecated: note };
}

function struct(fields: Record<string, Field>): FieldType {
  return { kind: 'struct', fields };
}

export const UNIT_COMMANDS = [
  'start',
  'stop',
  'restart',
  'reload',
  'try-restart',
  'reload-or-restart',
  'reload-or-try-restart',
] as const;

export const FILE_ENCODINGS = ['base64', 'b64', 'gz', 'gzip', 'gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64'] as const;

const DAYS = new Set(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
const WINDOW_START = /^(?:([A-Za-z]{3}) )?0*([0-9]|1[0-9]|2[0-3]):0*([0-9]|[1-5][0-9])$/;

const windowStart: ValueRule = {
  check(text) {
    const m = WINDOW_START.exec(text);
    if (m && (m[1] === undefined || DAYS.has(m[1].toLowerCase()))) return undefined;
    return {
      severity: 'error',
      message: `invalid value ${show(text)} for "window_start": expected "HH:MM" or "Day HH:MM" (e.g. "Thu 04:00")`,
    };
  },
};

const unit: FieldType = struct({
  name: str,
  mask: bool,
  enable: bool,
  runtime: bool,
  content: str,
  command: withRule(oneOf('command', UNIT_COMMANDS)),
  drop_ins: { type: { kind: 'list', of: struct({ name: str, content: str }) } },
});

const file: FieldType = struct({
  encoding: withRule(oneOf('encoding', FILE_ENCODINGS)),
  content: str,
  owner: str,
  path: str,
  permissions: withRule(
    matching('permissions', /^0?[0-7]{3,4}$/, 'must be an octal mode written as a quoted string, such as "0644"'),
  ),
});

const importNote = (): string =>
  'coreos-cloudinit deprecated fetching keys from a remote endpoint at boot (too many intermittent failures): list the keys in ssh_authorized_keys';

const user: FieldType = struct({
  name: str,
  passwd: str,
  ssh_authorized_keys: strList,
  coreos_ssh_import_github: deprecated(str, importNote),
  coreos_ssh_import_github_users: deprecated(strList, importNote),
  coreos_ssh_import_url: deprecated(str, importNote),
  gecos: str,
  homedir: str,
  no_create_home: bool,
  primary_group: str,
  groups: strList,
  no_user_group: bool,
  system: bool,
  no_log_init: bool,
  shell: str,
});

const etcd2OptionNote = (): string => 'etcd2 options do not work for etcd 0.4: put it under coreos.etcd2';
const etcd2Option = (f: Field): Field => deprecated(f, etcd2OptionNote);

/** coreos.etcd: etcd 0.4. */
const etcd: FieldType = struct({
  addr: str,
  advertise_client_urls: etcd2Option(str),
  bind_addr: str,
  ca_file: str,
  cert_file: str,
  cluster_active_size: int,
  cluster_remove_delay: float,
  cluster_sync_interval: float,
  cors: str,
  data_dir: str,
  discovery: str,
  discovery_fallback: etcd2Option(str),
  discovery_srv: etcd2Option(str),
  discovery_proxy: etcd2Option(str),
  election_timeout: etcd2Option(int),
  force_new_cluster: etcd2Option(bool),
  graphite_host: str,
  heartbeat_interval: etcd2Option(int),
  http_read_timeout: float,
  http_write_timeout: float,
  initial_advertise_peer_urls: etcd2Option(str),
  initial_cluster: etcd2Option(str),
  initial_cluster_state: etcd2Option(str),
  initial_cluster_token: etcd2Option(str),
  key_file: str,
  listen_client_urls: etcd2Option(str),
  listen_peer_urls: etcd2Option(str),
  max_result_buffer: int,
  max_retry_attempts: int,
  max_snapshots: etcd2Option(int),
  max_wals: etcd2Option(int),
  name: str,
  peer_addr: str,
  peer_bind_addr: str,
  peer_ca_file: str,
  peer_cert_file: str,
  peer_election_timeout: int,
  peer_heartbeat_interval: int,
  peer_key_file: str,
  peers: str,
  peers_file: str,
  proxy: etcd2Option(str),
  retry_interval: float,
  snapshot: bool,
  snapshot_count: int,
  trace: str,
  verbose: bool,
  very_verbose: bool,
  very_very_verbose: bool,
});

const etcd2: FieldType = struct({
  advertise_client_urls: str,
  ca_file: deprecated(str, () => 'obsoleted by trusted_ca_file and client_cert_auth'),
  cert_file: str,
  client_cert_auth: bool,
  cors: str,
  data_dir: str,
  debug: bool,
  discovery: str,
  discovery_fallback: str,
  discovery_srv: str,
  discovery_proxy: str,
  election_timeout: int,
  enable_pprof: bool,
  force_new_cluster: bool,
  heartbeat_interval: int,
  initial_advertise_peer_urls: str,
  initial_cluster: str,
  initial_cluster_state: str,
  initial_cluster_token: str,
  key_file: str,
  listen_client_urls: str,
  listen_peer_urls: str,
  log_package_levels: str,
  max_snapshots: int,
  max_wals: int,
  name: str,
  peer_ca_file: deprecated(str, () => 'obsoleted by peer_trusted_ca_file and peer_client_cert_auth'),
  peer_cert_file: str,
  peer_key_file: str,
  peer_client_cert_auth: bool,
  peer_trusted_ca_file: str,
  proxy: withRule(oneOf('proxy', ['on', 'off', 'readonly'])),
  proxy_dial_timeout: int,
  proxy_failure_wait: int,
  proxy_read_timeout: int,
  proxy_refresh_interval: int,
  proxy_write_timeout: int,
  snapshot_count: int,
  strict_reconfig_check: bool,
  trusted_ca_file: str,
  wal_dir: str,
});

const fleet: FieldType = struct({
  agent_ttl: str,
  authorized_keys_file: str,
  disable_engine: bool,
  engine_reconcile_interval: float,
  etcd_cafile: str,
  etcd_certfile: str,
  etcd_keyfile: str,
  etcd_key_prefix: str,
  etcd_request_timeout: float,
  etcd_servers: str,
  etcd_username: str,
  etcd_password: str,
  metadata: str,
  public_ip: str,
  token_limit: int,
  verbosity: int,
  verify_units: bool,
});

const flannel: FieldType = struct({
  etcd_endpoints: str,
  etcd_cafile: str,
  etcd_certfile: str,
  etcd_keyfile: str,
  etcd_prefix: str,
  etcd_username: str,
  etcd_password: str,
  ip_masq: str,
  subnet_file: str,
  interface: str,
  public_ip: str,
});

const locksmith: FieldType = struct({
  endpoint: str,
  etcd_cafile: str,
  etcd_certfile: str,
  etcd_keyfile: str,
  etcd_username: str,
  etcd_password: str,
  group: str,
  window_start: withRule(windowStart),
  window_length: withRule(
    matching('window_length', /^[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+$/, 'expected a duration such as "1h30m"'),
  ),
});

const oem: FieldType = struct({ id: str, name: str, version_id: str, home_url: str, bug_report_url: str });

/**
 * `best-effort` was a valid reboot strategy until coreos-cloudinit v1.14 (April 2018); the legacy CoreOS
 * releases that still ship etcd2 and fleet (≤ 1632) carry v1.13, which accepts it.
 */
const rebootStrategy = oneOf('reboot_strategy', REBOOT_STRATEGIES, (text, os) =>
  os === 'coreos' && text === 'best-effort'
    ? {
        severity: 'warning',
        message:
          '"best-effort" is accepted by the coreos-cloudinit of legacy CoreOS (before v1.14) but was removed later and is invalid on Flatcar: use etcd-lock or reboot',
      }
    : undefined,
);

const update: FieldType = struct({
  reboot_strategy: withRule(rebootStrategy),
  group: str,
  server: str,
});

const DEPRECATED_SERVICE: Record<'etcd' | 'etcd2' | 'fleet', Record<TargetOs, string>> = {
  etcd: {
    flatcar: 'etcd 0.4 is not shipped in Flatcar: run etcd with etcd-member.service and a drop-in in coreos.units',
    coreos:
      'it configures etcd 0.4 (etcd.service), which etcd2 replaced in 2015 and which later Container Linux releases no longer ship: use coreos.etcd2',
  },
  etcd2: {
    flatcar:
      'etcd2 is not shipped in Flatcar: this section only writes a drop-in for an etcd2.service you provide yourself; configure etcd-member.service with a drop-in in coreos.units instead',
    coreos:
      'coreos-cloudinit v1.14 deprecated it when etcd2 left Container Linux (1675.0.1); it still works on the legacy releases that ship etcd2 (≤ 1632)',
  },
  fleet: {
    flatcar:
      'fleet is not shipped in Flatcar: this section only writes a drop-in (FLEET_* variables) for a fleet.service you provide yourself',
    coreos:
      'coreos-cloudinit v1.14 deprecated it when fleet left Container Linux (1675.0.1); it still works on the legacy releases that ship fleet (≤ 1632)',
  },
};

const coreos: FieldType = struct({
  etcd: { type: etcd, deprecated: (os) => DEPRECATED_SERVICE.etcd[os] },
  etcd2: { type: etcd2, deprecated: (os) => DEPRECATED_SERVICE.etcd2[os] },
  flannel: { type: flannel },
  fleet: { type: fleet, deprecated: (os) => DEPRECATED_SERVICE.fleet[os] },
  locksmith: { type: locksmith },
  oem: { type: oem },
  update: { type: update },
  units: { type: { kind: 'list', of: unit } },
});

/** The whole cloud-config document. */
export const CLOUD_CONFIG: Extract<FieldType, { kind: 'struct' }> = {
  kind: 'struct',
  fields: {
    ssh_authorized_keys: strList,
    coreos: { type: coreos },
    write_files: { type: { kind: 'list', of: file } },
    hostname: str,
    users: { type: { kind: 'list', of: user } },
    manage_etc_hosts: withRule(oneOf('manage_etc_hosts', ['localhost'])),
  },
};

/** Hints for top-level keys people carry over from Ubuntu's cloud-init, which coreos-cloudinit does not implement. */
export const CLOUD_INIT_HINTS: Readonly<Record<string, string>> = {
  runcmd: 'coreos-cloudinit has no runcmd: run commands from a oneshot unit in coreos.units',
  bootcmd: 'coreos-cloudinit has no bootcmd: run commands from a oneshot unit in coreos.units',
  packages: 'Container Linux has no package manager: run software in containers or systemd-sysext images',
  package_update: 'Container Linux has no package manager',
  package_upgrade: 'Container Linux has no package manager',
  mounts: 'coreos-cloudinit has no mounts: write a .mount unit in coreos.units',
  chpasswd: 'coreos-cloudinit has no chpasswd: set users[].passwd to a password hash',
};

/** Systemd unit types (suffixes) accepted in a unit name; the last three are systemd-networkd files. */
export const UNIT_SUFFIXES = [
  'service',
  'socket',
  'device',
  'mount',
  'automount',
  'swap',
  'target',
  'path',
  'timer',
  'slice',
  'scope',
  'network',
  'netdev',
  'link',
] as const;

/** Units coreos-cloudinit writes to /etc/systemd/network and applies by restarting systemd-networkd. */
export const NETWORKD_SUFFIXES: ReadonlySet<string> = new Set(['network', 'netdev', 'link']);
