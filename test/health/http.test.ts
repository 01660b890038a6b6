/**
 * The real HttpGet implementations against real sockets on 127.0.0.1: Node's fetch, and curl run
 * through a RemoteExec (here: on this machine, as the SSH implementation runs it on a lab machine).
 */

import t from 'tap';
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { curlArgv, curlOverSsh, fetchHttpGet, HttpFailure, MAX_BODY_BYTES, parseCurlResult } from '../../src/health/http.js';
import type { ExecResult, RemoteExec } from '../../src/transport.js';
import { freePort, requireBinaries } from '../helpers/ports.js';

async function listen(server: net.Server, t: { teardown(fn: () => unknown): void }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

/** Answers /health with a two-line body; /slow never answers. */
async function server(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const sockets = new Set<net.Socket>();
  const s = http.createServer((req, res) => {
    if (req.url === '/slow') return; // hold the request open
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/health' ? '{"health":"true"}\n{"second":"line"}' : 'nope');
  });
  s.on('connection', (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  t.teardown(() => sockets.forEach((c) => c.destroy()));
  return listen(s, t);
}

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpFailure) return { kind: e.kind, message: e.message };
    throw e;
  }
  throw new Error('expected a rejection');
};

t.test('fetchHttpGet', async (t) => {
  const port = await server(t);
  t.same(await fetchHttpGet(`http://127.0.0.1:${port}/health`, 2000), { status: 200, body: '{"health":"true"}\n{"second":"line"}' });
  t.same(await fetchHttpGet(`http://127.0.0.1:${port}/other`, 2000), { status: 404, body: 'nope' });
  t.same(await failure(fetchHttpGet(`http://127.0.0.1:${await freePort()}/health`, 2000)), { kind: 'refused', message: 'connection refused' });
  t.same(await failure(fetchHttpGet(`http://127.0.0.1:${port}/slow`, 200)), { kind: 'timeout', message: 'timed out after 200ms' });
  const ac = new AbortController();
  const pending = fetchHttpGet(`http://127.0.0.1:${port}/slow`, 5000, ac.signal);
  ac.abort();
  t.same(await failure(pending), { kind: 'aborted', message: 'aborted' });
});

t.test('fetchHttpGet: questions to one endpoint share a connection (keep-alive), concurrent ones get their own', async (t) => {
  let connections = 0;
  const srv = http.createServer((req, res) => res.end(req.url));
  srv.on('connection', () => (connections += 1));
  const port = await listen(srv, t);
  for (const path of ['/version', '/v2/members', '/v2/stats/self']) t.same(await fetchHttpGet(`http://127.0.0.1:${port}${path}`, 2000), { status: 200, body: path });
  t.equal(connections, 1, 'three questions in a row, one connection');
  const answers = await Promise.all(['/a', '/b', '/c'].map((p) => fetchHttpGet(`http://127.0.0.1:${port}${p}`, 2000)));
  t.same(answers.map((a) => a.body), ['/a', '/b', '/c']);
  t.ok(connections >= 3 && connections <= 4, `three at once: each on its own connection (the idle one reused): ${connections}`);
});

t.test('fetchHttpGet: a server that closes the connection without answering', async (t) => {
  const port = await listen(net.createServer((c) => c.destroy()), t);
  t.same(await failure(fetchHttpGet(`http://127.0.0.1:${port}/health`, 2000)), { kind: 'reset', message: 'connection closed before an answer' });
});

/** Runs argv here, as the SSH implementation runs it on a lab machine. */
const localExec: RemoteExec = {
  exec(_machine, argv, timeoutMs, signal) {
    return new Promise<ExecResult>((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ exitCode: err ? (err.code as number) : 0, stdout, stderr });
      });
    });
  },
};

t.test('curlOverSsh with real curl', async (t) => {
  if (!requireBinaries(t, ['curl'])) return;
  const port = await server(t);
  const get = curlOverSsh(localExec, 'worker-01');
  t.same(await get(`http://127.0.0.1:${port}/health`, 2000), { status: 200, body: '{"health":"true"}\n{"second":"line"}' });
  t.same(await get(`http://127.0.0.1:${port}/other`, 2000), { status: 404, body: 'nope' });
  t.same(await failure(get(`http://127.0.0.1:${await freePort()}/health`, 2000)), { kind: 'refused', message: 'connection refused' });
  t.same(await failure(get(`http://127.0.0.1:${port}/slow`, 300)), { kind: 'timeout', message: 'timed out after 300ms' });
});

t.test('curlOverSsh: an answer announced larger than 4 MiB is refused by curl itself, as a direct one is', async (t) => {
  if (!requireBinaries(t, ['curl'])) return;
  const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x61);
  const port = await listen(
    http.createServer((_req, res) => {
      res.setHeader('content-length', big.length);
      res.end(big);
    }),
    t,
  );
  const tooLarge = { kind: 'too-large', message: /larger than 4 MiB/ };
  t.match(await failure(curlOverSsh(localExec, 'worker-01')(`http://127.0.0.1:${port}/health`, 5000)), tooLarge);
  t.match(await failure(fetchHttpGet(`http://127.0.0.1:${port}/health`, 5000)), tooLarge);
});

t.test('curlOverSsh: SSH itself failing', async (t) => {
  const broken: RemoteExec = { exec: () => Promise.reject(new Error('connect to host 127.0.0.1 port 2222: Connection refused')) };
  t.same(await failure(curlOverSsh(broken, 'worker-01')('http://127.0.0.1:2379/health', 2000)), {
    kind: 'ssh',
    message: 'ssh to worker-01 failed: connect to host 127.0.0.1 port 2222: Connection refused',
  });
});

t.test('curl argv and exit statuses', async (t) => {
  t.same(curlArgv('http://127.0.0.1:2379/health', 3000), ['curl', '-sS', '-m', '3', '--max-filesize', String(MAX_BODY_BYTES), '-w', '\\n%{http_code}', 'http://127.0.0.1:2379/health']);
  t.same(curlArgv('http://127.0.0.1:2379/health', 1500).slice(2, 4), ['-m', '1.5']);
  const parse = (r: ExecResult) => {
    try {
      return parseCurlResult(r, 'worker-01', 2000);
    } catch (e) {
      return { kind: (e as HttpFailure).kind, message: (e as HttpFailure).message };
    }
  };
  t.same(parse({ exitCode: 0, stdout: '{"endpoints":[]}\n200', stderr: '' }), { status: 200, body: '{"endpoints":[]}' });
  t.same(parse({ exitCode: 0, stdout: '\n503', stderr: '' }), { status: 503, body: '' });
  t.same(parse({ exitCode: 7, stdout: '\n000', stderr: 'curl: (7) Failed to connect to 127.0.0.1 port 2379 after 0 ms: No route to host\n' }), {
    kind: 'unreachable',
    message: 'host unreachable',
  });
  t.same(parse({ exitCode: 28, stdout: '\n000', stderr: 'curl: (28) Operation timed out' }), { kind: 'timeout', message: 'timed out after 2s' });
  t.same(parse({ exitCode: 127, stdout: '', stderr: 'bash: curl: command not found' }), { kind: 'other', message: 'curl is not installed on worker-01' });
  t.same(parse({ exitCode: 255, stdout: '', stderr: 'ssh: connect to host 127.0.0.1 port 2222: Connection refused\n' }), {
    kind: 'ssh',
    message: 'ssh to worker-01 failed: ssh: connect to host 127.0.0.1 port 2222: Connection refused',
  });
  t.same(parse({ exitCode: 3, stdout: '\n000', stderr: 'curl: (3) URL rejected: Bad hostname' }), {
    kind: 'other',
    message: 'curl on worker-01 exited with 3: curl: (3) URL rejected: Bad hostname',
  });
});
