/**
 * Pure parsers for what Vagrant prints: `--machine-readable` records, `vagrant ssh-config`,
 * `vagrant --version`, and the plain output lines streamed while `vagrant up` runs.
 * Tested on output captured from Vagrant 2.3.4 (test/fixtures/vagrant/).
 */

/** Vagrant's output could not be understood. The driver turns it into a CommandError with the argv. */
export class VagrantParseError extends Error {
  override readonly name = 'VagrantParseError';
}

// ---------------------------------------------------------------------------------------------
// --machine-readable

/** One line of `--machine-readable` output: `timestamp,target,type,data…`. */
export interface MachineReadableRecord {
  /** Unix time in seconds. */
  timestamp: number;
  /** The machine the record is about; empty for records about the whole run (`ui`, `error-exit`). */
  target: string;
  type: string;
  /** The remaining fields, unescaped. */
  data: string[];
}

const RECORD_LINE = /^(\d+),([^,]*),([^,]+)(?:,(.*))?$/;

/**
 * Vagrant escapes each field: `,` as `%!(VAGRANT_COMMA)`, newline as `\n`, carriage return as
 * `\r` (two characters each). Backslashes themselves are not escaped, so a literal `\n` in a
 * message cannot be told apart from a newline; Vagrant's own messages never contain one.
 */
export function unescapeField(field: string): string {
  return field.replace(/%!\(VAGRANT_COMMA\)|\\n|\\r/g, (m) => (m === '\\n' ? '\n' : m === '\\r' ? '\r' : ','));
}

/**
 * Parses `--machine-readable` output. Lines that are not records (Vagrant also prints some raw
 * text, e.g. `ssh-config` prints the config itself) are skipped. Accepts `\r\n` line ends.
 */
export function parseMachineReadable(text: string): MachineReadableRecord[] {
  const records: MachineReadableRecord[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = RECORD_LINE.exec(line);
    if (!m) continue;
    records.push({
      timestamp: Number(m[1]),
      target: unescapeField(m[2] ?? ''),
      type: m[3] ?? '',
      data: m[4] === undefined ? [] : m[4].split(',').map(unescapeField),
    });
  }
  return records;
}

/** The error a failed `--machine-readable` run reported (`error-exit`, else the last `ui,error`). */
export function machineReadableError(records: MachineReadableRecord[]): { errorClass?: string; message: string } | undefined {
  const exit = records.find((r) => r.type === 'error-exit');
  if (exit) return { errorClass: exit.data[0], message: exit.data[1] ?? '' };
  const uiErrors = records.filter((r) => r.type === 'ui' && r.data[0] === 'error');
  const last = uiErrors[uiErrors.length - 1];
  return last ? { message: last.data[1] ?? '' } : undefined;
}

/**
 * Machine-readable output turned back into what a person would have read: the `ui` messages and
 * the error, one after the other; lines that are not records are kept. Used for error output tails.
 */
export function humanizeMachineReadable(text: string): string {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const records = parseMachineReadable(line);
    const r = records[0];
    if (!r) {
      if (line.trim() !== '') out.push(line);
      continue;
    }
    if (r.type === 'ui') out.push(r.data.slice(1).join(','));
    else if (r.type === 'error-exit') {
      // The same message was normally printed as a ui error just before; don't repeat it.
      const msg = r.data[1] ?? '';
      if (out[out.length - 1] !== msg) out.push(msg);
    }
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// vagrant status --machine-readable

export interface MachineStatus {
  name: string;
  provider: string;
  /** Provider's state id: not_created, running, poweroff (VirtualBox), shutoff (libvirt), saved… */
  state: string;
  /** Short human description ("not created"). */
  stateHuman?: string;
  /** Long human description. */
  stateLong?: string;
}

/** Machines listed by `vagrant status --machine-readable`, in Vagrant's order. */
export function parseStatus(text: string): MachineStatus[] {
  const records = parseMachineReadable(text);
  const byName = new Map<string, MachineStatus>();
  const order: string[] = [];
  const entry = (name: string): MachineStatus => {
    let e = byName.get(name);
    if (!e) {
      e = { name, provider: '', state: '' };
      byName.set(name, e);
      order.push(name);
    }
    return e;
  };
  for (const r of records) {
    if (r.target === '') continue;
    const value = r.data[0] ?? '';
    switch (r.type) {
      case 'metadata':
        if (value === 'provider') entry(r.target).provider ||= r.data[1] ?? '';
        break;
      case 'provider-name':
        entry(r.target).provider = value;
        break;
      case 'state':
        entry(r.target).state = value;
        break;
      case 'state-human-short':
        entry(r.target).stateHuman = value;
        break;
      case 'state-human-long':
        entry(r.target).stateLong = value;
        break;
    }
  }
  const machines = order.map((n) => byName.get(n)!).filter((m) => m.state !== '');
  if (machines.length === 0) {
    const err = machineReadableError(records);
    throw new VagrantParseError(
      err ? `vagrant status reported an error: ${err.message}` : 'vagrant status printed no machine state',
    );
  }
  return machines;
}

// ---------------------------------------------------------------------------------------------
// vagrant port MACHINE --machine-readable

/**
 * `vagrant snapshot list --machine-readable [MACHINES]`: each machine's snapshot names. Vagrant
 * (plugins/commands/snapshot/command/list.rb) prints per machine an `output` record (the machine's
 * prefix, `==> NAME: `) and then one `detail` record per snapshot, unprefixed; a machine without
 * snapshots gets the `output` "No snapshots have been taken yet!" and a prefixed `detail` on how to
 * take one; a machine not created, an `info` record. Machines with none map to [].
 */
export function parseSnapshotList(text: string): Map<string, string[]> {
  const details = new Map<string, string[]>();
  const none = new Set<string>();
  for (const r of parseMachineReadable(text)) {
    if (r.type !== 'ui' || r.target === '') continue;
    const [kind, message = ''] = r.data;
    if (!details.has(r.target)) details.set(r.target, []);
    if (kind === 'output' && /No snapshots have been taken yet/.test(message)) none.add(r.target);
    else if (kind === 'detail') {
      // A prefixed detail (`    NAME: …`) is Vagrant's own text, not a snapshot name.
      const prefixed = new RegExp(`^\\s*(==>\\s*)?${r.target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:( |$)`);
      const name = message.trim();
      if (name !== '' && !prefixed.test(message)) details.get(r.target)!.push(name);
    }
  }
  for (const target of none) details.set(target, []);
  return details;
}

export interface ForwardedPort {
  guest: number;
  host: number;
}

/**
 * Forwarded ports of one machine from `vagrant port NAME --machine-readable`
 * (`forwarded_port,GUEST,HOST` records). A machine that is not running has none.
 */
export function parsePort(text: string): ForwardedPort[] {
  const ports: ForwardedPort[] = [];
  for (const r of parseMachineReadable(text)) {
    if (r.type !== 'forwarded_port') continue;
    const guest = toPort(r.data[0]);
    const host = toPort(r.data[1]);
    if (guest === undefined || host === undefined) {
      throw new VagrantParseError(`vagrant port printed a forwarded port that is not a number pair: ${r.data.join(',')}`);
    }
    ports.push({ guest, host });
  }
  return ports;
}

/**
 * Whether `vagrant port` failed because the provider cannot list forwarded ports at all
 * (vagrant-libvirt 0.11 has no `forwarded_ports` capability). Its ports are then exactly the ones
 * the Vagrantfile asks for: vagrant-libvirt does not move colliding ports.
 */
export function portsUnsupported(text: string): boolean {
  return /does not support listing forwarded ports/.test(humanizeMachineReadable(text));
}

function toPort(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

// ---------------------------------------------------------------------------------------------
// vagrant ssh-config

export interface SshHost {
  /** The `Host` name: the Vagrant machine name. */
  host: string;
  hostName: string;
  user: string;
  port: number;
  identityFiles: string[];
  /** Every other option, as Vagrant wrote it (UserKnownHostsFile, StrictHostKeyChecking, LogLevel…). */
  options: Record<string, string>;
}

/** The `Host` blocks printed by `vagrant ssh-config` (one per running machine asked for). */
export function parseSshConfig(text: string): SshHost[] {
  const hosts: SshHost[] = [];
  let current: { host: string; line: number; keys: Map<string, string>; identityFiles: string[]; options: Record<string, string> } | undefined;
  const finish = () => {
    if (!current) return;
    const hostName = current.keys.get('hostname');
    const user = current.keys.get('user');
    const portText = current.keys.get('port') ?? '22';
    const port = toPort(portText);
    if (hostName === undefined) throw new VagrantParseError(`ssh-config line ${current.line}: Host ${current.host} has no HostName`);
    if (user === undefined) throw new VagrantParseError(`ssh-config line ${current.line}: Host ${current.host} has no User`);
    if (port === undefined) throw new VagrantParseError(`ssh-config line ${current.line}: Host ${current.host} has an invalid Port "${portText}"`);
    hosts.push({ host: current.host, hostName, user, port, identityFiles: current.identityFiles, options: current.options });
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) throw new VagrantParseError(`ssh-config line ${i + 1}: "${line}" is not "Key value"`);
    const key = m[1]!;
    const value = unquote(m[2]!.trim());
    const lower = key.toLowerCase();
    if (lower === 'host') {
      finish();
      current = { host: value, line: i + 1, keys: new Map(), identityFiles: [], options: {} };
      return;
    }
    if (!current) throw new VagrantParseError(`ssh-config line ${i + 1}: "${key}" comes before any Host`);
    if (lower === 'identityfile') current.identityFiles.push(value);
    else if (lower === 'hostname' || lower === 'user' || lower === 'port') current.keys.set(lower, value);
    else current.options[key] = value;
  });
  finish();
  return hosts;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

// ---------------------------------------------------------------------------------------------
// vagrant --version

export interface VagrantVersion {
  major: number;
  minor: number;
  patch: number;
  /** Anything after the three numbers, e.g. `.dev` (empty for releases). */
  suffix: string;
  /** The version as printed, e.g. `2.3.4`. */
  text: string;
}

/** `Vagrant 2.3.4` (other lines, such as warnings printed before it, are ignored). */
export function parseVersion(text: string): VagrantVersion {
  const m = /^Vagrant (\d+)\.(\d+)\.(\d+)(\S*)\s*$/m.exec(text.replace(/\r/g, ''));
  if (!m) throw new VagrantParseError(`vagrant --version printed no version: ${JSON.stringify(text.trim().slice(0, 200))}`);
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    suffix: m[4] ?? '',
    text: `${m[1]}.${m[2]}.${m[3]}${m[4] ?? ''}`,
  };
}

/** Negative when a < b, 0 when equal, positive when a > b (numbers only; a suffix sorts before the release). */
export function compareVersion(
  a: Pick<VagrantVersion, 'major' | 'minor' | 'patch'> & { suffix?: string },
  b: Pick<VagrantVersion, 'major' | 'minor' | 'patch'> & { suffix?: string },
): number {
  const d = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (d !== 0) return Math.sign(d);
  const sa = a.suffix ?? '';
  const sb = b.suffix ?? '';
  if (sa === sb) return 0;
  if (sa === '') return 1;
  if (sb === '') return -1;
  return sa < sb ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// vagrant plugin list / vagrant box list (--machine-readable)

export interface Plugin {
  name: string;
  version: string;
  /** Where it is installed: `global` (vagrant plugin install), `system` (distribution package), `local` (project). */
  scope: string;
}

export function parsePluginList(text: string): Plugin[] {
  const plugins: Plugin[] = [];
  for (const r of parseMachineReadable(text)) {
    if (r.type === 'plugin-name') plugins.push({ name: r.data[0] ?? '', version: '', scope: 'global' });
    else if (r.type === 'plugin-version') {
      const p = plugins.find((x) => x.name === r.target);
      if (!p) continue;
      // "0.11.2, system": the comma was escaped, so it is one field.
      const [version, scope] = (r.data[0] ?? '').split(',').map((s) => s.trim());
      p.version = version ?? '';
      p.scope = scope || 'global';
    }
  }
  return plugins;
}

export interface InstalledBox {
  name: string;
  provider: string;
  version: string;
  /** `box-architecture` (Vagrant 2.4 and later). */
  architecture?: string;
}

export function parseBoxList(text: string): InstalledBox[] {
  const boxes: InstalledBox[] = [];
  for (const r of parseMachineReadable(text)) {
    const value = r.data[0] ?? '';
    if (r.type === 'box-name') {
      boxes.push({ name: value, provider: '', version: '' });
      continue;
    }
    const last = boxes[boxes.length - 1];
    if (!last) continue;
    if (r.type === 'box-provider') last.provider = value;
    else if (r.type === 'box-version') last.version = value;
    else if (r.type === 'box-architecture') last.architecture = value;
  }
  return boxes;
}

/** Which of `machines` a line of Vagrant output is about (`==> etcd-01: …` or `    etcd-01: …`). */
export function machineOfLine(line: string, machines: readonly string[]): string | undefined {
  const m = /^(?:==> |\s+)([A-Za-z0-9._-]+): /.exec(line);
  return m && machines.includes(m[1]!) ? m[1] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Hints for failures

const HINTS: { pattern: RegExp; hint: string }[] = [
  {
    pattern: /This provider doesn't support snapshots/,
    hint: "the lab's provider (or the installed version of its Vagrant plugin) cannot take snapshots; vagrant-libvirt takes them from 0.7 on, VirtualBox and Parallels always",
  },
  {
    pattern: /The snapshot name `[^`]*` was not found/,
    hint: 'a machine of the lab does not have that snapshot (made before the machine was recreated?): `cclab snapshot NAME list` shows which machines have which',
  },
  {
    pattern: /Vagrant could not detect VirtualBox|reporting that it isn't usable on this system/,
    hint: 'the provider cannot run on this host: install it, or pick another one with --provider',
  },
  {
    pattern: /Failed to connect socket to '[^']*libvirt[^']*'|Error while connecting to Libvirt/,
    hint: 'libvirtd is not running (or not reachable): start it, e.g. `sudo systemctl start libvirtd`',
  },
  {
    pattern: /A Vagrant environment or target machine is required/,
    hint: 'the lab directory has no Vagrantfile: render the lab again (`cclab up` writes it)',
  },
  {
    pattern: /is not yet ready for SSH/,
    hint: 'the machine is not running: start it with `cclab up`, then try again',
  },
  {
    pattern: /Timed out while waiting for the machine to boot/,
    hint: 'the machine booted but Vagrant could not reach it over SSH: look at its console, or raise boot_timeout',
  },
  {
    pattern: /another process is already executing an action on the machine/,
    hint: 'another Vagrant process is working on this machine: wait for it to finish, then try again',
  },
  {
    pattern: /Vagrant cannot forward the specified ports|port collision|already in use on the host/i,
    hint: 'a forwarded port is taken on the host: free it, or let the lab pick another port',
  },
  {
    pattern: /The box '[^']*' could not be found|Couldn't open file .*\.box|Could not resolve host/,
    hint: 'the box could not be downloaded: check the box name and your network, or add it with `vagrant box add`',
  },
  {
    pattern: /Failed to create lock-file for master VM creation|VBoxManage: error: Appliance import failed|exists already/,
    hint: 'another Vagrant process was importing the same box at the same time: try again once it has finished',
  },
  {
    pattern: /requires a TTY/,
    hint: 'Vagrant wanted to ask a question; this is a bug in how cclab called it',
  },
];

/** A hint for a failed Vagrant command, from its output; undefined when nothing known matched. */
export function hintForOutput(output: string): string | undefined {
  return HINTS.find((h) => h.pattern.test(output))?.hint;
}
