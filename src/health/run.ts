/**
 * Runs every probe concurrently and keeps polling until the whole is healthy or the deadline passes.
 *
 * Each probe (an etcd member, a proxy, the fleet registry, the Docker API) polls on its own: one
 * attempt, then a short pause, again — so a slow probe never delays the others. After each attempt
 * the latest observation of every probe is judged; the first time the judgement is healthy the run
 * ends at once (in-flight attempts are dropped). At the deadline, probes stop after the attempt in
 * progress is dropped, except a probe that has not answered once: it finishes its first attempt
 * (bounded by the request timeout), so a deadline of 0 means "look once". The report is the
 * judgement of the last completed attempt of every probe.
 */

import { InterruptedError } from '../errors.js';
import type { HttpGet, RemoteExec } from '../transport.js';
import { observeDocker } from './checks/docker.js';
import { observeMember } from './checks/etcd.js';
import { observeFleet } from './checks/fleet.js';
import { observeProxy } from './checks/proxy.js';
import { curlOverSsh, tlsHttpGet } from './http.js';
import { judge } from './policy.js';
import type { HealthTargets } from './targets.js';
import type { Fetched, HealthReport, Observations } from './types.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
export const DEFAULT_POLL_INTERVAL_MS = 300;

export interface HealthRunOptions {
  /** How long to keep polling for a healthy result. */
  timeoutMs: number;
  /** Limit of each single request. */
  requestTimeoutMs?: number;
  /** Pause between two attempts of one probe. */
  pollIntervalMs?: number;
  /** Aborting it ends the run with InterruptedError. */
  signal?: AbortSignal;
  /** Called with the current judgement after every attempt, once every probe has answered once. */
  onProgress?: (report: HealthReport) => void;
}

export interface RunDeps {
  http: HttpGet;
  /** For proxies reached over SSH; without it they are reported as not checked. */
  remote?: RemoteExec | undefined;
  /** HTTPS with the client certificates in a directory, for a Docker API with TLS (default: node:https). */
  tlsHttp?: ((certDir: string) => HttpGet) | undefined;
}

interface Probe {
  /** One attempt; resolves to the function that records what it saw (called only if not cut short). */
  observe(signal: AbortSignal): Promise<() => void>;
  /** Fills the observation of a probe that never completed an attempt. */
  placeholder(): void;
  answered: boolean;
}

export async function runHealthChecks(targets: HealthTargets, opts: HealthRunOptions, deps: RunDeps): Promise<HealthReport> {
  const requestTimeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const interval = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (opts.signal?.aborted) throw interrupted();

  const latest: Observations = { members: [], proxies: [], fleet: undefined, docker: undefined };
  const probes: Probe[] = [];
  const noAnswer: Fetched = { ok: false, kind: 'timeout', error: 'no answer before the deadline' };
  const probe = <T>(observe: (signal: AbortSignal) => Promise<T>, record: (value: T) => void, placeholder: () => void) => {
    probes.push({
      observe: async (signal) => {
        const value = await observe(signal);
        return () => record(value);
      },
      placeholder,
      answered: false,
    });
  };

  const etcdUrls =
    targets.etcd === undefined ? [] : targets.etcd.mode === 'members' ? targets.etcd.members.map((m) => m.clientUrl) : targets.etcd.endpoints;
  etcdUrls.forEach((url, i) =>
    probe(
      (s) => observeMember(deps.http, url, requestTimeout, s),
      (v) => void (latest.members[i] = v),
      () => void (latest.members[i] = { url, health: noAnswer, version: noAnswer, members: noAnswer }),
    ),
  );

  targets.proxies.forEach((p, i) => {
    if (p.via === 'ssh' && !deps.remote) {
      latest.proxies[i] = { skipped: `no SSH access to ${p.machine}` };
      return;
    }
    const http = p.via === 'ssh' ? curlOverSsh(deps.remote!, p.machine) : deps.http;
    probe(
      (s) => observeProxy(http, p.url, requestTimeout, s),
      (v) => void (latest.proxies[i] = v),
      () => void (latest.proxies[i] = { config: noAnswer, health: noAnswer }),
    );
  });

  const fleet = targets.fleet;
  if (fleet) {
    probe(
      (s) => observeFleet(deps.http, fleet.registryUrls, requestTimeout, s),
      (v) => void (latest.fleet = v),
      () => void (latest.fleet = { url: undefined, registry: noAnswer }),
    );
  }

  const docker = targets.docker;
  if (docker) {
    probe(
      (s) => observeDocker(docker.certDir !== undefined ? (deps.tlsHttp ?? tlsHttpGet)(docker.certDir) : deps.http, docker.endpoint, requestTimeout, s),
      (v) => void (latest.docker = v),
      () => void (latest.docker = { ping: noAnswer, version: noAnswer }),
    );
  }

  const finish = new AbortController();
  const deadline = new AbortController();
  const cut = AbortSignal.any([finish.signal, deadline.signal]);
  let wasInterrupted = false;
  const onAbort = () => {
    wasInterrupted = true;
    finish.abort();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => deadline.abort(), Math.max(0, opts.timeoutMs));

  const loop = async (p: Probe) => {
    while (!finish.signal.aborted) {
      // A probe's first attempt is not cut by the deadline: every probe reports something it saw.
      const signal = p.answered ? cut : finish.signal;
      const record = await p.observe(signal);
      // An attempt cut short is dropped: the previous observation stands.
      if (signal.aborted) return;
      record();
      p.answered = true;
      if (probes.every((q) => q.answered)) {
        const report = judge(targets, latest);
        opts.onProgress?.(report);
        if (report.healthy) {
          finish.abort();
          return;
        }
      }
      if (deadline.signal.aborted) return;
      await sleep(interval, cut);
      if (deadline.signal.aborted) return;
    }
  };

  try {
    await Promise.all(probes.map(loop));
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (wasInterrupted) throw interrupted();
  for (const p of probes) if (!p.answered) p.placeholder();
  return judge(targets, latest);
}

function interrupted(): InterruptedError {
  return new InterruptedError('health checks interrupted');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
