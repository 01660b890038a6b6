/**
 * A stand-in for Flatcar's release server on 127.0.0.1 (node:http): serves files from memory,
 * honours `Range: bytes=N-` (206, or 416 past the end), and misbehaves on request — ignores Range,
 * breaks the connection after some bytes, stalls, redirects, answers a status. Every request is
 * logged with its Range header. Stopped (connections destroyed) at teardown.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

interface TestLike {
  teardown(fn: () => unknown): void;
}

export interface LoggedRequest {
  path: string;
  range: string | undefined;
  status: number;
}

export interface ReleaseServer {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  files: Map<string, Buffer>;
  requests: LoggedRequest[];
  /** Answer 200 with the whole file to Range requests. */
  ignoreRange: boolean;
  /** For these paths, send the headers of the whole answer, then this many bytes, then break the connection (once each). */
  cutAfter: Map<string, number>;
  /** For these paths, send this many bytes and then nothing (the connection stays open). */
  stallAfter: Map<string, number>;
  /** path → Location (302). */
  redirects: Map<string, string>;
  /** path → status to answer (with a short text body). */
  statuses: Map<string, number>;
  /** Requests of `path` (without the leading slash). */
  requestsOf(path: string): LoggedRequest[];
}

export async function releaseServer(t: TestLike, files: Record<string, Buffer | string> = {}): Promise<ReleaseServer> {
  const sockets = new Set<Socket>();
  const self: ReleaseServer = {
    url: '',
    files: new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])),
    requests: [],
    ignoreRange: false,
    cutAfter: new Map(),
    stallAfter: new Map(),
    redirects: new Map(),
    statuses: new Map(),
    requestsOf: (path) => self.requests.filter((r) => r.path === path),
  };
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\//, '');
    const range = req.headers.range;
    const log = (status: number) => self.requests.push({ path, range, status });
    const location = self.redirects.get(path);
    if (location !== undefined) {
      log(302);
      res.writeHead(302, { location, 'content-length': 0 }).end();
      return;
    }
    const forced = self.statuses.get(path);
    if (forced !== undefined) {
      log(forced);
      res.writeHead(forced, { 'content-type': 'text/plain' }).end(`status ${forced}\n`);
      return;
    }
    const body = self.files.get(path);
    if (body === undefined) {
      log(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    let start = 0;
    let status = 200;
    const m = range !== undefined && !self.ignoreRange ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      if (start >= body.length) {
        log(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
    }
    log(status);
    const slice = body.subarray(start);
    res.writeHead(status, {
      'content-length': slice.length,
      'content-type': 'application/octet-stream',
      ...(status === 206 ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const cut = self.cutAfter.get(path);
    if (cut !== undefined) {
      self.cutAfter.delete(path);
      // FIN, not RST, and a moment later: the client reads what was sent, then meets an early end.
      res.write(slice.subarray(0, cut), () => setTimeout(() => res.socket?.end(), 300));
      return;
    }
    const stall = self.stallAfter.get(path);
    if (stall !== undefined) {
      res.write(slice.subarray(0, stall));
      return;
    }
    res.end(slice);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return self;
}
