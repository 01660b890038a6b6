/**
 * etcd v2 proxies: the proxy answers /v2/config/local/proxy itself (its endpoints) and forwards
 * /health to a member, so a healthy /health through it proves the path to the cluster.
 */

import type { HttpGet } from '../../transport.js';
import type { ProxyTarget } from '../targets.js';
import type { CheckResult, Fetched, ProxyObservation } from '../types.js';
import { fetchOnce, hostPort, jsonObject, otherFailureHint, snippet } from './common.js';

export async function observeProxy(
  http: HttpGet,
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProxyObservation> {
  const [config, health] = await Promise.all([
    fetchOnce(http, `${url}/v2/config/local/proxy`, timeoutMs, signal),
    fetchOnce(http, `${url}/health`, timeoutMs, signal),
  ]);
  return { config, health };
}

export function proxyCheckName(target: ProxyTarget): string {
  return `etcd proxy ${target.machine} (${target.url}${target.via === 'ssh' ? ' via ssh' : ''})`;
}

export function judgeProxy(target: ProxyTarget, obs: ProxyObservation): CheckResult {
  const base = { id: `etcd-proxy:${target.machine}`, group: 'etcd-proxy' as const, name: proxyCheckName(target) };
  if ('skipped' in obs) return { ...base, ok: true, skipped: true, observed: `not checked: ${obs.skipped}` };

  const where = target.via === 'ssh' ? ` on ${target.machine}` : '';
  const { config, health } = obs;
  // The proxy itself does not answer: one message, not two.
  if (!config.ok && !health.ok) {
    return { ...base, ok: false, observed: config.error, hint: unreachableHint(config, target, where) };
  }

  const observed: string[] = [];
  const hints: string[] = [];
  let ok = true;

  const endpoints = proxyEndpoints(config);
  if (endpoints.kind === 'ok') {
    observed.push(`${endpoints.count} endpoint${endpoints.count === 1 ? '' : 's'}`);
    if (endpoints.count === 0) {
      ok = false;
      observed[observed.length - 1] = 'no endpoints (reaches no member)';
      hints.push(noMemberHint(target));
    }
  } else {
    ok = false;
    observed.push(endpoints.text);
    hints.push(
      endpoints.kind === 'not-proxy'
        ? `etcd${where || ` at ${hostPort(target.url)}`} is not running as a v2 proxy: set proxy on (ETCD_PROXY=on) and enable the v2 API`
        : endpoints.kind === 'failed' && !config.ok
          ? unreachableHint(config, target, where)
          : 'the proxy answers its configuration in an unexpected form',
    );
  }

  if (health.ok && health.status === 200 && isHealthy(health.body)) {
    observed.push('/health true');
  } else {
    ok = false;
    if (!health.ok) {
      observed.push(`/health: ${health.error}`);
      hints.push(unreachableHint(health, target, where));
    } else {
      observed.push(`/health ${health.status} ${snippet(healthMessage(health.body))}`.trim());
      if (!hints.includes(noMemberHint(target))) hints.push(noMemberHint(target));
    }
  }

  return { ...base, ok, observed: observed.join(', '), ...(ok ? {} : { hint: [...new Set(hints)].join('; ') }) };
}

type Endpoints = { kind: 'ok'; count: number } | { kind: 'not-proxy' | 'failed' | 'bad'; text: string };

function proxyEndpoints(f: Fetched): Endpoints {
  if (!f.ok) return { kind: 'failed', text: `/v2/config/local/proxy: ${f.error}` };
  if (f.status === 404) return { kind: 'not-proxy', text: 'not a proxy (/v2/config/local/proxy: 404)' };
  const doc = jsonObject(f.body);
  if (f.status === 200 && doc && Array.isArray(doc.endpoints)) return { kind: 'ok', count: doc.endpoints.length };
  return { kind: 'bad', text: `/v2/config/local/proxy: ${f.status} ${snippet(f.body)}` };
}

function isHealthy(body: string): boolean {
  const doc = jsonObject(body);
  return doc?.health === 'true' || doc?.health === true;
}

/** The proxy's own error text (`{"message":"httpproxy: …"}`) when there is one. */
function healthMessage(body: string): string {
  const doc = jsonObject(body);
  return typeof doc?.message === 'string' ? doc.message : body;
}

function noMemberHint(target: ProxyTarget): string {
  return `the proxy on ${target.machine} reaches no healthy member: the etcd cluster is down or has no quorum (see the etcd checks), or its initial_cluster names the wrong peer URLs`;
}

function unreachableHint(f: Extract<Fetched, { ok: false }>, target: ProxyTarget, where: string): string {
  switch (f.kind) {
    case 'refused':
      return `nothing listens on ${hostPort(target.url)}${where}: is the etcd proxy running on ${target.machine}?`;
    case 'timeout':
      return `no answer from ${hostPort(target.url)}${where}: is ${target.machine} up and the proxy running?`;
    case 'ssh':
      return `the proxy listens on loopback only, so cclab runs curl on ${target.machine} over SSH: is ${target.machine} up (vagrant status)?`;
    default:
      return otherFailureHint(f.kind, hostPort(target.url), `the etcd proxy on ${target.machine}`);
  }
}
