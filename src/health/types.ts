/**
 * Observations (what one attempt of a probe saw, raw) and results (what the policy made of them).
 * Probes only observe; everything that decides is pure and works on these types.
 */

import type { HttpFailureKind } from './http.js';

/** One HTTP GET as seen: an answer (any status), or why there was none. */
export type Fetched = { ok: true; status: number; body: string } | { ok: false; kind: HttpFailureKind; error: string };

export interface MemberObservation {
  url: string;
  health: Fetched;
  version: Fetched;
  members: Fetched;
}

export type ProxyObservation = { config: Fetched; health: Fetched } | { skipped: string };

export interface FleetObservation {
  /** The etcd URL the registry was read from (the one that answered), if any. */
  url: string | undefined;
  registry: Fetched;
}

export interface DockerObservation {
  ping: Fetched;
  version: Fetched;
}

/** The latest observation of every probe; arrays follow the order of the targets. */
export interface Observations {
  members: MemberObservation[];
  proxies: ProxyObservation[];
  fleet: FleetObservation | undefined;
  docker: DockerObservation | undefined;
}

export type CheckGroup = 'etcd' | 'etcd-proxy' | 'fleet' | 'docker';

export interface CheckResult {
  /** Stable id, e.g. `etcd-member:etcd-01`, `etcd-member-list`, `fleet-machine:worker-02`, `docker`. */
  id: string;
  group: CheckGroup;
  /** What was checked, e.g. `etcd member etcd-01 (http://192.168.57.101:2379)`. */
  name: string;
  ok: boolean;
  /** Not checked at all (ok is true so that it does not fail the run; the report says why). */
  skipped?: true;
  /** What was seen, one line. */
  observed: string;
  /** On failure: the likely cause and what to look at. */
  hint?: string;
}

export type EtcdVerdictWord = 'healthy' | 'degraded' | 'unavailable';

export interface EtcdVerdict {
  verdict: EtcdVerdictWord;
  reason?: string;
  /** Members the cluster should have. */
  expected: number;
  /** Names (or URLs) of members that do not answer, answer wrongly, or are missing from the member list. */
  down: string[];
  /** Members that answer /health with 503 (they run, but have no quorum). */
  noQuorum: string[];
}

export interface GroupVerdict {
  verdict: 'healthy' | 'unhealthy' | 'unreachable';
  reason?: string;
}

export interface HealthReport {
  healthy: boolean;
  etcd?: EtcdVerdict;
  proxies?: GroupVerdict;
  fleet?: GroupVerdict & { registered: number | undefined; expected: number };
  docker?: GroupVerdict & { version?: string; apiVersion?: string };
  checks: CheckResult[];
}

/**
 * A lab's health as `cclab up` and `cclab status --health` show it: the verdict, the human report
 * and the --json document. The one declaration of this shape.
 */
export interface LabHealth {
  healthy: boolean;
  /** The human report. */
  text: string;
  /** The --json document. */
  json: Record<string, unknown>;
  /** The groups of the checks that failed (etcd, etcd-proxy, fleet, docker), when known: for a hint. */
  failedGroups?: CheckGroup[] | undefined;
}
