/**
 * The libvirt a lab runs on (`--libvirt-uri`, lab file `libvirt.uri`): this host's
 * `qemu:///system` or `qemu:///session`, or another host's `qemu+ssh://[user@]host[:port]/system`.
 * Pure. On a remote host vagrant-libvirt reaches the machines through the same SSH (it derives a
 * ProxyCommand from the URI), and cclab copies each machine's Ignition file there before
 * `vagrant up`, since QEMU opens it on that host.
 */

export type LibvirtConnection =
  | { remote: false; uri: string }
  | {
      remote: true;
      uri: string;
      /** SSH destination of the libvirt host (user and port undefined: ssh's own defaults). */
      user: string | undefined;
      host: string;
      port: number | undefined;
      /** `?keyfile=` of the URI: the SSH key libvirt and vagrant-libvirt use. */
      keyfile: string | undefined;
    };

export type RemoteLibvirt = Extract<LibvirtConnection, { remote: true }>;

// A host name, an IPv4 address, or an IPv6 address in brackets: nothing an ssh option could hide in.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** The connection, or why the URI is not one cclab can run a lab on. */
export function parseLibvirtUri(text: string): LibvirtConnection | string {
  if (text === 'qemu:///system' || text === 'qemu:///session') return { remote: false, uri: text };
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'it is not a libvirt URI such as qemu:///system or qemu+ssh://user@host/system';
  }
  if (u.protocol !== 'qemu+ssh:') {
    return `${u.protocol.replace(/:$/, '')} is not a transport cclab runs labs over: use qemu:///system (this host) or qemu+ssh://[user@]host[:port]/system`;
  }
  if (u.pathname !== '/system') return `a remote lab runs on the system libvirt of its host: the path must be /system, not ${u.pathname || 'empty'}`;
  if (u.password) return 'it holds a password: use an SSH key (ssh-agent, or ?keyfile=PATH)';
  if (u.hash) return 'it has a fragment (#…)';
  if (!HOST.test(u.hostname)) return `"${u.hostname}" is not a host name or address`;
  const user = u.username === '' ? undefined : decodeURIComponent(u.username);
  if (user !== undefined && !USER.test(user)) return `"${user}" is not a user name`;
  let keyfile: string | undefined;
  for (const [k, v] of u.searchParams) {
    if (k !== 'keyfile') return `the parameter ${k} is not one cclab passes on (only keyfile)`;
    if (!v.startsWith('/') || /[\0-\x1f]/.test(v)) return 'keyfile must be an absolute path';
    keyfile = v;
  }
  return { remote: true, uri: text, user, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? undefined : Number(u.port), keyfile };
}

/**
 * ssh's argv up to the remote command, for cclab's own commands on the libvirt host (copying the
 * Ignition files, removing them, preflight). The host key is checked as ssh checks it for virsh:
 * against the user's known hosts.
 */
export function sshToLibvirtHost(c: RemoteLibvirt, extraOptions: readonly string[] = []): string[] {
  return [
    'ssh',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=15',
    ...extraOptions,
    ...(c.port !== undefined ? ['-p', String(c.port)] : []),
    ...(c.keyfile !== undefined ? ['-i', c.keyfile] : []),
    ...(c.user !== undefined ? ['-l', c.user] : []),
    '--',
    c.host,
  ];
}

/**
 * Where a lab's Ignition files live on a remote libvirt host: a directory of the lab under
 * /var/tmp, which QEMU's user (libvirt-qemu, qemu) can enter and read, whoever copies them there.
 * Lab names are [a-z0-9-]: the path needs no quoting.
 */
export function remoteIgnitionDir(labName: string): string {
  return `/var/tmp/cclab-${labName}`;
}

/** Whether a lab's libvirt URI names another host (a URI that does not parse is refused earlier). */
export function isRemoteLibvirt(uri: string): boolean {
  const c = parseLibvirtUri(uri);
  return typeof c === 'object' && c.remote;
}

/** The remote libvirt host a lab runs on, or undefined for this host's libvirt (or no libvirt URI). */
export function remoteLibvirtOf(lab: { libvirt: { uri?: string | undefined } }): RemoteLibvirt | undefined {
  const c = lab.libvirt.uri === undefined ? undefined : parseLibvirtUri(lab.libvirt.uri);
  return typeof c === 'object' && c.remote ? c : undefined;
}

/** A machine's Ignition file on the remote libvirt host. */
export function remoteIgnitionPath(labName: string, machine: string): string {
  return `${remoteIgnitionDir(labName)}/${machine}.ign`;
}
