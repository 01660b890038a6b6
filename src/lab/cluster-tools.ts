/**
 * How etcdctl and fleetctl reach a lab (pure): the variables `cclab env` prints for the host's own
 * tools, and the commands `cclab etcdctl` / `cclab fleetctl` run on a lab machine.
 *
 * etcd: every member's client URL (the lab network is reachable from the host). The API version
 * is the OS's etcd's: v3 for Flatcar's etcd 3.5 (`etcdctl member list`, `put`, `get`), v2 for the
 * CoreOS guide's etcd2 (`etcdctl ls`, `set`, `cluster-health`).
 * fleet: fleetctl's etcd driver (FLEETCTL_DRIVER=etcd) against the members: fleetd's own HTTP API
 * is served only through socket activation (`fleet.socket`), which the labs do not configure.
 * With a tunnel, fleetctl goes through SSH to a fleet machine and reaches etcd from there.
 */
import type { EnvChange } from '../terminal/docker-env.js';
import type { Lab, OsName } from './types.js';

export const ETCDCTL_API = 'ETCDCTL_API';
export const ETCDCTL_ENDPOINTS = 'ETCDCTL_ENDPOINTS';
export const FLEETCTL_DRIVER = 'FLEETCTL_DRIVER';
export const FLEETCTL_ENDPOINT = 'FLEETCTL_ENDPOINT';
export const FLEETCTL_TUNNEL = 'FLEETCTL_TUNNEL';
export const FLEETCTL_STRICT_HOST_KEY_CHECKING = 'FLEETCTL_STRICT_HOST_KEY_CHECKING';

/** Every variable `cclab env` may set, in the order it sets them (`--unset` removes them all). */
export const CLUSTER_VARS = [ETCDCTL_API, ETCDCTL_ENDPOINTS, FLEETCTL_DRIVER, FLEETCTL_ENDPOINT, FLEETCTL_TUNNEL, FLEETCTL_STRICT_HOST_KEY_CHECKING] as const;

/** The etcd API version of the OS's etcd. */
export function etcdApiVersion(os: OsName): '2' | '3' {
  return os === 'coreos' ? '2' : '3';
}

/** The lab's etcd client URLs (its members'); empty for a lab without etcd (laptop). */
export function etcdEndpoints(lab: Lab): string[] {
  return lab.etcd.members.map((m) => m.clientUrl);
}

/** Whether the lab runs fleet on any machine. */
export function hasFleet(lab: Lab): boolean {
  return lab.machines.some((m) => m.fleet);
}

/**
 * The variables for the host's etcdctl and fleetctl. `tunnel`: HOST:PORT of a fleet machine's SSH
 * (fleetctl --tunnel), set only for labs with fleet.
 */
export function clusterEnvChange(lab: Lab, tunnel?: string): EnvChange {
  const endpoints = etcdEndpoints(lab).join(',');
  const vars: Record<string, string> = { [ETCDCTL_API]: etcdApiVersion(lab.os), [ETCDCTL_ENDPOINTS]: endpoints };
  const unset: string[] = [];
  if (hasFleet(lab)) {
    vars[FLEETCTL_DRIVER] = 'etcd';
    vars[FLEETCTL_ENDPOINT] = endpoints;
    if (tunnel !== undefined) {
      vars[FLEETCTL_TUNNEL] = tunnel;
      // Each lab machine has a host key of its own, made at first boot.
      vars[FLEETCTL_STRICT_HOST_KEY_CHECKING] = 'false';
    } else unset.push(FLEETCTL_TUNNEL, FLEETCTL_STRICT_HOST_KEY_CHECKING);
  } else unset.push(FLEETCTL_DRIVER, FLEETCTL_ENDPOINT, FLEETCTL_TUNNEL, FLEETCTL_STRICT_HOST_KEY_CHECKING);
  return { vars, unset };
}

/** What `--unset` changes. */
export function clusterUnsetChange(): EnvChange {
  return { vars: {}, unset: [...CLUSTER_VARS] };
}

/**
 * The remote argv of `cclab etcdctl`: the machine's own etcdctl when it has one (the CoreOS image,
 * test boxes), else etcdctl from the etcd image Flatcar's etcd-member runs (Flatcar ships no
 * etcdctl), both with the lab's endpoints and API version in the environment.
 */
export function remoteEtcdctl(lab: Lab, args: string[]): string[] {
  const image = `quay.io/coreos/etcd:${lab.etcd.imageTag}`;
  const script =
    'if command -v etcdctl >/dev/null 2>&1; then exec etcdctl "$@"; fi; ' +
    `exec docker run --rm --net=host -e ${ETCDCTL_API} -e ${ETCDCTL_ENDPOINTS} ${image} etcdctl "$@"`;
  return ['env', `${ETCDCTL_API}=${etcdApiVersion(lab.os)}`, `${ETCDCTL_ENDPOINTS}=${etcdEndpoints(lab).join(',')}`, 'sh', '-c', script, 'etcdctl', ...args];
}

/** Where `cclab fleetctl` puts unit files it uploads (fleetctl names a unit after its file). */
export const REMOTE_UNIT_DIR = '/tmp/cclab-units';

/** The remote argv of `cclab fleetctl`: fleetctl from /opt/bin (Flatcar: installed at first boot) or PATH, etcd driver. */
export function remoteFleetctl(lab: Lab, args: string[]): string[] {
  const script = 'PATH=/opt/bin:$PATH; export PATH; exec fleetctl "$@"';
  // Lab machines make their SSH host keys at first boot: fleetctl's hops between them cannot know them.
  return ['env', `${FLEETCTL_DRIVER}=etcd`, `${FLEETCTL_ENDPOINT}=${etcdEndpoints(lab).join(',')}`, `${FLEETCTL_STRICT_HOST_KEY_CHECKING}=false`, 'sh', '-c', script, 'fleetctl', ...args];
}

/** Unit file suffixes fleet accepts (a host file named on the fleetctl command line with one is uploaded). */
export const UNIT_SUFFIXES = ['.service', '.socket', '.timer', '.path', '.mount', '.automount', '.device', '.target'] as const;

export function isUnitFileName(word: string): boolean {
  return !word.startsWith('-') && UNIT_SUFFIXES.some((s) => word.endsWith(s));
}
