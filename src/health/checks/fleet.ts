/**
 * fleet's machine registry in the etcd v2 store: `/_coreos.com/fleet/machines/<machine-id>/object`
 * holds `{"ID","PublicIP","Metadata","Capabilities","Version"}` with a TTL that fleetd renews.
 * Keys under `_` are hidden from a recursive listing of `/`, so the registry is asked for directly.
 * An expired registration leaves an empty `<machine-id>` directory: it is not a machine.
 */

import type { HttpGet } from '../../transport.js';
import type { FleetMachineTarget, FleetTargets } from '../targets.js';
import type { CheckResult, Fetched, FleetObservation, GroupVerdict } from '../types.js';
import { fetchOnce, formatMetadata, jsonObject, snippet } from './common.js';

export const FLEET_MACHINES_KEY = '/_coreos.com/fleet/machines';

/** VirtualBox's NAT address: what fleet publishes when public_ip is not set. */
export const NAT_ADDRESS = '10.0.2.15';

export function fleetRegistryUrl(etcdUrl: string): string {
  return `${etcdUrl}/v2/keys${FLEET_MACHINES_KEY}?recursive=true`;
}

/** Reads the registry from whichever URL answers first (with the registry, or "no such key"). */
export async function observeFleet(
  http: HttpGet,
  urls: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<FleetObservation> {
  if (urls.length === 0) {
    return { url: undefined, registry: { ok: false, kind: 'other', error: 'no etcd endpoint to read the registry from' } };
  }
  const losers = new AbortController();
  const both = AbortSignal.any([signal, losers.signal]);
  const attempts = urls.map(async (url) => ({ url, registry: await fetchOnce(http, fleetRegistryUrl(url), timeoutMs, both) }));
  const winner = await firstMatching(attempts, (o) => readRegistry(o.registry).kind !== 'failed');
  losers.abort();
  if (winner) return winner;
  const all = await Promise.all(attempts);
  // Prefer an HTTP answer over a network failure: it says more.
  return all.find((o) => o.registry.ok) ?? all[0]!;
}

async function firstMatching<T>(promises: Promise<T>[], pred: (v: T) => boolean): Promise<T | undefined> {
  return new Promise((resolve) => {
    let pending = promises.length;
    for (const p of promises) {
      void p.then((v) => {
        if (pred(v)) resolve(v);
        if (--pending === 0) resolve(undefined);
      });
    }
  });
}

export interface FleetRegistration {
  id: string;
  publicIp: string;
  metadata: Record<string, string>;
  version: string | undefined;
}

export interface FleetRegistry {
  machines: FleetRegistration[];
  /** Registrations whose value is not fleet's JSON. */
  invalid: string[];
}

/** A v2 GET answer of the machines directory → the registered machines; undefined if not such an answer. */
export function parseFleetRegistry(body: string): FleetRegistry | undefined {
  const doc = jsonObject(body);
  const node = doc?.node;
  if (typeof node !== 'object' || node === null) return undefined;
  const children = (node as { nodes?: unknown }).nodes;
  const registry: FleetRegistry = { machines: [], invalid: [] };
  if (!Array.isArray(children)) return registry;
  for (const child of children as unknown[]) {
    if (typeof child !== 'object' || child === null) continue;
    const dirKey = String((child as { key?: unknown }).key ?? '');
    const dirId = dirKey.slice(dirKey.lastIndexOf('/') + 1);
    const leaves = (child as { nodes?: unknown }).nodes;
    if (!Array.isArray(leaves)) continue; // expired: the directory stays, the object is gone
    const object = (leaves as unknown[]).find(
      (l): l is { key: string; value?: unknown } =>
        typeof l === 'object' && l !== null && String((l as { key?: unknown }).key ?? '').endsWith('/object'),
    );
    if (!object) continue;
    const value = typeof object.value === 'string' ? jsonObject(object.value) : undefined;
    if (!value) {
      registry.invalid.push(`${shortId(dirId)}: registration is not fleet's JSON`);
      continue;
    }
    const metadata: Record<string, string> = {};
    if (typeof value.Metadata === 'object' && value.Metadata !== null) {
      for (const [k, v] of Object.entries(value.Metadata as Record<string, unknown>)) metadata[k] = String(v);
    }
    registry.machines.push({
      id: typeof value.ID === 'string' && value.ID !== '' ? value.ID : dirId,
      publicIp: typeof value.PublicIP === 'string' ? value.PublicIP : '',
      metadata,
      version: typeof value.Version === 'string' ? value.Version : undefined,
    });
  }
  registry.machines.sort((a, b) => a.id.localeCompare(b.id));
  return registry;
}

type RegistryRead = { kind: 'ok'; registry: FleetRegistry } | { kind: 'failed'; observed: string; hint: string };

/** The registry from an observation: a 404 "Key not found" (errorCode 100) is an empty registry. */
export function readRegistry(f: Fetched): RegistryRead {
  if (!f.ok) {
    return { kind: 'failed', observed: f.error, hint: 'no etcd member answered: see the etcd checks above' };
  }
  const doc = jsonObject(f.body);
  if (f.status === 404 && doc?.errorCode === 100) return { kind: 'ok', registry: { machines: [], invalid: [] } };
  if (f.status === 200) {
    const registry = parseFleetRegistry(f.body);
    if (registry) return { kind: 'ok', registry };
  }
  if (f.status === 404) {
    return {
      kind: 'failed',
      observed: `404 ${snippet(f.body)}`,
      hint: 'the etcd v2 API is off: fleet needs it; start etcd with --enable-v2=true (ETCD_ENABLE_V2=true)',
    };
  }
  return { kind: 'failed', observed: `${f.status} ${snippet(f.body)}`, hint: 'etcd did not answer the registry read as expected' };
}

export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

function sameMetadata(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function describe(r: FleetRegistration): string {
  return `${shortId(r.id)} at ${r.publicIp || '(no address)'} (${formatMetadata(r.metadata)})`;
}

function publicIpHint(machine: string, seen: string, expected: string): string {
  const nat = seen === NAT_ADDRESS || seen.startsWith('10.0.2.') ? ` (${seen} is VirtualBox's NAT address)` : '';
  return `fleet public_ip is not set: fleet on ${machine} published ${seen || 'no address'}${nat}; set coreos.fleet.public_ip (FLEET_PUBLIC_IP) to ${expected}`;
}

export interface FleetJudgement {
  checks: CheckResult[];
  verdict: GroupVerdict & { registered: number | undefined; expected: number };
}

export function judgeFleet(target: FleetTargets, obs: FleetObservation): FleetJudgement {
  const expected = target.mode === 'machines' ? target.machines.length : target.expectCount;
  const read = readRegistry(obs.registry);
  const via = obs.url ? ` (${obs.url})` : '';
  if (read.kind === 'failed') {
    return {
      checks: [{ id: 'fleet-registry', group: 'fleet', name: `fleet registry${via}`, ok: false, observed: read.observed, hint: read.hint }],
      verdict: { verdict: 'unhealthy', reason: `the registry cannot be read: ${read.observed}`, registered: undefined, expected },
    };
  }
  return target.mode === 'machines'
    ? judgeMachines(target.machines, read.registry, via)
    : judgeCount(target.expectCount, target.metadata, read.registry, via);
}

function judgeMachines(machines: FleetMachineTarget[], registry: FleetRegistry, via: string): FleetJudgement {
  const unmatched = [...registry.machines];
  const take = (pred: (r: FleetRegistration) => boolean) => {
    const i = unmatched.findIndex(pred);
    return i < 0 ? undefined : unmatched.splice(i, 1)[0];
  };
  // 1. by address; 2. what is left, by metadata (a machine that published the wrong address).
  const byIp = new Map(machines.map((m) => [m.machine, take((r) => r.publicIp === m.ip)] as const));
  const byMetadata = new Map<string, FleetRegistration | undefined>();
  for (const m of machines) {
    if (!byIp.get(m.machine)) byMetadata.set(m.machine, take((r) => sameMetadata(r.metadata, m.metadata)));
  }

  const checks: CheckResult[] = [];
  const reasons: string[] = [];
  for (const m of machines) {
    const base = { id: `fleet-machine:${m.machine}`, group: 'fleet' as const, name: `fleet machine ${m.machine} (${m.ip})` };
    const atIp = byIp.get(m.machine);
    const elsewhere = byMetadata.get(m.machine);
    if (atIp && sameMetadata(atIp.metadata, m.metadata)) {
      checks.push({ ...base, ok: true, observed: `registered as ${shortId(atIp.id)}, ${formatMetadata(atIp.metadata)}` });
    } else if (atIp) {
      const observed = `metadata ${formatMetadata(atIp.metadata)}, expected ${formatMetadata(m.metadata)}`;
      reasons.push(`${m.machine} has metadata ${formatMetadata(atIp.metadata)}, expected ${formatMetadata(m.metadata)}`);
      checks.push({
        ...base,
        ok: false,
        observed,
        hint: `fleet on ${m.machine} runs with other metadata: check coreos.fleet.metadata (FLEET_METADATA) in its cloud-config`,
      });
    } else if (elsewhere) {
      const observed = `fleet sees ${elsewhere.publicIp || 'no address'} for ${m.machine}`;
      reasons.push(observed);
      checks.push({ ...base, ok: false, observed, hint: publicIpHint(m.machine, elsewhere.publicIp, m.ip) });
    } else {
      reasons.push(`${m.machine} is not registered`);
      checks.push({
        ...base,
        ok: false,
        observed: 'not registered',
        hint: `fleet on ${m.machine} has not registered, or its registration expired (fleetd renews it every few seconds): is fleet running on ${m.machine}, and does it reach etcd?`,
      });
    }
  }

  const count = registry.machines.length;
  const problems: string[] = [];
  const hints: string[] = [];
  if (unmatched.length > 0) {
    problems.push(`unexpected: ${unmatched.map(describe).join('; ')}`);
    reasons.push(`${unmatched.length} unexpected machine${unmatched.length === 1 ? '' : 's'}`);
    if (unmatched.some((r) => r.publicIp.startsWith('10.0.2.'))) {
      hints.push(`fleet public_ip is not set on a machine that published ${NAT_ADDRESS} (VirtualBox's NAT address)`);
    }
    hints.push('a machine outside this lab registered in its etcd, or an old registration has not expired yet');
  }
  if (registry.invalid.length > 0) {
    problems.push(registry.invalid.join('; '));
    reasons.push(`${registry.invalid.length} unreadable registration${registry.invalid.length === 1 ? '' : 's'}`);
    hints.push('something other than fleetd wrote under /_coreos.com/fleet/machines');
  }
  const countOk = count === machines.length;
  const ok = countOk && problems.length === 0;
  checks.unshift({
    id: 'fleet-registry',
    group: 'fleet',
    name: `fleet registry${via}`,
    ok,
    observed: [`${count} machine${count === 1 ? '' : 's'} registered, expected ${machines.length}`, ...problems].join('; '),
    ...(ok ? {} : { hint: hints.length > 0 ? hints.join('; ') : 'see the fleet machine checks below' }),
  });
  const healthy = checks.every((c) => c.ok);
  return {
    checks,
    verdict: {
      verdict: healthy ? 'healthy' : 'unhealthy',
      ...(healthy ? {} : { reason: [...new Set(reasons)].join('; ') || `${count} of ${machines.length} machines registered` }),
      registered: count,
      expected: machines.length,
    },
  };
}

function judgeCount(expectCount: number, metadata: Record<string, string>, registry: FleetRegistry, via: string): FleetJudgement {
  const count = registry.machines.length;
  const problems: string[] = [];
  const hints: string[] = [];
  if (count !== expectCount) {
    problems.push(`${count} machine${count === 1 ? '' : 's'} registered, expected ${expectCount}`);
    hints.push(
      count < expectCount
        ? 'a machine has not registered, or its registration expired: is fleet running there, and does it reach etcd?'
        : 'more machines registered than expected',
    );
  }
  const lacking = registry.machines.filter((r) => Object.entries(metadata).some(([k, v]) => r.metadata[k] !== v));
  if (lacking.length > 0) {
    problems.push(`without ${formatMetadata(metadata)}: ${lacking.map(describe).join('; ')}`);
    hints.push('check coreos.fleet.metadata (FLEET_METADATA) on those machines');
  }
  const nat = registry.machines.filter((r) => r.publicIp.startsWith('10.0.2.'));
  if (nat.length > 0) {
    problems.push(`fleet sees ${NAT_ADDRESS} for ${nat.map((r) => shortId(r.id)).join(', ')}`);
    hints.push(`fleet public_ip is not set: ${NAT_ADDRESS} is VirtualBox's NAT address; set coreos.fleet.public_ip to each machine's private address`);
  }
  if (registry.invalid.length > 0) {
    problems.push(registry.invalid.join('; '));
    hints.push('something other than fleetd wrote under /_coreos.com/fleet/machines');
  }
  const ok = problems.length === 0;
  const list = registry.machines.map(describe).join('; ');
  return {
    checks: [
      {
        id: 'fleet-registry',
        group: 'fleet',
        name: `fleet machines${via}`,
        ok,
        observed: ok ? `${count} machine${count === 1 ? '' : 's'}${count > 0 ? `: ${list}` : ''}` : problems.join('; '),
        ...(ok ? {} : { hint: hints.join('; ') }),
      },
    ],
    verdict: {
      verdict: ok ? 'healthy' : 'unhealthy',
      ...(ok ? {} : { reason: problems.join('; ') }),
      registered: count,
      expected: expectCount,
    },
  };
}
