/**
 * The real HttpGet implementations used by health checks:
 * - `fetchHttpGet`: node:http with a keep-alive agent, for addresses the host reaches;
 * - `tlsHttpGet`: node:https with the lab's client certificate (a Docker API with TLS);
 * - `curlOverSsh`: curl run on a lab machine through RemoteExec, for loopback-only listeners.
 * Both reject with an HttpFailure whose message reads well in a report ("connection refused",
 * "timed out after 2s").
 */

import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { join } from 'node:path';
import type { ExecResult, HttpGet, HttpResponse, RemoteExec } from '../transport.js';
import { formatDuration } from './duration.js';

export type HttpFailureKind = 'refused' | 'timeout' | 'unreachable' | 'reset' | 'ssh' | 'aborted' | 'too-large' | 'invalid' | 'tls' | 'other';

/**
 * The most of an answer's body read: etcd's /v2/members and fleet's registry for a lab are a few
 * KiB, Docker's /info a few more; an endpoint sending more is not one of them (or is hostile).
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** What the report says when the endpoint's bytes are not HTTP (the HTTP parser's HPE_* errors). */
export const NOT_HTTP = 'the endpoint did not answer with valid HTTP';

export class HttpFailure extends Error {
  readonly kind: HttpFailureKind;
  constructor(kind: HttpFailureKind, message: string) {
    super(message);
    this.name = 'HttpFailure';
    this.kind = kind;
  }
}

/**
 * Plain HTTP through node:http with one keep-alive agent: a check asks each endpoint several
 * questions, and polls; a connection is made once per endpoint, not per question, and undici (the
 * global fetch, tens of milliseconds to load) is never loaded. Idle sockets do not keep cclab alive.
 */
const plainAgent = new Agent({ keepAlive: true, maxSockets: 16 });

export const fetchHttpGet: HttpGet = (url, timeoutMs, signal) => getOnce(httpRequest, new URL(url), { agent: plainAgent }, url, timeoutMs, signal, networkFailure);

type RequestFn = typeof httpRequest | typeof httpsRequest;

/**
 * One GET: the body read up to MAX_BODY_BYTES (the rest is never read), redirects not followed
 * (the status is the answer), failures as HttpFailure through `failure`.
 */
function getOnce(
  request: RequestFn,
  target: URL,
  options: RequestOptions | HttpsRequestOptions,
  url: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  failure: (e: unknown, url: string, timeoutMs: number) => HttpFailure,
): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolvePromise, reject) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const fail = (e: unknown) => {
      if (e instanceof HttpFailure) return reject(e);
      if (signal?.aborted) return reject(new HttpFailure('aborted', 'aborted'));
      if (timeout.aborted) return reject(new HttpFailure('timeout', `timed out after ${formatDuration(timeoutMs)}`));
      reject(failure(e, url, timeoutMs));
    };
    const req = (request as typeof httpRequest)(target, { ...options, signal: combined, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > MAX_BODY_BYTES) {
          fail(tooLarge(MAX_BODY_BYTES));
          res.destroy();
        } else chunks.push(c);
      });
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks, total).toString('utf8') }));
      res.on('error', fail);
      // The body stopped short (the server closed mid-answer).
      res.on('aborted', () => fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    });
    req.on('error', fail);
    req.end();
  });
}

/**
 * An HttpGet over HTTPS with a client certificate, for a Docker API with --tlsverify:
 * `certDir` holds ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH), read on each request (they are
 * a few KiB). The server must present a certificate of that CA valid for the URL's host, as the
 * docker CLI with DOCKER_TLS_VERIFY=1 requires. URLs may be given as http:// (the form
 * dockerHttpBase writes) and are fetched as https://.
 */
export function tlsHttpGet(certDir: string): HttpGet {
  return (url, timeoutMs, signal) => {
    let ca: Buffer, cert: Buffer, key: Buffer;
    try {
      [ca, cert, key] = ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readFileSync(join(certDir, f))) as [Buffer, Buffer, Buffer];
    } catch (e) {
      return Promise.reject(new HttpFailure('other', `cannot read the Docker client certificates in ${certDir}: ${(e as Error).message}`));
    }
    const target = new URL(url.replace(/^http:/i, 'https:'));
    return getOnce(httpsRequest, target, { ca, cert, key, agent: false }, url, timeoutMs, signal, tlsFailure);
  };
}

function tlsFailure(e: unknown, url: string, timeoutMs: number): HttpFailure {
  const code = errorCode(e) ?? '';
  // OpenSSL's and Node's certificate errors: the server is not the lab's, or refuses this client.
  if (/CERT|SSL|TLS|SELF_SIGNED|ALERT|HOSTNAME|ERR_TLS/i.test(code) || /certificate|handshake|alert/i.test((e as Error).message ?? '')) {
    return new HttpFailure('tls', `TLS failed: ${(e as Error).message}${code && !(e as Error).message.includes(code) ? ` (${code})` : ''}`);
  }
  return networkFailure(e, url, timeoutMs);
}

function networkFailure(e: unknown, url: string, timeoutMs: number): HttpFailure {
  const cause = (e as { cause?: unknown }).cause ?? e;
  const code = errorCode(cause);
  switch (code) {
    case 'ECONNREFUSED':
      return new HttpFailure('refused', 'connection refused');
    case 'ETIMEDOUT':
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
      return new HttpFailure('reset', 'connection closed before an answer');
    default: {
      // Node's HTTP parser (HPE_INVALID_CONSTANT, HPE_INVALID_STATUS…): not an HTTP server.
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
