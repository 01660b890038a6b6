/**
 * HTTP for `cclab box add`, with Node's own http/https: small files (DIGESTS, version.txt, a
 * signature) read with a size limit, and images downloaded into a `.part` file that a later run
 * resumes with a Range request, hashed (SHA-512) as the bytes arrive.
 *
 * Bounded: at most MAX_REDIRECTS redirects (a loop is named as one), only http and https, a
 * connection that stays silent for `idleTimeoutMs` is given up, any status but 2xx (and 404,
 * which callers decide about, and 416 on a resume) is a DownloadError naming the URL and status.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { binaryProblem, formatSize } from '../bounded-read.js';
import type { Io } from '../context.js';
import { CclabError, DownloadError, InterruptedError, fileSystemError } from '../errors.js';
import { errnoCode } from '../home/errno.js';
import { version } from '../version.js';
import { progress } from './progress.js';

export const MAX_REDIRECTS = 5;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  headers?: Record<string, string>;
  /** Give up when no byte arrives for this long (default 60 s). */
  idleTimeoutMs?: number | undefined;
}

export interface Response {
  status: number;
  /** The URL that answered (after redirects). */
  url: string;
  res: IncomingMessage;
}

/** Why a URL cannot be fetched by cclab, or undefined. */
export function urlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `cclab downloads over http and https only, not ${u.protocol.replace(/:$/, '')}`;
  if (u.username || u.password) return 'it holds a user name or password';
  return undefined;
}

/** The URL without its query and fragment, for messages (a signed mirror URL's token stays out of logs). */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

/** GET `url`, following redirects. The caller reads (or discards) the body. */
export async function request(url: string, opts: RequestOptions = {}): Promise<Response> {
  const seen: string[] = [];
  let current = url;
  for (;;) {
    const problem = urlProblem(current);
    if (problem !== undefined) {
      throw new DownloadError(`cannot download ${shownUrl(current)}${seen.length > 0 ? ` (redirected from ${shownUrl(seen[0]!)})` : ''}: ${problem}`, { url: current });
    }
    seen.push(current);
    const res = await get(current, opts);
    const status = res.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status) && res.headers.location !== undefined) {
      res.resume();
      const next = new URL(res.headers.location, current).href;
      if (seen.includes(next)) {
        throw new DownloadError(`${shownUrl(url)} redirects in a loop (${[...seen, next].map(shownUrl).join(' → ')})`, { url, status, hint: 'the server (or mirror) is misconfigured; try another --release-url' });
      }
      if (seen.length > MAX_REDIRECTS) {
        throw new DownloadError(`${shownUrl(url)} redirects more than ${MAX_REDIRECTS} times (last to ${shownUrl(next)})`, { url, status, hint: 'the server (or mirror) is misconfigured; try another --release-url' });
      }
      current = next;
      continue;
    }
    return { status, url: current, res };
  }
}

function get(url: string, opts: RequestOptions): Promise<IncomingMessage> {
  const idle = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    let response: IncomingMessage | undefined;
    const req = client.get(url, { headers: { 'user-agent': `cclab/${version()}`, ...opts.headers }, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
      response = res;
      resolve(res);
    });
    // One timer for the connection and, later, for the body: the socket's inactivity.
    req.setTimeout(idle, () => {
      const silent = Object.assign(new Error(`no answer for ${idle / 1000} s`), { code: 'ETIMEDOUT' });
      // The body's reader gets this error, not the bare "aborted" of a destroyed request.
      response?.destroy(silent);
      req.destroy(silent);
    });
    req.on('error', (e) => reject(networkError(e, url, opts.signal)));
  });
}

/** A network failure as a DownloadError (or the InterruptedError of an abort). */
function networkError(e: unknown, url: string, signal: AbortSignal | undefined, what = 'cannot download'): CclabError {
  if (signal?.aborted) return interrupted(signal, `interrupted while downloading ${shownUrl(url)}`);
  if (e instanceof CclabError) return e;
  const code = errnoCode(e);
  const reason = code === 'ENOTFOUND' ? 'the host name does not resolve' : code === 'ECONNREFUSED' ? 'the connection was refused' : (e as Error).message;
  return new DownloadError(`${what} ${shownUrl(url)}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`, {
    url,
    cause: e,
    hint: 'check the network (and a proxy, if you need one), or download the image elsewhere and pass --image FILE',
  });
}

/** The interruption that aborted `signal` (the CLI's, with its signal), restated for this step. */
export function interrupted(signal: AbortSignal, message: string, hint?: string): InterruptedError {
  const reason: unknown = signal.reason;
  return reason instanceof InterruptedError ? reason.restated(message, hint) : new InterruptedError(message, { hint });
}

function statusError(url: string, status: number, what: string): DownloadError {
  return new DownloadError(`${what} ${shownUrl(url)}: the server answered ${status}${http.STATUS_CODES[status] ? ` ${http.STATUS_CODES[status]}` : ''}`, {
    url,
    status,
    hint: status === 404 ? 'check the channel and version (https://www.flatcar.org/releases lists them)' : status >= 500 ? 'the server has a problem: try again later, or use a mirror (--release-url)' : undefined,
  });
}

/**
 * The body of a small file (DIGESTS, version.txt) as text, at most `limit` bytes; undefined when
 * the server answers 404.
 */
export async function fetchText(url: string, opts: RequestOptions & { limit: number }): Promise<string | undefined> {
  const bytes = await fetchBytes(url, opts);
  if (bytes === undefined) return undefined;
  const problem = binaryProblem(bytes);
  if (problem !== undefined) throw new DownloadError(`${shownUrl(url)} is not a text file: ${problem}`, { url });
  return bytes.toString('utf8');
}

/** The body of a small file, at most `limit` bytes; undefined on 404. */
export async function fetchBytes(url: string, opts: RequestOptions & { limit: number }): Promise<Buffer | undefined> {
  const { status, res, url: at } = await request(url, opts);
  if (status === 404) {
    res.resume();
    return undefined;
  }
  if (status < 200 || status > 299) {
    res.resume();
    throw statusError(at, status, 'cannot download');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res) {
      total += (chunk as Buffer).length;
      if (total > opts.limit) {
        res.destroy();
        throw new DownloadError(`${shownUrl(at)} is larger than ${formatSize(opts.limit)}, which is not what this file should be`, { url: at });
      }
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    throw networkError(e, at, opts.signal);
  }
  return Buffer.concat(chunks, total);
}

export interface DownloadOptions extends RequestOptions {
  io: Io;
  /** How the progress lines begin: `Downloading flatcar_production_qemu_image.img.bz2`. */
  label: string;
  now?: () => number;
  /**
   * Called once the size is known (before anything is written), with the bytes still to come:
   * the free-space check. Throwing ends the download.
   */
  beforeWrite?: (info: { total: number | undefined; toWrite: number | undefined }) => Promise<void>;
}

export type DownloadResult =
  | { found: false }
  | {
      found: true;
      sha512: string;
      bytes: number;
      /** Bytes the `.part` already had and the server continued from (0: a fresh download). */
      resumedFrom: number;
      /** A `.part` was there but the server sent everything again (it ignored Range). */
      restarted: boolean;
      /** Whether a Range request was sent. */
      rangeSent: boolean;
    };

/**
 * Downloads `url` into `part`, resuming what `part` holds with a Range request. The SHA-512 covers
 * the whole file: the bytes already in `part` are hashed first, then the new ones as they arrive.
 * A server that ignores Range (200) or continues elsewhere starts the file over. A connection that
 * breaks leaves `part` for the next run. `{ found: false }` on 404.
 */
export async function download(url: string, part: string, opts: DownloadOptions): Promise<DownloadResult> {
  let offset = await sizeOf(part);
  const hash = createHash('sha512');
  if (offset > 0) {
    opts.io.err(`Resuming ${opts.label.replace(/^Downloading /, '')}: ${formatSize(offset)} already in ${part}; hashing them first\n`);
    await hashFile(part, hash, opts.signal);
  }
  const rangeSent = offset > 0;
  const { status, res, url: at } = await request(url, { ...opts, headers: { ...opts.headers, ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) } });
  if (status === 404) {
    res.resume();
    return { found: false };
  }
  let restarted = false;
  let total: number | undefined;
  if (status === 416 && offset > 0) {
    res.resume();
    // Everything is here already (a run that stopped before checking it), or the part is longer
    // than the file: start over.
    const whole = /^bytes \*\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    if (whole && Number(whole[1]) === offset) return { found: true, sha512: hash.digest('hex'), bytes: offset, resumedFrom: offset, restarted: false, rangeSent };
    opts.io.err(`${shownUrl(at)}: the server refused to resume at byte ${offset} (416): downloading it again\n`);
    await rm(part, { force: true });
    const again = await download(url, part, opts);
    return again.found ? { ...again, restarted: true, rangeSent: true } : again;
  }
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!range || Number(range[1]) !== offset) {
      res.resume();
      opts.io.err(`${shownUrl(at)}: the server answered a different range (${String(res.headers['content-range'] ?? 'none')}): downloading it again\n`);
      await rm(part, { force: true });
      const again = await download(url, part, opts);
      return again.found ? { ...again, restarted: true, rangeSent: true } : again;
    }
    total = range[3] === '*' ? undefined : Number(range[3]);
  } else if (status >= 200 && status <= 299) {
    if (offset > 0) {
      opts.io.err(`${shownUrl(at)}: the server ignored the request to resume (it answered ${status}, not 206): downloading it from the start\n`);
      restarted = true;
      offset = 0;
    }
    const length = res.headers['content-length'];
    total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
  } else {
    res.resume();
    throw statusError(at, status, 'cannot download');
  }
  const resumedFrom = offset;
  const sha = restarted ? createHash('sha512') : hash;
  try {
    await opts.beforeWrite?.({ total, toWrite: total === undefined ? undefined : total - offset });
  } catch (e) {
    res.destroy();
    throw e;
  }

  // Each chunk is written (awaited) before the next is read: when the connection breaks, every
  // byte that arrived is in the .part for the next run, and the SHA-512 covers exactly those.
  let fh;
  try {
    fh = await open(part, offset > 0 ? 'a' : 'w');
  } catch (e) {
    res.destroy();
    throw fileSystemError(e, 'cannot write', part) ?? e;
  }
  const shown = progress(opts.io, opts.label, { total, start: offset, now: opts.now });
  let done = offset;
  let failure: unknown;
  let writeFailure: unknown;
  try {
    for await (const chunk of res) {
      try {
        await fh.write(chunk as Buffer);
      } catch (e) {
        writeFailure = e;
        break;
      }
      sha.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      shown.update(done);
    }
  } catch (e) {
    failure = e;
  } finally {
    res.destroy();
    await fh.close().catch((e: unknown) => (writeFailure ??= e));
  }
  if (writeFailure !== undefined) {
    shown.finish();
    throw fileSystemError(writeFailure, 'cannot write', part) ?? writeFailure;
  }
  if (failure !== undefined) {
    shown.finish();
    if (opts.signal?.aborted) throw interrupted(opts.signal, `interrupted while downloading ${shownUrl(at)}`, `the ${formatSize(done)} received are kept in ${part}: run the command again to resume`);
    throw new DownloadError(`the download of ${shownUrl(at)} broke off after ${formatSize(done)}${total !== undefined ? ` of ${formatSize(total)}` : ''}: ${brokeOff(failure)}`, {
      url: at,
      cause: failure,
      hint: `what arrived is kept in ${part}: run the command again to resume`,
    });
  }
  shown.finish();
  if (total !== undefined && done !== total) {
    throw new DownloadError(`the download of ${shownUrl(at)} ended after ${formatSize(done)} of ${formatSize(total)} (${done} of ${total} bytes)`, {
      url: at,
      hint: `what arrived is kept in ${part}: run the command again to resume`,
    });
  }
  return { found: true, sha512: sha.digest('hex'), bytes: done, resumedFrom, restarted, rangeSent };
}

/** Why a body stopped arriving, in words. */
function brokeOff(e: unknown): string {
  const code = errnoCode(e);
  if (code === 'ECONNRESET' || (e as Error).message === 'aborted') return 'the server closed the connection';
  return (e as Error).message;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return 0;
    throw fileSystemError(e, 'cannot read', path) ?? e;
  }
}

/** Feeds the whole file into `hash`. */
export async function hashFile(path: string, hash: Hash, signal?: AbortSignal): Promise<number> {
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) })) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (e) {
    if (signal?.aborted) throw interrupted(signal, `interrupted while reading ${path}`);
    throw fileSystemError(e, 'cannot read', path) ?? e;
  }
  return bytes;
}

/** The SHA-512 (hex) and size of a file. */
export async function sha512OfFile(path: string, signal?: AbortSignal): Promise<{ sha512: string; bytes: number }> {
  const hash = createHash('sha512');
  const bytes = await hashFile(path, hash, signal);
  return { sha512: hash.digest('hex'), bytes };
}
