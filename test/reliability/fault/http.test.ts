/**
 * Fault injection (hostile HTTP endpoints): the real CLI's `check --endpoints` and `check
 * --docker-host` against servers on 127.0.0.1 that dribble, never end, send too much, send
 * garbage, reset mid-body or redirect to themselves. See test/helpers/faults.ts for what is checked
 * after every run.
 *
 * Teardown: every socket any server accepted is tracked here and destroyed, every timer is
 * cleared (and unref'd, so none holds the test process), then each server's close() is awaited.
 * (Closing a server first waits for its open connections, which a server that never answers keeps
 * open for ever: the sockets go first.)
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { cliHome, ensureBuilt } from '../../helpers/cli.js';
import { STACK, codeOf, invariants } from '../../helpers/faults.js';

t.before(ensureBuilt);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

interface Hostile {
  name: string;
  url: string;
  /** What the check line must say about it. */
  says: RegExp;
}

t.test('hostile HTTP endpoints: documented exit, no stack trace, printable output, prompt end', async (t) => {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const servers: net.Server[] = [];
  const every = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setInterval(fn, ms).unref();
    timers.add(timer);
    return timer;
  };
  const track = (server: net.Server): net.Server => {
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    servers.push(server);
    return server;
  };
  t.teardown(async () => {
    for (const timer of timers) clearInterval(timer);
    for (const socket of sockets) socket.destroy();
    for (const server of servers) if (server instanceof http.Server) server.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  });
  const listen = async (server: net.Server): Promise<string> => {
    track(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const hostile: Hostile[] = [];
  const httpServer = async (name: string, says: RegExp, handle: http.RequestListener) =>
    hostile.push({ name, says, url: `http://${await listen(http.createServer(handle))}` });
  const rawServer = async (name: string, says: RegExp, handle: (c: net.Socket) => void) =>
    hostile.push({ name, says, url: `http://${await listen(net.createServer(handle))}` });

  // Headers one byte at a time, never finished.
  await rawServer('slowloris', /timed out/, (c) => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ';
    let i = 0;
    const timer = every(200, () => (c.destroyed ? clearInterval(timer) : c.write(i < head.length ? head[i++]! : 'a')));
  });
  // A body that never ends, a byte at a time.
  await httpServer('never-ending body', /timed out/, (_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = every(100, () => (res.destroyed ? clearInterval(timer) : res.write(' ')));
  });
  // A body that never ends, as fast as the socket takes it.
  await httpServer('endless flood', /larger than 4 MiB/, (_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
    };
    res.on('drain', pump);
    pump();
  });
  await httpServer('huge body', /larger than 4 MiB/, (_q, res) => res.end(Buffer.alloc(8 * 1024 * 1024, 'a')));
  await rawServer('garbage status line', /^✗ .*: the endpoint did not answer with valid HTTP$/m, (c) => c.end('NOT HTTP\r\n\r\n\u001b[2J\u001b]0;pwned\u0007'));
  await rawServer('reset mid-body', /connection closed before an answer|did not answer with valid HTTP/, (c) => {
    c.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"members": [');
    setTimeout(() => c.resetAndDestroy(), 50).unref();
  });
  await httpServer('redirect loop', /30[27]|redirect|not|answered/i, (req, res) => {
    res.writeHead(302, { location: req.url ?? '/' });
    res.end();
  });
  await httpServer('escapes', /./, (_q, res) =>
    res.end(JSON.stringify({ members: [{ id: '\u001b[2J', name: '\u001b]0;x\u0007', clientURLs: ['\u009b'] }], etcdserver: '\u001b[31m' })),
  );

  const h = cliHome(t);
  for (const s of hostile) {
    for (const args of [
      ['check', '--endpoints', s.url, '--timeout', '1s'],
      ['check', '--endpoints', s.url, '--timeout', '1s', '--json'],
      ['check', '--docker-host', s.url.replace('http:', 'tcp:'), '--timeout', '1s'],
    ]) {
      const label = `${s.name}: ${args.slice(1, 2).join(' ')}${args.includes('--json') ? ' --json' : ''}`;
      const started = Date.now();
      const p = h.start(args);
      const killer = setTimeout(() => p.child.kill('SIGKILL'), 60_000).unref();
      const r = await p.done;
      clearTimeout(killer);
      const took = Date.now() - started;
      t.not(r.signal, 'SIGKILL', `${label}: ended by itself`);
      t.equal(codeOf(r), 6, `${label}: exit 6 (unhealthy)`, { stderr: r.stderr.slice(-1500), stdout: r.stdout.slice(0, 1500) });
      await invariants(t, h, label, r, { allowed: [6], noLabs: true });
      t.notMatch(r.stderr + r.stdout, STACK, `${label}: no stack trace`);
      t.ok(took < 30_000, `${label}: bounded (${took} ms)`);
      t.notMatch(r.stdout + r.stderr, CONTROL, `${label}: printable`);
      t.ok(r.stdout.length + r.stderr.length < 64 * 1024, `${label}: the output is short (${r.stdout.length + r.stderr.length} characters)`);
      t.notMatch(r.stdout + r.stderr, /HPE_|UND_ERR/, `${label}: no raw parser or undici error code`);
      if (args.includes('--json')) t.doesNotThrow(() => JSON.parse(r.stdout), `${label}: one JSON document`);
      else if (!args.includes('--docker-host') && s.name !== 'escapes') t.match(r.stdout, s.says, `${label}: says what happened`);
      // The plain sentence once per failing check, never repeated in its hint.
      for (const line of r.stdout.split('\n').filter((l) => l.startsWith('    hint: '))) {
        t.notMatch(line, /did not answer with valid HTTP|larger than 4 MiB/, `${label}: the hint does not repeat the reason`);
      }
    }
  }
});
