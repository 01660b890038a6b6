/** The Docker API on TCP: `GET /_ping` answers `OK`, `GET /version` names the engine and API versions. */

import type { HttpGet } from '../../transport.js';
import type { DockerTarget } from '../targets.js';
import { dockerHttpBase } from '../targets.js';
import type { CheckResult, DockerObservation, Fetched, HealthReport } from '../types.js';
import { fetchOnce, hostPort, jsonObject, otherFailureHint, snippet } from './common.js';

export async function observeDocker(
  http: HttpGet,
  endpoint: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<DockerObservation> {
  const base = dockerHttpBase(endpoint);
  const [ping, version] = await Promise.all([
    fetchOnce(http, `${base}/_ping`, timeoutMs, signal),
    fetchOnce(http, `${base}/version`, timeoutMs, signal),
  ]);
  return { ping, version };
}

export function judgeDocker(target: DockerTarget, obs: DockerObservation): { check: CheckResult; verdict: NonNullable<HealthReport['docker']> } {
  const on = target.machine ? ` on ${target.machine}` : '';
  const base = { id: 'docker', group: 'docker' as const, name: `docker${on} (${target.endpoint})` };
  const { ping, version } = obs;

  if (!ping.ok) {
    const hint =
      ping.kind === 'refused'
        ? `nothing listens on ${hostPort(dockerHttpBase(target.endpoint))}: is the Docker API exposed on TCP${on || ' on the machine'} (${target.certDir !== undefined ? 'docker-tls-tcp.socket' : 'docker-tcp.socket'}) and its port forwarded to this host (vagrant port)?`
        : ping.kind === 'timeout' || ping.kind === 'unreachable'
          ? `no answer from ${hostPort(dockerHttpBase(target.endpoint))}: is the machine up and the port forwarded (vagrant port)?`
          : ping.kind === 'tls'
            ? `the Docker API${on} did not accept the lab’s client certificate, or is not the lab’s (${target.certDir ?? 'no certificates'}): were the certificates made anew after the machine was provisioned? \`cclab up --recreate\` gives the machine the current ones`
          : ping.kind === 'reset'
            ? `the forwarded port accepts connections but nothing answers behind it: is docker running${on}?`
            : otherFailureHint(ping.kind, hostPort(dockerHttpBase(target.endpoint)), `the Docker API${on}`);
    return { check: { ...base, ok: false, observed: ping.error, hint }, verdict: { verdict: 'unreachable', reason: ping.error } };
  }
  if (ping.status !== 200 || ping.body.trim() !== 'OK') {
    const observed = `/_ping answered ${ping.status} ${snippet(ping.body)}`.trim();
    return {
      check: { ...base, ok: false, observed, hint: `what answers at ${target.endpoint} is not the Docker API (or docker is not ready yet)` },
      verdict: { verdict: 'unhealthy', reason: observed },
    };
  }
  const v = engineVersion(version);
  if (!v.ok) {
    const observed = `ping OK, but /version: ${v.text}`;
    return {
      check: { ...base, ok: false, observed, hint: 'the Docker API answers /_ping but not /version' },
      verdict: { verdict: 'unhealthy', reason: observed },
    };
  }
  return {
    check: { ...base, ok: true, observed: `ping OK, Docker ${v.version} (API ${v.apiVersion})` },
    verdict: { verdict: 'healthy', version: v.version, apiVersion: v.apiVersion },
  };
}

function engineVersion(f: Fetched): { ok: true; version: string; apiVersion: string } | { ok: false; text: string } {
  if (!f.ok) return { ok: false, text: f.error };
  const doc = jsonObject(f.body);
  if (f.status === 200 && typeof doc?.Version === 'string' && typeof doc.ApiVersion === 'string') {
    return { ok: true, version: doc.Version, apiVersion: doc.ApiVersion };
  }
  return { ok: false, text: `${f.status} ${snippet(f.body)}` };
}
