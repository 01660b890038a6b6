/**
 * What a health-check run looks at, decided before any request is made (pure).
 * `labTargets` maps a resolved lab; `endpointTargets` maps `cclab check --endpoints …`.
 */

import type { Lab } from '../lab/types.js';

/** An etcd member the lab expects, by name. */
export interface EtcdMemberTarget {
  name: string;
  clientUrl: string;
  peerUrl: string;
}

/**
 * The etcd cluster to check.
 * - `members`: the lab knows every member: the member list must hold exactly these names and peer URLs.
 * - `endpoints`: client URLs given on the command line; member names come from the member list, and
 *   only a count (`expectMembers`, if given) is expected.
 */
export type EtcdTargets =
  | { mode: 'members'; members: EtcdMemberTarget[] }
  | { mode: 'endpoints'; endpoints: string[]; expectMembers: number | undefined };

/** A v2 proxy on a lab machine: reached directly, or with curl on the machine over SSH (loopback-only). */
export interface ProxyTarget {
  machine: string;
  url: string;
  via: 'direct' | 'ssh';
}

export interface FleetMachineTarget {
  machine: string;
  /** The private-network address fleet must publish as PublicIP. */
  ip: string;
  metadata: Record<string, string>;
}

/**
 * fleet's machine registry, read from etcd at one of `registryUrls` (whichever answers first).
 * - `machines`: exactly these machines, each with its address and metadata.
 * - `count`: this many machines, each carrying at least `metadata`.
 */
export type FleetTargets =
  | { mode: 'machines'; machines: FleetMachineTarget[]; registryUrls: string[] }
  | { mode: 'count'; expectCount: number; metadata: Record<string, string>; registryUrls: string[] };

export interface DockerTarget {
  /** tcp://HOST:PORT */
  endpoint: string;
  /** The lab machine behind the endpoint, when known (for messages). */
  machine: string | undefined;
  /** TLS with a client certificate: DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem); absent: plain HTTP. */
  certDir?: string | undefined;
}

export interface HealthTargets {
  etcd: EtcdTargets | undefined;
  proxies: ProxyTarget[];
  fleet: FleetTargets | undefined;
  docker: DockerTarget | undefined;
}

/** The targets of a lab. `dockerEndpoint` is the host side of the forwarded Docker port, once known. */
export function labTargets(lab: Lab, dockerEndpoint?: string, dockerCertDir?: string): HealthTargets {
  const members = lab.etcd.members.map((m) => ({ name: m.name, clientUrl: m.clientUrl, peerUrl: m.peerUrl }));
  const port = lab.etcd.clientPort;
  const proxies: ProxyTarget[] = [];
  for (const m of lab.machines) {
    if (m.etcd !== 'proxy') continue;
    if (m.etcdListen === 'loopback') proxies.push({ machine: m.name, url: `http://127.0.0.1:${port}`, via: 'ssh' });
    else if (m.etcdListen === 'all') proxies.push({ machine: m.name, url: `http://${m.ip}:${port}`, via: 'direct' });
  }
  const fleetMachines = lab.machines
    .filter((m) => m.fleet)
    .map((m) => ({ machine: m.name, ip: m.ip, metadata: { ...m.fleetMetadata } }));
  const dockerMachine = lab.machines.find((m) => m.dockerTcp);
  return {
    etcd: members.length > 0 ? { mode: 'members', members } : undefined,
    proxies,
    fleet:
      fleetMachines.length > 0
        ? { mode: 'machines', machines: fleetMachines, registryUrls: members.map((m) => m.clientUrl) }
        : undefined,
    docker: dockerEndpoint === undefined ? undefined : { endpoint: dockerEndpoint, machine: dockerMachine?.name, ...(dockerCertDir !== undefined && { certDir: dockerCertDir }) },
  };
}

export interface EndpointTargetOptions {
  /** etcd client URLs (members, or a proxy). */
  endpoints: string[];
  expectMembers?: number | undefined;
  /** Number of machines fleet must have registered. */
  expectFleet?: number | undefined;
  /** Metadata every registered fleet machine must carry. */
  fleetMetadata?: Record<string, string> | undefined;
  /** tcp://HOST:PORT */
  dockerHost?: string | undefined;
}

/** The targets of `cclab check --endpoints …` (inputs already validated by the command). */
export function endpointTargets(opts: EndpointTargetOptions): HealthTargets {
  const endpoints = opts.endpoints.map(normalizeUrl);
  return {
    etcd: endpoints.length > 0 ? { mode: 'endpoints', endpoints, expectMembers: opts.expectMembers } : undefined,
    proxies: [],
    fleet:
      opts.expectFleet === undefined
        ? undefined
        : { mode: 'count', expectCount: opts.expectFleet, metadata: { ...opts.fleetMetadata }, registryUrls: endpoints },
    docker: opts.dockerHost === undefined ? undefined : { endpoint: opts.dockerHost, machine: undefined },
  };
}

/** `http://h:p/` → `http://h:p`: the form URLs are compared in. */
export function normalizeUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/** `tcp://127.0.0.1:2375` → `http://127.0.0.1:2375`. */
export function dockerHttpBase(endpoint: string): string {
  return normalizeUrl(endpoint.replace(/^tcp:\/\//i, 'http://'));
}
