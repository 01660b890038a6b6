/**
 * A lab's health: its own targets (src/health/targets.ts) checked until healthy or the deadline,
 * with SSH to the machines whose etcd proxy listens on loopback only, and to every machine of a
 * lab on a remote libvirt host (its lab network is there). `cclab up` (at its end),
 * `cclab status --health` and `cclab check NAME` all come here; how SSH is opened is injected.
 */
import type { Lab } from '../lab/types.js';
import { remoteLibvirtOf } from '../providers/libvirt-uri.js';
import type { HttpGet, RemoteExec } from '../transport.js';
import { formatHuman, toJson } from './report.js';
import type { HealthRunOptions } from './run.js';
import { labTargets, type HealthTargets } from './targets.js';
import { notePoweredOff, type PoweredOff } from './powered-off.js';
import type { HealthReport, LabHealth } from './types.js';

/** The side effects of a health check; the defaults are real HTTP and no SSH. */
export interface HealthDeps {
  http?: HttpGet;
  remote?: RemoteExec | undefined;
  requestTimeoutMs?: number;
  pollIntervalMs?: number;
}

export interface LabCheckOptions {
  /** tcp://127.0.0.1:PORT: the host side of the lab's forwarded Docker port, when it has one. */
  dockerEndpoint?: string | undefined;
  /** The lab's DOCKER_CERT_PATH when its Docker API has TLS. */
  dockerCertDir?: string | undefined;
  timeoutMs: number;
  signal: AbortSignal;
  /** Machines `cclab kill` powered off (name → when): their failing checks say so. */
  poweredOff?: PoweredOff | undefined;
  /** Called with every judgement while the checks poll (`cclab up --timings` notes when each service got healthy). */
  onProgress?: ((report: HealthReport) => void) | undefined;
}

/** Runs `targets` until healthy or `timeoutMs` has passed. */
export async function checkTargets(
  targets: HealthTargets,
  timeoutMs: number,
  signal: AbortSignal,
  deps: HealthDeps = {},
  onProgress?: (report: HealthReport) => void,
): Promise<HealthReport> {
  const { runHealthChecks } = await import('./run.js');
  const http = deps.http ?? (await import('./http.js')).fetchHttpGet;
  const runOpts: HealthRunOptions = { timeoutMs, signal, ...(onProgress && { onProgress }) };
  if (deps.requestTimeoutMs !== undefined) runOpts.requestTimeoutMs = deps.requestTimeoutMs;
  if (deps.pollIntervalMs !== undefined) runOpts.pollIntervalMs = deps.pollIntervalMs;
  return runHealthChecks(targets, runOpts, { http, remote: deps.remote });
}

/**
 * The machine an HTTP check of `url` runs on when the lab's network is out of this host's reach (a
 * remote libvirt host): the machine whose address the URL names (a member asked on itself: one
 * that is down is reported as not reached), else the first machine.
 */
export function machineForUrl(lab: Lab, url: string): string {
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {
    // not a URL: the first machine's curl says so
  }
  return (lab.machines.find((m) => m.ip === host) ?? lab.machines[0]!).name;
}

/** Whether `url` names this host's loopback (a port Vagrant forwarded here). */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** Whether the lab runs on another host's libvirt, whose lab network this host cannot reach. */
export function onRemoteLibvirt(lab: Lab): boolean {
  return remoteLibvirtOf(lab) !== undefined;
}

/** The lab's report (its own targets). */
export async function labReport(lab: Lab, opts: LabCheckOptions, deps: HealthDeps = {}): Promise<HealthReport> {
  if (onRemoteLibvirt(lab) && deps.http === undefined && deps.remote !== undefined) {
    // The lab network is on the libvirt host: every HTTP check of a lab address runs as curl on a
    // lab machine; this host's own forwarded ports (the Docker API on 127.0.0.1) are asked here.
    const { curlOverSsh, fetchHttpGet } = await import('./http.js');
    const remote = deps.remote;
    deps = {
      ...deps,
      http: (url, timeoutMs, signal) => (isLoopbackUrl(url) ? fetchHttpGet : curlOverSsh(remote, machineForUrl(lab, url)))(url, timeoutMs, signal),
    };
  }
  const report = await checkTargets(labTargets(lab, opts.dockerEndpoint, opts.dockerCertDir), opts.timeoutMs, opts.signal, deps, opts.onProgress);
  return notePoweredOff(report, opts.poweredOff ?? {}, lab.name, lab.etcd.members.map((m) => m.name));
}

/** The lab's health: nothing printed, nothing thrown for an unhealthy lab. */
export async function labHealth(lab: Lab, opts: LabCheckOptions, deps: HealthDeps = {}): Promise<LabHealth> {
  const report = await labReport(lab, opts, deps);
  const failedGroups = [...new Set(report.checks.filter((c) => !c.ok).map((c) => c.group))];
  return { healthy: report.healthy, text: formatHuman(report), json: toJson(report), failedGroups };
}

/** Whether some check of the lab runs on a machine (a v2 proxy that listens on loopback only). */
export function needsRemote(lab: Lab): boolean {
  return onRemoteLibvirt(lab) || lab.machines.some((m) => m.etcd === 'proxy' && m.etcdListen === 'loopback');
}

/** Opens SSH to the lab's machines (in the CLI: one `vagrant ssh-config`, then direct ssh). */
export type OpenRemote = (lab: Lab) => Promise<RemoteExec & { close(): Promise<void> }>;

/**
 * Runs `fn` with SSH to the lab's machines when its checks need it, and closes it after.
 * `optional`: a lab whose SSH cannot be opened (machines not all running) gets none, and the
 * checks that need it are reported as not checked.
 */
export async function withLabRemote<T>(
  lab: Lab,
  open: OpenRemote,
  fn: (remote: RemoteExec | undefined) => Promise<T>,
  opts: { optional?: boolean } = {},
): Promise<T> {
  const opening = needsRemote(lab) ? open(lab) : Promise.resolve(undefined);
  const remote = opts.optional ? await opening.catch(() => undefined) : await opening;
  try {
    return await fn(remote);
  } finally {
    await remote?.close();
  }
}
