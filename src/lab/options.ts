/**
 * Every lab option, defined once. The yargs flags (and their --help lines), the lab file's schema
 * (src/lab/schema.ts) and the rules a resolved lab must satisfy (src/lab/resolve.ts) are all derived
 * from LAB_OPTIONS below; nothing else lists the options.
 *
 * How to add an option: add one entry to LAB_OPTIONS, at the place where its problems should be
 * listed (problems are reported in table order).
 *  - `key`: where it sits under `spec:` in a lab file (dots nest: `box.url` is `spec.box.url`);
 *    leave it out for a flag that is not part of the lab (`config`).
 *  - `file`: its type in the lab file (a `FileType`); leave it out for a flag with no lab-file field.
 *  - `flag`: its command-line flag (`name`, yargs `type`/`choices`/`array`, `describe` for --help);
 *    `only: 'render'` for a flag of `cclab render` alone; `into: 'input'` when the command reads the
 *    value itself (files named by the flag) instead of it overriding the lab file.
 *  - `rule`: the checks on the value once defaults are applied (src/lab/defaults.ts gives
 *    `LabValues`): call `bad(path, message)` for each problem and `warn(message)` for a warning; every
 *    problem of a lab is collected and reported at once.
 * Then use the value where the lab is built (`buildLab` in src/lab/resolve.ts) and, if it has a
 * default, in `withDefaults` (src/lab/defaults.ts). The TypeScript type of the lab file (`LabSpec`)
 * follows from the table.
 */
import { ARCHITECTURE_RULES, machineNames } from './architectures.js';
import { UsageError } from '../errors.js';
import type { LabValues } from './defaults.js';
import { FIRST_HOST_OFFSET, formatCidr, isIpv4, machineCapacity, normalizeMac, reservedProblem } from './net.js';
import { shown } from './shown.js';
import { ARCHITECTURES, CHANNELS, LIBVIRT_DRIVERS, OSES, PROVIDERS, PROVISIONINGS, REBOOT_STRATEGIES } from './types.js';

export { ARCHITECTURES, OSES };

export const LAB_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const META_KEY = /^[A-Za-z0-9_.-]{1,63}$/;
const META_VALUE = /^[A-Za-z0-9_.:/@+-]{1,253}$/;
const GROUP = /^[A-Za-z0-9._-]{1,128}$/;
const BOX_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const BOX_VERSION = /^[0-9A-Za-z.,<>=~! -]{1,64}$/;
const CPU_WORD = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SSH_KEY = /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( [^\r\n\0]*)?$/;

/** Types a lab-file field can have (src/lab/schema.ts turns each into a zod schema). */
export type FileType =
  | 'string'
  | 'strings'
  | 'boolean'
  /** a whole number ≥ 0 */
  | 'count'
  /** a whole number > 0 */
  | 'positive'
  /** fleet metadata: k: string | number | boolean */
  | 'metadata'
  /** machine name → MAC address */
  | 'macs'
  | { enum: readonly [string, ...string[]] };

export interface Flag {
  name: string;
  /** 'integer': decimal digits only (parseWholeNumber), the same for every whole-number option. */
  type?: 'string' | 'integer' | 'boolean';
  choices?: readonly string[];
  array?: boolean;
  describe: string;
  /** A flag of `cclab render` only (default: render, up and doctor). */
  only?: 'render';
  /** 'input': the command reads the value itself (a file), it does not override the lab file. */
  into?: 'input';
  /** Turns the flag's value into the lab-file value (`--metadata k=v` → a record). */
  parse?: (value: unknown) => unknown;
}

export interface Report {
  /** `flag`: the flag the value came from, when the rule knows better than its `path` says (--ssh-key). */
  bad(path: string, message: string, flag?: string): void;
  warn(message: string): void;
}

export interface LabOption {
  key?: string;
  /** Required in the lab file (otherwise optional). */
  required?: boolean;
  file?: FileType;
  flag?: Flag;
  rule?: (v: LabValues, r: Report) => void;
}

export const LAB_OPTIONS = [
  { flag: { name: 'config', type: 'string', describe: 'Your own lab file (apiVersion cclab.dev/v1alpha1, kind Lab)', into: 'input' } },
  {
    key: 'name',
    flag: { name: 'name', type: 'string', describe: 'Lab name (default: the architecture)' },
    rule: (v, r) => {
      if (!LAB_NAME.test(v.name)) {
        r.bad('name', `"${shown(v.name)}" is not a valid lab name: use 1–32 lower-case letters, digits and inner hyphens (e.g. dev-2)`);
      }
    },
  },
  { key: 'architecture', file: { enum: ARCHITECTURES }, required: true },
  {
    key: 'os',
    file: { enum: OSES },
    flag: { name: 'os', choices: OSES, describe: 'Guest OS (default flatcar; coreos = legacy Container Linux ≤ 1632)' },
  },
  {
    key: 'channel',
    file: 'string',
    flag: { name: 'channel', type: 'string', describe: 'Release channel (default stable)' },
    rule: (v, r) => {
      if (!CHANNELS[v.os].includes(v.channel)) r.bad('channel', `"${shown(v.channel)}" is not a ${v.os} channel (${CHANNELS[v.os].join(', ')})`);
    },
  },
  {
    key: 'provider',
    file: { enum: PROVIDERS },
    flag: { name: 'provider', choices: PROVIDERS, describe: 'Vagrant provider (default $VAGRANT_DEFAULT_PROVIDER, else: up and doctor take the first usable here of virtualbox, libvirt, parallels; render takes virtualbox)' },
    rule: (v, r) => {
      if (v.unsupportedDefaultProvider !== undefined) {
        const given = shown(v.unsupportedDefaultProvider);
        r.bad('provider', `VAGRANT_DEFAULT_PROVIDER is "${given}", which cclab does not support (${PROVIDERS.join(', ')}); pass --provider`);
      }
    },
  },
  {
    key: 'provisioning',
    file: { enum: PROVISIONINGS },
    flag: {
      name: 'provisioning',
      choices: PROVISIONINGS,
      describe: 'First-boot config format (default: cloud-config on Vagrant and for coreos, ignition for bare-metal and matchbox)',
    },
    rule: (v, r) => {
      if (v.spec.provisioning === 'ignition' && v.os === 'coreos') {
        r.bad(
          'provisioning',
          'ignition cannot provision legacy CoreOS: its images (≤ 1632) read only Ignition spec 2.x, which cclab does not write; ' +
            'use provisioning: cloud-config, or --os flatcar',
        );
      }
    },
  },
  {
    key: 'members',
    file: 'count',
    flag: { name: 'members', type: 'integer', describe: 'etcd members (small: 3–9, default 3)' },
    rule: checkCounts,
  },
  { key: 'services', file: 'count', flag: { name: 'services', type: 'integer', describe: 'Central-services machines (production: 3–5, default 3)' } },
  { key: 'workers', file: 'count', flag: { name: 'workers', type: 'integer', describe: 'Workers (dev: ≥1, default 2; production: ≥1, default 2)' } },
  {
    key: 'subnet',
    file: 'string',
    flag: { name: 'subnet', type: 'string', describe: 'Lab /24 (default: a free one inside 192.168.56.0/21, not .56.0/24)' },
    rule: (v, r) => {
      const cidr = v.cidr;
      if (cidr === undefined) {
        r.bad('subnet', 'every default lab subnet (192.168.57.0/24 … 192.168.63.0/24) is used by another lab; pass --subnet or remove a lab');
        return;
      }
      if (typeof cidr === 'string') return r.bad('subnet', cidr);
      const reserved = reservedProblem(cidr);
      if (reserved) return r.bad('subnet', reserved);
      const total = v.counts.members + v.counts.workers + (ARCHITECTURE_RULES[v.spec.architecture].single ? 1 : 0);
      if (total > machineCapacity(cidr)) {
        r.bad(
          v.spec.subnet !== undefined && v.spec.workers === undefined && v.spec.members === undefined && v.spec.services === undefined ? 'subnet' : 'workers',
          `${total} machine${total === 1 ? '' : 's'} do${total === 1 ? 'es' : ''} not fit in ${formatCidr(cidr)}: it holds ${machineCapacity(cidr)} from .${FIRST_HOST_OFFSET}; ` +
            'ask for fewer machines or a larger --subnet (e.g. 10.64.0.0/16)',
        );
      }
    },
  },
  {
    key: 'gateway',
    file: 'string',
    flag: { name: 'gateway', type: 'string', describe: 'Gateway for --target bare-metal (default .1 of the subnet)', only: 'render' },
    rule: (v, r) => {
      if (v.spec.gateway !== undefined && !isIpv4(v.spec.gateway)) r.bad('gateway', `"${shown(v.spec.gateway)}" is not an IPv4 address`);
    },
  },
  {
    key: 'dns',
    file: 'strings',
    flag: { name: 'dns', type: 'string', array: true, describe: 'DNS servers for --target bare-metal', only: 'render' },
    rule: (v, r) => v.dns.forEach((d, i) => isIpv4(d) || r.bad(`dns[${i}]`, `"${shown(d)}" is not an IPv4 address`)),
  },
  {
    key: 'metadata',
    file: 'metadata',
    flag: { name: 'metadata', type: 'string', array: true, describe: 'Extra fleet metadata k=v (repeatable)', parse: parseMetadataFlags },
    rule: (v, r) => {
      for (const [k, value] of v.metadata) {
        if (!META_KEY.test(k)) r.bad(`metadata.${shown(k)}`, 'fleet metadata keys are letters, digits, ".", "_" and "-" (fleet joins pairs as k=v,k=v)');
        else if (k === 'role') r.bad('metadata.role', 'role is set by the architecture (services, worker, etcd); choose another key');
        else if (!META_VALUE.test(value)) {
          r.bad(`metadata.${k}`, `"${shown(value)}" cannot be fleet metadata: use letters, digits and . _ : / @ + - (no commas, "=", spaces or quotes)`);
        }
      }
    },
  },
  {
    key: 'box.name',
    file: 'string',
    flag: { name: 'box', type: 'string', describe: 'Vagrant box name (default <os>-<channel>)' },
    rule: (v, r) => {
      if (!BOX_NAME.test(v.box.name)) r.bad('box.name', `"${shown(v.box.name)}" is not a Vagrant box name (letters, digits, . _ - /)`);
    },
  },
  {
    key: 'box.version',
    file: 'string',
    flag: { name: 'box-version', type: 'string', describe: 'Box version constraint' },
    rule: (v, r) => {
      const version = v.box.version;
      if (version !== undefined && !BOX_VERSION.test(version)) {
        r.bad('box.version', `"${shown(version)}" is not a Vagrant version constraint such as ">= 3815.2.0"`);
      }
    },
  },
  {
    key: 'box.url',
    file: 'string',
    flag: { name: 'box-url', type: 'string', describe: 'Box metadata URL' },
    rule: (v, r) => {
      if (v.spec.box?.url !== undefined) checkUrl('box.url', v.spec.box.url, ['http:', 'https:', 'file:'], r);
      // Flatcar's box comes from its release server (VirtualBox, Parallels) or, on libvirt, from
      // `cclab box add`, which preflight names when the box is missing.
      // Legacy CoreOS boxes were deleted from the release servers in 2020: only a box already added
      // under its name can be used, so there is no URL to fall back on (preflight says so).
    },
  },
  { key: 'update.group', file: 'string', flag: { name: 'update-group', type: 'string', describe: 'Update group (production)' }, rule: checkGroup('group') },
  { key: 'update.servicesGroup', file: 'string', rule: checkGroup('servicesGroup') },
  { key: 'update.workersGroup', file: 'string', rule: checkGroup('workersGroup') },
  {
    key: 'update.server',
    file: 'string',
    flag: { name: 'update-server', type: 'string', describe: 'Update server URL (production)' },
    rule: (v, r) => {
      const update = v.spec.update ?? {};
      if (update.server !== undefined) checkUrl('update.server', update.server, ['http:', 'https:'], r);
      if (!ARCHITECTURE_RULES[v.spec.architecture].updates && (update.group || update.servicesGroup || update.workersGroup || update.server)) {
        r.warn(`update groups and servers apply to the production architecture; ignored for ${v.spec.architecture}`);
      }
    },
  },
  {
    key: 'update.rebootStrategy',
    file: { enum: REBOOT_STRATEGIES },
    flag: { name: 'reboot-strategy', choices: REBOOT_STRATEGIES, describe: 'Reboot strategy (production default etcd-lock)' },
  },
  {
    key: 'discovery',
    file: 'string',
    flag: { name: 'discovery', type: 'string', describe: 'etcd discovery URL (default: static initial_cluster)' },
    rule: (v, r) => {
      if (v.spec.discovery === undefined) return;
      checkUrl('discovery', v.spec.discovery, ['http:', 'https:'], r);
      r.warn('discovery.etcd.io is deprecated and was answering 503 in 2026; the default static initial_cluster needs no service');
    },
  },
  {
    key: 'etcd.version',
    file: 'string',
    flag: { name: 'etcd-version', type: 'string', describe: 'etcd release Flatcar’s etcd-member runs (default 3.5.16; 3.6+ is refused)' },
    rule: (v, r) => {
      const given = v.spec.etcd?.version;
      if (given === undefined) return;
      const m = /^v?(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(given);
      if (!m) return r.bad('etcd.version', `"${shown(given)}" is not an etcd release such as 3.5.16`);
      const [major, minor] = [Number(m[1]), Number(m[2])];
      if (major > 3 || (major === 3 && minor >= 6)) {
        r.bad(
          'etcd.version',
          `etcd ${shown(given)} cannot run a cclab lab: etcd 3.6 removed the v2 API (--enable-v2) and the v2 proxy, ` +
            'which fleet and the workers’ local proxies need; use a 3.5 release (default 3.5.16)',
        );
      } else if (major < 3 || minor < 4) r.bad('etcd.version', `etcd ${shown(given)} has no etcd-member image for Flatcar; use a 3.5 release`);
      if (v.os === 'coreos') r.warn('legacy CoreOS runs its own etcd2; etcd.version applies to Flatcar only');
    },
  },
  {
    key: 'fleet.url',
    file: 'string',
    flag: { name: 'fleet-url', type: 'string', describe: 'fleet release tarball to install on Flatcar' },
    rule: (v, r) => checkUrl('fleet.url', v.fleet.url, ['https:', 'http:'], r),
  },
  {
    key: 'fleet.sha256',
    file: 'string',
    flag: { name: 'fleet-sha256', type: 'string', describe: 'Expected SHA-256 of that tarball' },
    rule: (v, r) => {
      if (v.fleet.sha256 !== undefined && !SHA256.test(v.fleet.sha256)) r.bad('fleet.sha256', 'must be 64 lower-case hex digits');
    },
  },
  {
    key: 'fleet.localFile',
    file: 'string',
    flag: { name: 'fleetd', type: 'string', describe: 'Upload this local fleetd instead of downloading (offline labs)', into: 'input' },
    rule: (v, r) => {
      const fleet = v.spec.fleet ?? {};
      if (fleet.localFile !== undefined && /[\0\r\n]|\p{Cs}/u.test(fleet.localFile)) {
        r.bad('fleet.localFile', 'a path cannot contain NUL, line breaks or unpaired UTF-16 surrogates');
      }
      const needsFleet = ARCHITECTURE_RULES[v.spec.architecture].members !== undefined;
      if (v.os === 'flatcar' && needsFleet && fleet.localFile === undefined && fleet.sha256 === undefined) {
        r.warn('fleetd will be downloaded at first boot without a checksum: pass --fleet-sha256 to verify it, or --fleetd FILE to upload a local binary');
      }
      if (v.os === 'coreos' && (fleet.localFile !== undefined || fleet.url !== undefined || fleet.sha256 !== undefined)) {
        r.warn('legacy CoreOS images ship fleet; the fleet download and upload settings apply to Flatcar only');
      }
    },
  },
  {
    key: 'sshKeys',
    file: 'strings',
    flag: { name: 'ssh-key', type: 'string', array: true, describe: 'Public key file for ssh_authorized_keys (repeatable)', into: 'input' },
    rule: (v, r) => {
      for (const key of v.sshKeys) {
        const content = key.content.trim();
        if (!SSH_KEY.test(content) || content.length > 16384) {
          r.bad('sshKeys', `${shown(key.source)} is not one OpenSSH public key line (ssh-ed25519 AAAA… comment)`, key.flag);
        }
      }
    },
  },
  {
    key: 'macs',
    file: 'macs',
    flag: { name: 'macs', type: 'string', describe: 'File of "machine MAC" lines: the real machines’ MACs (bare-metal, matchbox)', only: 'render', into: 'input' },
    rule: (v, r) => {
      const names = new Set(machineNames(v.spec.architecture, v.counts));
      const seen = new Map<string, string>();
      for (const [machine, mac] of v.macs) {
        const normal = normalizeMac(mac);
        if (!names.has(machine)) r.bad(`macs.${shown(machine)}`, `the lab has no machine "${shown(machine)}" (it has ${[...names].slice(0, 5).join(', ')}${names.size > 5 ? ', …' : ''})`);
        else if (normal === undefined) r.bad(`macs.${machine}`, `"${shown(mac)}" is not a unicast MAC address such as 52:54:00:12:34:56`);
        else if (seen.has(normal)) r.bad(`macs.${machine}`, `${normal} is also the MAC of ${seen.get(normal)}`);
        else seen.set(normal, machine);
      }
    },
  },
  {
    key: 'libvirt.driver',
    file: { enum: LIBVIRT_DRIVERS },
    flag: { name: 'libvirt-driver', choices: LIBVIRT_DRIVERS, describe: 'libvirt domain type (qemu = software emulation)' },
  },
  { key: 'libvirt.cpuMode', file: 'string', rule: checkCpuWord('cpuMode', 'mode') },
  { key: 'libvirt.cpuModel', file: 'string', rule: checkCpuWord('cpuModel', 'model') },
  {
    key: 'libvirt.managementNetwork',
    file: 'string',
    flag: { name: 'libvirt-management-network', type: 'string', describe: 'libvirt management network (default 192.168.121.0/24)' },
    rule: (v, r) => {
      if (typeof v.managementCidr === 'string') r.bad('libvirt.managementNetwork', v.managementCidr);
      else {
        const reserved = reservedProblem(v.managementCidr);
        if (reserved) r.bad('libvirt.managementNetwork', reserved.replace('a lab subnet', 'a management network'));
      }
    },
  },
  {
    key: 'libvirt.uri',
    file: 'string',
    flag: { name: 'libvirt-uri', type: 'string', describe: 'libvirt to run the lab on: qemu:///system (default), or another host\'s qemu+ssh://[user@]host[:port]/system' },
    rule: (v, r) => {
      if (v.libvirtUri === undefined) return;
      if (typeof v.libvirtConnection === 'string') r.bad('libvirt.uri', `"${shown(v.libvirtUri)}": ${v.libvirtConnection}`);
      else if (v.provider !== 'libvirt') r.bad('libvirt.uri', `applies to --provider libvirt, not ${v.provider}`);
    },
  },
  {
    key: 'memory',
    file: 'positive',
    flag: { name: 'memory', type: 'integer', describe: 'Memory per machine in MiB' },
    rule: (v, r) => {
      const memory = v.spec.memory;
      if (memory !== undefined && (!Number.isInteger(memory) || memory < 512 || memory > 65536)) r.bad('memory', 'must be between 512 and 65536 MiB');
    },
  },
  {
    key: 'cpus',
    file: 'positive',
    flag: { name: 'cpus', type: 'integer', describe: 'vCPUs per machine' },
    rule: (v, r) => {
      const cpus = v.spec.cpus;
      if (cpus !== undefined && (!Number.isInteger(cpus) || cpus < 1 || cpus > 64)) r.bad('cpus', 'must be between 1 and 64');
      const members = v.counts.members;
      if (members > 0 && members % 2 === 0) r.warn(`${members} etcd members tolerate no more failures than ${members - 1}; an odd count is the better choice`);
    },
  },
  {
    key: 'dockerTcp',
    file: 'boolean',
    flag: { name: 'docker-tcp', type: 'boolean', describe: 'Expose the Docker API on 127.0.0.1 of the host (always on for laptop)' },
    rule: (v, r) => {
      if (ARCHITECTURE_RULES[v.spec.architecture].dockerAlways && v.spec.dockerTcp === false) {
        r.warn('the laptop architecture always exposes Docker; --no-docker-tcp ignored');
      }
    },
  },
  {
    key: 'docker.tls',
    file: 'boolean',
    flag: {
      name: 'docker-tls',
      type: 'boolean',
      describe: 'Docker API over TLS with client certificates on 2376 (default: on; off is the guide’s unauthenticated 2375)',
    },
    rule: (v, r) => {
      if (v.dockerTcp && !v.dockerTls) {
        r.warn(
          'docker.tls is off: the Docker API is plain TCP on 2375 without authentication (root on the machine to anyone who reaches it; ' +
            'Docker ≥ 27 clients refuse it off localhost); the host side stays on 127.0.0.1',
        );
      }
    },
  },
] as const satisfies readonly LabOption[];

/** A lab option's flag as yargs takes it. */
export interface YargsFlag {
  type?: 'string' | 'boolean';
  choices?: readonly string[];
  array?: boolean;
  describe: string;
  coerce?: (value: unknown) => unknown;
}

/** The flags of the lab options, for yargs (`only: 'render'` ones when `command` is render). */
export function labFlags(command: 'render' | 'up' | 'doctor'): Record<string, YargsFlag> {
  const flags: Record<string, YargsFlag> = {};
  for (const o of LAB_OPTIONS as readonly LabOption[]) {
    const f = o.flag;
    if (!f || (f.only && f.only !== command)) continue;
    flags[f.name] = f.type === 'integer' ? integerFlag(f.name, f.describe) : { ...(f.type && { type: f.type }), ...(f.choices && { choices: f.choices }), ...(f.array && { array: true }), describe: f.describe };
  }
  return flags;
}

/**
 * A whole-number flag for yargs: no yargs type, so yargs hands over the text as typed (its own
 * number parsing takes "1e2", "0x10" and "" as numbers) and parseWholeNumber judges it.
 */
export function integerFlag(name: string, describe: string, range: { min?: number; max?: number } = {}): { describe: string; coerce: (value: unknown) => number } {
  return { describe, coerce: (value: unknown) => parseWholeNumber(name, value, range) };
}

/**
 * A whole-number option's value: decimal digits only, within `range`; anything else is one
 * UsageError (exit 2) that names the option. A number (a yargs default) is taken as it is.
 */
export function parseWholeNumber(name: string, value: unknown, range: { min?: number; max?: number } = {}): number {
  if (Array.isArray(value)) throw new UsageError(`--${name} was given ${value.length} times; give it once`);
  let n: number;
  if (typeof value === 'number' && Number.isSafeInteger(value)) n = value;
  else {
    const text = typeof value === 'string' ? value : '';
    const given = typeof value === 'string' ? (value === '' ? 'an empty value' : `"${shown(value)}"`) : typeof value === 'number' ? String(value) : 'nothing';
    if (!/^[0-9]+$/.test(text)) throw new UsageError(`--${name} takes a whole number written in decimal digits (such as 3), not ${given}`);
    n = Number(text);
    if (!Number.isSafeInteger(n)) throw new UsageError(`--${name}: ${text.length > 20 ? `${text.slice(0, 20)}…` : text} is too large`);
  }
  if (range.min !== undefined && n < range.min) throw new UsageError(`--${name} takes a whole number ≥ ${range.min}, not ${n}`);
  if (range.max !== undefined && n > range.max) throw new UsageError(`--${name} takes a whole number ≤ ${range.max}, not ${n}`);
  return n;
}

/** Flag names of the lab options shared by every lab command (what `cclab up NAME` refuses). */
export const LAB_FLAG_NAMES: readonly string[] = (LAB_OPTIONS as readonly LabOption[]).flatMap((o) => (o.flag && !o.flag.only ? [o.flag.name] : []));

/**
 * The flag a problem at `path` (`workers`, `box.url`, `dns[1]`, `metadata.rack`) is about, when
 * that option's value was given by its flag (it is in `overrides`).
 */
export function flagOfProblem(path: string, overrides: Record<string, unknown>): string | undefined {
  for (const o of LAB_OPTIONS as readonly LabOption[]) {
    if (!o.key || !o.flag || o.flag.into === 'input') continue;
    if (path !== o.key && !path.startsWith(`${o.key}.`) && !path.startsWith(`${o.key}[`)) continue;
    // --members and --services name the same count: either flag may have set it.
    const keys = o.key === 'members' || o.key === 'services' ? ['members', 'services'] : [o.key];
    for (const key of keys) {
      let at: unknown = overrides;
      for (const part of key.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
      if (at !== undefined) return (LAB_OPTIONS as readonly LabOption[]).find((x) => x.key === key)?.flag?.name ?? o.flag.name;
    }
  }
  return undefined;
}

/**
 * The lab options given on the command line, as argv words for another command (`up`, after
 * `render`): every flag of the table that `up` takes, as it was given. Flags of `render` alone
 * (--gateway, --dns) and flags that are not lab options (--out, --target) are left out.
 */
export function labFlagArgs(args: Record<string, unknown>): string[] {
  const words: string[] = [];
  for (const o of LAB_OPTIONS as readonly LabOption[]) {
    const f = o.flag;
    if (!f || f.only) continue;
    const value = args[f.name];
    if (value === undefined) continue;
    if (f.type === 'boolean') words.push(value ? `--${f.name}` : `--no-${f.name}`);
    else for (const v of Array.isArray(value) ? value : [value]) words.push(`--${f.name}`, String(v));
  }
  return words;
}

/** The value of each option's flag put where the lab file has it: `--box-url U` → `{ box: { url: U } }`. */
export function overridesFromFlags(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of LAB_OPTIONS as readonly LabOption[]) {
    const f = o.flag;
    if (!f || !o.key || f.into === 'input') continue;
    const raw = args[f.name];
    if (raw === undefined) continue;
    let value: unknown = raw;
    if (f.type === 'integer') value = parseWholeNumber(f.name, raw);
    if (f.parse) value = f.parse(raw);
    const path = o.key.split('.');
    let at = out;
    for (const part of path.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]!] = value;
  }
  return out;
}

function parseMetadataFlags(value: unknown): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of value as string[]) {
    for (const item of pair.split(',')) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new UsageError(`--metadata takes k=v pairs, not "${item}"`);
      metadata[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  return metadata;
}

function checkCounts(v: LabValues, r: Report): void {
  const { spec } = v;
  const arch = spec.architecture;
  const rules = ARCHITECTURE_RULES[arch];
  if (rules.members) {
    if (spec.members !== undefined && spec.services !== undefined && spec.members !== spec.services) {
      r.bad(rules.members.option, `--members ${spec.members} and --services ${spec.services} disagree; give one`);
    }
    const members = v.counts.members;
    if (members < rules.members.min || members > rules.members.max) {
      const range = rules.members.min === rules.members.max ? `exactly ${rules.members.min}` : `${rules.members.min}–${rules.members.max}`;
      r.bad(rules.members.option, `${arch} takes ${range} ${rules.members.option}, not ${members}: ${rules.members.why}`);
    }
  } else if (spec.members !== undefined || spec.services !== undefined) {
    r.bad('members', `${arch} has exactly one machine: ${rules.summary}; --members/--services do not apply`);
  }
  if (rules.workers) {
    const workers = v.counts.workers;
    if (workers < rules.workers.min || workers > rules.workers.max) {
      r.bad('workers', `${arch} takes ${rules.workers.min}–${rules.workers.max} workers, not ${workers}: ${rules.workers.why}`);
    }
  } else if (spec.workers !== undefined && spec.workers !== 0) {
    r.bad('workers', `${arch} has no workers (${rules.summary})${arch === 'small' ? '; use --members, or the dev or production architecture' : ''}`);
  }
}

function checkGroup(key: 'group' | 'servicesGroup' | 'workersGroup') {
  return (v: LabValues, r: Report): void => {
    const value = v.spec.update?.[key];
    if (value !== undefined && !GROUP.test(value)) r.bad(`update.${key}`, `"${shown(value)}" is not a valid update group (letters, digits, ".", "_", "-")`);
  };
}

function checkCpuWord(key: 'cpuMode' | 'cpuModel', what: string) {
  return (v: LabValues, r: Report): void => {
    const value = v.spec.libvirt?.[key];
    if (value !== undefined && !CPU_WORD.test(value)) r.bad(`libvirt.${key}`, `"${shown(value)}" is not a libvirt CPU ${what}`);
  };
}

function checkUrl(path: string, value: string, schemes: string[], r: Report): void {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || !schemes.includes(u.protocol) || /[\s"'\\`\0]|\p{Cs}/u.test(value)) {
    let hint = '';
    // A local path where a file: URL is taken: say how to write it.
    if (!u && schemes.includes('file:')) {
      if (value.startsWith('/')) hint = `; for a local file write "file://${shown(value)}"`;
      else if (/^(\.{1,2}\/|~\/|[^:/]+\/)/.test(value) || !value.includes(':')) hint = '; for a local file write an absolute file:// URL, such as "file:///home/me/box.json"';
    }
    r.bad(path, `"${shown(value)}" is not a ${schemes.map((s) => s.replace(':', '')).join('/')} URL${hint}`);
  }
}
