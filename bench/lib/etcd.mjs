/**
 * A three-member etcd 3.4 cluster (v2 API on) on 127.0.0.1, free ports picked at run time, data
 * directories under a temporary directory; members killed by PID (lib/proc.mjs also kills them
 * if the bench exits or is interrupted).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { daemon, freePorts } from './proc.mjs';

/** Defines (does not start) a cluster of `n` members under `dir`. */
export async function defineCluster(dir, n = 3) {
  mkdirSync(dir, { recursive: true });
  const ports = await freePorts(2 * n);
  const token = `cclab-bench-${randomBytes(4).toString('hex')}`;
  const specs = Array.from({ length: n }, (_, i) => ({
    name: `etcd-0${i + 1}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const members = specs.map((s) => ({
    ...s,
    argv: [
      'etcd',
      '--enable-v2=true',
      '--name', s.name,
      '--data-dir', path.join(dir, s.name),
      '--listen-client-urls', s.clientUrl,
      '--advertise-client-urls', s.clientUrl,
      '--listen-peer-urls', s.peerUrl,
      '--initial-advertise-peer-urls', s.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
    ],
    logFile: path.join(dir, `${s.name}.log`),
    proc: undefined,
  }));
  return {
    members,
    clientUrls: members.map((m) => m.clientUrl),
    /** Starts every member at once (returns immediately). */
    start() {
      for (const m of members) m.proc = daemon(`etcd ${m.name}`, m.argv, { logFile: m.logFile });
    },
    async kill() {
      await Promise.all(members.map((m) => m.proc?.kill()));
    },
    logs() {
      return members.map((m) => `--- ${m.name}\n${m.proc?.logTail() ?? ''}`).join('\n');
    },
    dead() {
      return members.filter((m) => m.proc && !m.proc.running()).map((m) => m.name);
    },
  };
}

/** GET url/health → true when etcd answers 200 {"health":"true"}. */
export async function memberHealthy(url) {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
    const body = await res.text();
    return res.status === 200 && /"health"\s*:\s*"true"/.test(body);
  } catch {
    return false;
  }
}

/**
 * Polls each member's /health in its own tight loop (a member that is slow to answer does not hold
 * up the others) and resolves with the bench clock time at which the last of them first answered
 * healthy: the moment the whole cluster was first seen healthy. Etcd members of a new cluster do
 * not turn unhealthy again once healthy, so "each has answered healthy once" is "all are healthy".
 */
export async function pollAllHealthy(urls, clock, { timeoutMs = 30_000, isDead = () => [] } = {}) {
  const until = clock() + timeoutMs;
  const firstHealthy = await Promise.all(
    urls.map(async (url) => {
      for (;;) {
        const ok = await memberHealthy(url);
        const t = clock();
        if (ok) return t;
        const dead = isDead();
        if (dead.length > 0) throw new Error(`etcd member(s) exited: ${dead.join(', ')}`);
        if (t > until) throw new Error(`etcd member ${url} not healthy after ${timeoutMs / 1000} s`);
        // A member that is not listening yet refuses at once: pause a little so the loop does not spin.
        await new Promise((r) => setTimeout(r, 2));
      }
    }),
  );
  return Math.max(...firstHealthy);
}

/** Registers a fleet machine as fleetd does: v2 key /_coreos.com/fleet/machines/<id>/object, TTL. */
export async function registerFleetMachine(url, state, ttlSeconds = 30) {
  const body = new URLSearchParams({ value: JSON.stringify(state), ttl: String(ttlSeconds) });
  const res = await fetch(`${url}/v2/keys/_coreos.com/fleet/machines/${state.ID}/object`, {
    method: 'PUT',
    body,
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`registering ${state.ID}: ${res.status} ${await res.text()}`);
}

export function fleetMachine(i) {
  return {
    ID: randomBytes(16).toString('hex'),
    PublicIP: `10.64.0.${101 + i}`,
    Metadata: { role: 'worker' },
    Capabilities: { DISABLE_ENGINE: false },
    Version: '1.0.0',
  };
}
