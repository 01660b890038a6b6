/**
 * `cclab check`: health of etcd (members, member list, proxies), fleet's registry and the Docker API.
 * - `run()`: `--endpoints URL[,URL…]` mode, for any cluster reachable from here;
 * - `checkLab()`: a lab's own targets (used by `cclab check NAME`; src/health/lab.ts does the work).
 * The report goes to stdout (human or --json); an unhealthy result throws UnhealthyError after it.
 */

import type { Context } from '../context.js';
import { UnhealthyError, UsageError } from '../errors.js';
import { DEFAULT_CHECK_TIMEOUT_MS, formatDuration, parseDuration } from '../health/duration.js';
import { checkTargets, labReport, type HealthDeps } from '../health/lab.js';
import { formatHuman, formatHealthJson, summary } from '../health/report.js';
import { endpointTargets } from '../health/targets.js';
import type { HealthReport } from '../health/types.js';
import type { Lab } from '../lab/types.js';
import type { RemoteExec } from '../transport.js';

export interface CheckOptions {
  /** --endpoints: etcd client URLs (members or a proxy), comma-separated; may be given more than once. */
  endpoints?: string | string[] | undefined;
  /** --expect-members: how many members the etcd cluster must have. */
  expectMembers?: number | undefined;
  /** --expect-fleet: how many machines fleet must have registered. */
  expectFleet?: number | undefined;
  /** --fleet-metadata: `k=v,…` every registered fleet machine must carry. */
  fleetMetadata?: string | string[] | undefined;
  /** --docker-host: tcp://HOST:PORT of a Docker API. */
  dockerHost?: string | undefined;
  json?: boolean | undefined;
  /** --timeout: how long to wait for a healthy result (`90s`, `2m`, `500ms`, seconds); 0 looks once. */
  timeout?: string | number | undefined;
}

/** `cclab check --endpoints …`. Returns the report when healthy; throws UnhealthyError otherwise. */
export async function run(opts: CheckOptions, ctx: Context, deps: HealthDeps = {}): Promise<HealthReport> {
  const targets = endpointTargets(parseCheckOptions(opts));
  const timeoutMs = parseDuration(opts.timeout ?? DEFAULT_CHECK_TIMEOUT_MS / 1000);
  const report = await checkTargets(targets, timeoutMs, ctx.signal, deps);
  print(report, opts.json === true, ctx);
  if (!report.healthy) throw unhealthy(report, timeoutMs);
  return report;
}

export interface CheckLabOptions {
  timeoutMs: number;
  /** tcp://127.0.0.1:PORT: the host side of the lab's forwarded Docker port, when it has one. */
  dockerEndpoint?: string | undefined;
  dockerCertDir?: string | undefined;
  /** Runs curl on machines whose proxy listens on loopback only; without it those proxies are not checked. */
  remote?: RemoteExec | undefined;
  json?: boolean | undefined;
  /** Machines `cclab kill` powered off (name → when): their failing checks say so. */
  poweredOff?: Record<string, string> | undefined;
}

/** `cclab check NAME`: prints the lab's report; throws UnhealthyError when it is not healthy. */
export async function checkLab(lab: Lab, opts: CheckLabOptions, ctx: Context, deps: HealthDeps = {}): Promise<HealthReport> {
  const report = await labReport(lab, { dockerEndpoint: opts.dockerEndpoint, dockerCertDir: opts.dockerCertDir, timeoutMs: opts.timeoutMs, signal: ctx.signal, poweredOff: opts.poweredOff }, { ...deps, ...(opts.remote ? { remote: opts.remote } : {}) });
  print(report, opts.json === true, ctx);
  if (!report.healthy) throw unhealthy(report, opts.timeoutMs, lab.name, Object.keys(opts.poweredOff ?? {}));
  return report;
}

function print(report: HealthReport, json: boolean, ctx: Context): void {
  ctx.io.out(json ? formatHealthJson(report) : formatHuman(report));
}

function unhealthy(report: HealthReport, timeoutMs: number, lab?: string, off: string[] = []): UnhealthyError {
  const retried = `each check was retried for ${formatDuration(timeoutMs)}`;
  return new UnhealthyError(`unhealthy: ${summary(report)}`, {
    hint:
      off.length > 0
        ? `${off.join(', ')} ${off.length === 1 ? 'is' : 'are'} powered off by \`cclab kill\`: \`cclab up ${lab}\` brings ${off.length === 1 ? 'it' : 'them'} back (${retried})`
        : `${retried}; if the machines are still starting, run the check again with a longer --timeout`,
  });
}

export interface ParsedCheckOptions {
  endpoints: string[];
  expectMembers: number | undefined;
  expectFleet: number | undefined;
  fleetMetadata: Record<string, string> | undefined;
  dockerHost: string | undefined;
}

/** Validates the flags of `--endpoints` mode; every problem is a UsageError naming the flag. */
export function parseCheckOptions(opts: CheckOptions): ParsedCheckOptions {
  const endpoints: string[] = [];
  for (const item of list(opts.endpoints)) {
    const url = parseEndpoint(item);
    if (!endpoints.includes(url)) endpoints.push(url);
  }
  const dockerHost = opts.dockerHost === undefined || opts.dockerHost.trim() === '' ? undefined : parseDockerHost(opts.dockerHost);
  if (endpoints.length === 0 && dockerHost === undefined) {
    throw new UsageError('nothing to check: no etcd endpoints and no Docker host', {
      hint: 'give --endpoints http://HOST:2379[,…] and/or --docker-host tcp://HOST:PORT, or the name of a lab',
    });
  }
  const expectMembers = count(opts.expectMembers, '--expect-members', 1);
  const expectFleet = count(opts.expectFleet, '--expect-fleet', 0);
  const metadataItems = list(opts.fleetMetadata);
  const fleetMetadata = metadataItems.length > 0 ? parseMetadata(metadataItems) : undefined;
  if (endpoints.length === 0 && (expectMembers !== undefined || expectFleet !== undefined)) {
    throw new UsageError(`${expectMembers !== undefined ? '--expect-members' : '--expect-fleet'} needs --endpoints`, {
      hint: 'etcd members and fleet machines are read from the etcd endpoints given with --endpoints',
    });
  }
  if (fleetMetadata !== undefined && expectFleet === undefined) {
    throw new UsageError('--fleet-metadata needs --expect-fleet', { hint: 'say how many fleet machines to expect, e.g. --expect-fleet 3' });
  }
  return { endpoints, expectMembers, expectFleet, fleetMetadata, dockerHost };
}

function list(value: string | string[] | undefined): string[] {
  const items = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return items
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function parseEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--endpoints: "${text}" is not a URL`, { hint: 'write etcd client URLs such as http://192.168.57.101:2379' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--endpoints: "${text}" is not an http:// or https:// URL`, { hint: 'write etcd client URLs such as http://192.168.57.101:2379' });
  }
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new UsageError(`--endpoints: "${text}" must be a bare client URL (scheme, host and port only)`, {
      hint: 'write etcd client URLs such as http://192.168.57.101:2379',
    });
  }
  return `${url.protocol}//${url.host}`;
}

function parseDockerHost(text: string): string {
  const value = text.trim();
  const m = /^tcp:\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/i.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    const unix = /^unix:\/\//i.test(value);
    throw new UsageError(`--docker-host: "${text}" is not a tcp://HOST:PORT endpoint`, {
      hint: unix ? 'only the TCP Docker API can be checked: give tcp://HOST:PORT' : 'write it like tcp://127.0.0.1:2375',
    });
  }
  return `tcp://${m[1]}:${Number(m[2])}`;
}

function count(value: number | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag}: ${value} is not a whole number of at least ${min}`);
  }
  return value;
}

function parseMetadata(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    if (eq < 0 || key === '') {
      throw new UsageError(`--fleet-metadata: "${item}" is not key=value`, { hint: 'write metadata as k=v,k=v, e.g. role=worker,zone=a' });
    }
    out[key] = item.slice(eq + 1).trim();
  }
  return out;
}
