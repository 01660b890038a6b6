/** Helpers shared by the probes (observing through an injected HttpGet) and their pure judges. */

import type { HttpGet } from '../../transport.js';
import { HttpFailure } from '../http.js';
import type { Fetched } from '../types.js';

/** One GET that never rejects: failures become `{ ok: false }` observations. */
export async function fetchOnce(http: HttpGet, url: string, timeoutMs: number, signal: AbortSignal): Promise<Fetched> {
  try {
    const res = await http(url, timeoutMs, signal);
    return { ok: true, status: res.status, body: res.body };
  } catch (e) {
    if (e instanceof HttpFailure) return { ok: false, kind: e.kind, error: e.message };
    return { ok: false, kind: signal.aborted ? 'aborted' : 'other', error: e instanceof Error ? e.message : String(e) };
  }
}

/** Parses a JSON object body; undefined when it is not one. */
export function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A body shortened to one line for a report. */
export function snippet(body: string, max = 80): string {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** `http://192.168.57.101:2379/x` → `192.168.57.101:2379`. */
export function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return u.port ? `${u.hostname}:${u.port}` : u.hostname;
  } catch {
    return url;
  }
}

/** What a failed request means, for a hint: `what` is e.g. `etcd on etcd-02`. */
export function networkHint(f: Extract<Fetched, { ok: false }>, url: string, what: string): string {
  switch (f.kind) {
    case 'refused':
      return `nothing listens on ${hostPort(url)}: is ${what} running?`;
    case 'timeout':
      return `no answer from ${hostPort(url)}: is the machine up and its private network reachable from here?`;
    case 'unreachable':
      return `${hostPort(url)} cannot be reached: is the machine up and its private network configured?`;
    case 'reset':
      return `${hostPort(url)} closed the connection: is ${what} starting or restarting?`;
    case 'ssh':
      return `the check runs curl on the machine over SSH: is the machine up (vagrant status)?`;
    default:
      return otherFailureHint(f.kind, hostPort(url), what);
  }
}

/**
 * A hint for a failure whose reason the check line already shows (the answer was not HTTP, too
 * large, or failed otherwise): what to look at, without repeating the reason.
 */
export function otherFailureHint(kind: Extract<Fetched, { ok: false }>['kind'], at: string, what: string): string {
  switch (kind) {
    case 'invalid':
      return `what listens on ${at} is not an HTTP server: is that the address and port of ${what}?`;
    case 'too-large':
      return `${at} answered with far more than ${what} sends: is that the address and port of ${what}?`;
    default:
      return `check that ${at} is the address and port of ${what}, and that it is running`;
  }
}

/** Metadata as fleetctl prints it: sorted `k=v` joined by commas, `-` when empty. */
export function formatMetadata(metadata: Record<string, string>): string {
  const keys = Object.keys(metadata).sort();
  return keys.length === 0 ? '-' : keys.map((k) => `${k}=${metadata[k]}`).join(',');
}
