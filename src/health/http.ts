/**
 * The real HttpGet implementations used by health checks:
 * - `fetchHttpGet`: Node's global fetch (undici), for addresses the host reaches;
 * - `curlOverSsh`: curl run on a lab machine through RemoteExec, for loopback-only listeners.
 * Both reject with an HttpFailure whose message reads well in a report ("connection refused",
 * "timed out after 2s").
 */

import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { ExecResult, HttpGet, HttpResponse, RemoteExec } from '../transport.js';
import { formatDuration } from './duration.js';

export type HttpFailureKind = 'refused' | 'timeout' | 'unreachable' | 'reset' | 'ssh' | 'aborted' | 'too-large' | 'invalid' | 'tls' | 'other';

/**
 * The most of an answer's body read: etcd's /v2/members and fleet's registry for a lab are a few
 * KiB, Docker's /info a few more; an endpoint sending more is not one of them (or is hostile).
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** What the report says when the endpoint's bytes are not HTTP (undici's HPE_* parser errors). */
export const NOT_HTTP = 'the endpoint did not answer with valid HTTP';

export class HttpFailure extends Error {
  readonly kind: HttpFailureKind;
  constructor(kind: HttpFailureKind, message: string) {
    super(message);
    this.name = 'HttpFailure';
    this.kind = kind;
  }
}

export const fetchHttpGet: HttpGet = async (url, timeoutMs, signal) => {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetch(url, { signal: combined, redirect: 'manual', headers: { accept: 'application/json' } });
    const body = await readBody(res, MAX_BODY_BYTES);
    return { status: res.status, body };
  } catch (e) {
    if (e instanceof HttpFailure) throw e;
    if (signal?.aborted) throw new HttpFailure('aborted', 'aborted');
    if (timeout.aborted) throw new HttpFailure('timeout', `timed out after ${formatDuration(timeoutMs)}`);
    throw networkFailure(e, url, timeoutMs);
  }
};

/**
 * An HttpGet over HTTPS with a client certificate, for a Docker API with --tlsverify:
 * `certDir` holds ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH), read on each request (they are
 * a few KiB). The server must present a certificate of that CA valid for the URL's host, as the
 * docker CLI with DOCKER_TLS_VERIFY=1 requires. URLs may be given as http:// (the form
 * dockerHttpBase writes) and are fetched as https://.
 */
export function tlsHttpGet(certDir: string): HttpGet {
  return (url, timeoutMs, signal) =>
    new Promise<HttpResponse>((resolvePromise, reject) => {
      let ca: Buffer, cert: Buffer, key: Buffer;
      try {
        [ca, cert, key] = ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFileSync(join(certDir, f))) as [Buffer, Buffer, Buffer];
      } catch (e) {
        reject(new HttpFailure('other', `cannot read the Docker client certificates in ${certDir}: ${(e as Error).message}`));
        return;
      }
      const target = new URL(url.replace(/^http:/i, 'https:'));
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      const req = request(target, { ca, cert, key, signal: combined, headers: { accept: 'application/json' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (c: Buffer) => {
          total += c.length;
          if (total > MAX_BODY_BYTES) {
            res.destroy();
            reject(tooLarge(MAX_BODY_BYTES));
          } else chunks.push(c);
        });
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => reject(tlsFailure(e, url, timeoutMs, signal, timeout)));
      });
      req.on('error', (e) => reject(tlsFailure(e, url, timeoutMs, signal, timeout)));
      req.end();
    });
}

function tlsFailure(e: unknown, url: string, timeoutMs: number, signal: AbortSignal | undefined, timeout: AbortSignal): HttpFailure {
  if (e instanceof HttpFailure) return e;
  if (signal?.aborted) return new HttpFailure('aborted', 'aborted');
  if (timeout.aborted) return new HttpFailure('timeout', `timed out after ${formatDuration(timeoutMs)}`);
  const code = errorCode(e) ?? '';
  // OpenSSL's and Node's certificate errors: the server is not the lab's, or refuses this client.
  if (/CERT|SSL|TLS|SELF_SIGNED|ALERT|HOSTNAME|ERR_TLS/i.test(code) || /certificate|handshake|alert/i.test((e as Error).message ?? '')) {
    return new HttpFailure('tls', `TLS failed: ${(e as Error).message}${code && !(e as Error).message.includes(code) ? ` (${code})` : ''}`);
  }
  return networkFailure(e, url, timeoutMs);
}

/** The body as text, read chunk by chunk and given up past `limit` bytes (the rest is never read). */
async function readBody(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function networkFailure(e: unknown, url: string, timeoutMs: number): HttpFailure {
  const cause = (e as { cause?: unknown }).cause ?? e;
  const code = errorCode(cause);
  if (cause instanceof Error && cause.message === 'bad port') {
    // The fetch standard refuses a list of ports (1, 6000, 10080…) outright.
    return new HttpFailure('other', `port ${new URL(url).port} is on fetch's list of blocked ports: use another port`);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return new HttpFailure('refused', 'connection refused');
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new HttpFailure('timeout', `timed out after ${formatDuration(timeoutMs)}`);
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return new HttpFailure('unreachable', 'host unreachable');
    case 'ENETUNREACH':
      return new HttpFailure('unreachable', 'network unreachable');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new HttpFailure('unreachable', 'host not found');
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new HttpFailure('reset', 'connection closed before an answer');
    default: {
      // undici's HTTP parser (HPE_INVALID_CONSTANT, HPE_INVALID_STATUS…): not an HTTP server.
      if (code?.startsWith('HPE_') || (cause instanceof Error && cause.name === 'HTTPParserError')) return new HttpFailure('invalid', NOT_HTTP);
      const message = cause instanceof Error ? cause.message : String(cause);
      return new HttpFailure('other', code ? `${message} (${code})` : message);
    }
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const inner = (err as { errors?: unknown }).errors;
  if (Array.isArray(inner)) return errorCode(inner[0]);
  return undefined;
}

function tooLarge(limit: number): HttpFailure {
  return new HttpFailure('too-large', `the answer is larger than ${limit / 1024 / 1024} MiB, more than any etcd, fleet or Docker answer cclab reads; is it the right endpoint?`);
}

/** Time the SSH connection itself may take on top of curl's own limit. */
export const SSH_OVERHEAD_MS = 10_000;

/**
 * An HttpGet that runs `curl -sS -m SECONDS --max-filesize BYTES -w '\n%{http_code}' URL` on
 * `machine`. Use it for listeners that only the machine itself reaches (a proxy on 127.0.0.1). The
 * answer is bounded like a direct one: curl refuses a body announced larger than MAX_BODY_BYTES
 * (exit 63), and the SSH transport stops reading any command's output past its own cap.
 */
export function curlOverSsh(remote: RemoteExec, machine: string): HttpGet {
  return async (url, timeoutMs, signal) => {
    const argv = curlArgv(url, timeoutMs);
    let result: ExecResult;
    try {
      result = await remote.exec(machine, argv, timeoutMs + SSH_OVERHEAD_MS, signal);
    } catch (e) {
      if (signal?.aborted) throw new HttpFailure('aborted', 'aborted');
      throw new HttpFailure('ssh', `ssh to ${machine} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return parseCurlResult(result, machine, timeoutMs);
  };
}

export function curlArgv(url: string, timeoutMs: number): string[] {
  return ['curl', '-sS', '-m', String(Math.max(timeoutMs, 1) / 1000), '--max-filesize', String(MAX_BODY_BYTES), '-w', '\\n%{http_code}', url];
}

/** Turns curl's exit status and output (body, newline, status code) into a response or an HttpFailure. */
export function parseCurlResult(result: ExecResult, machine: string, timeoutMs: number): HttpResponse {
  const out = result.stdout;
  const cut = out.lastIndexOf('\n');
  const status = Number(out.slice(cut + 1).trim());
  if (result.exitCode === 0 && cut >= 0 && Number.isInteger(status) && status > 0) {
    return { status, body: out.slice(0, cut) };
  }
  const said = firstLine(result.stderr);
  switch (result.exitCode) {
    case 7:
      // "Failed to connect": refused, unless the kernel said there is no route.
      if (/no route|unreachable/i.test(said)) return fail('unreachable', 'host unreachable');
      return fail('refused', 'connection refused');
    case 28:
      return fail('timeout', `timed out after ${formatDuration(timeoutMs)}`);
    case 6:
      return fail('unreachable', 'host not found');
    case 52:
    case 56:
      return fail('reset', 'connection closed before an answer');
    case 63:
      throw tooLarge(MAX_BODY_BYTES);
    case 127:
      return fail('other', `curl is not installed on ${machine}`);
    case 255:
      return fail('ssh', `ssh to ${machine} failed${said ? `: ${said}` : ''}`);
    default:
      return fail('other', `curl on ${machine} exited with ${result.exitCode}${said ? `: ${said}` : ''}`);
  }
}

function fail(kind: HttpFailureKind, message: string): never {
  throw new HttpFailure(kind, message);
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}
