/** Fault injection (http): see test/helpers/faults.ts for what is checked after every run. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { cliHome, ensureBuilt } from '../../helpers/cli.js';
import {
  DOCUMENTED, SIGNAL_CODES, STACK, codeOf, downAll, invariants, needRoot, prng, tmpfs,
} from '../../helpers/faults.js';

t.before(ensureBuilt);

t.test('hostile HTTP endpoints', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024, 'a');
  const sockets = new Set<net.Socket>();
  const behaviours: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
    hang: () => undefined,
    huge: (_q, res) => res.end(big),
    escapes: (_q, res) => res.end(JSON.stringify({ members: [{ id: '\u001b[2J', name: '\u001b]0;x\u0007', clientURLs: ['\u009b'] }], etcdserver: '\u001b[31m' })),
    notjson: (_q, res) => res.end('<html>nope'),
    redirect: (req, res) => {
      res.statusCode = 302;
      res.setHeader('location', req.url ?? '/');
      res.end();
    },
    dribble: (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    },
    reset: (req) => req.socket.destroy(),
  };
  const servers: { name: string; url: string }[] = [];
  for (const [name, handle] of Object.entries(behaviours)) {
    const s = http.createServer(handle);
    s.on('connection', (c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push({ name, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` });
    t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  }
  // Not HTTP at all: undici's parser errors.
  const garbage = net.createServer((c) => c.end('NOT HTTP\r\n\r\n\u001b[2J'));
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
  servers.push({ name: 'garbage', url: `http://127.0.0.1:${(garbage.address() as AddressInfo).port}` });
  t.teardown(() => {
    for (const c of sockets) c.destroy();
    return new Promise<void>((r) => garbage.close(() => r()));
  });

  const h = cliHome(t);
  for (const s of servers) {
    for (const args of [
      ['check', '--endpoints', s.url, '--timeout', '1s'],
      ['check', '--endpoints', s.url, '--timeout', '1s', '--json'],
      ['check', '--docker-host', s.url.replace('http:', 'tcp:'), '--timeout', '1s'],
    ]) {
      const started = Date.now();
      const r = await h.run(args);
      const label = `${s.name}: ${args.slice(3).join(' ') || 'check'}${args.includes('--docker-host') ? ' docker' : ''}`;
      await invariants(t, h, label, r, { allowed: [6], noLabs: true });
      t.ok(Date.now() - started < 30_000, `${label}: bounded (${Date.now() - started} ms)`);
      // eslint-disable-next-line no-control-regex
      t.notMatch(r.stdout + r.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, `${label}: printable`);
      if (args.includes('--json')) t.doesNotThrow(() => JSON.parse(r.stdout), `${label}: one JSON document`);
    }
  }
});
