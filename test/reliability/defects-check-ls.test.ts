/**
 * Defects 2, 3, 4, 5, 8, 10, 11 and 13 of the reliability review, each against the real CLI (or
 * the real lab home), with the fake vagrant where VMs would be needed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { memoryIo, type Context } from '../../src/context.js';
import { downLab } from '../../src/pipeline/lifecycle.js';
import { homeStore } from '../../src/pipeline/home-store.js';
import type { VagrantDriver } from '../../src/vagrant/driver.js';
import { CLI, cliHome, ensureBuilt } from '../helpers/cli.js';

t.before(ensureBuilt);

const NO_STACK = /internal error|this is a bug|\n\s+at /i;

t.test('2: check refuses options that do not apply instead of ignoring them; --docker-host alone is checked', async (t) => {
  const h = cliHome(t);
  t.equal((await h.run(['up', 'laptop', '--no-wait'])).code, 0);
  for (const extra of [['--expect-members', '3'], ['--fleet-metadata', 'role=worker'], ['--expect-fleet', '2']]) {
    const r = await h.run(['check', 'laptop', ...extra]);
    t.equal(r.code, 2, `lab mode with ${extra[0]}`);
    t.match(r.stderr, new RegExp(`${extra[0]} applies only with --endpoints`));
  }
  // --docker-host alone checks that endpoint (a closed port: unhealthy, naming it), not the lab.
  const closed = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const r = await h.run(['check', '--docker-host', `tcp://127.0.0.1:${closed}`, '--timeout', '0']);
  t.equal(r.code, 6, 'the Docker host was checked', { stderr: r.stderr });
  t.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${closed}`));
  t.equal((await h.run(['check', 'laptop', '--docker-host', 'tcp://127.0.0.1:1'])).code, 2, 'a lab name and --docker-host: refused');
});

t.test('3: text from a hostile etcd reaches the terminal printable, in every field', async (t) => {
  const evil = '\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202e';
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/v2/members')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ members: [{ id: 'a1', name: `etcd${evil}`, peerURLs: [`http://x${evil}:2380`], clientURLs: [`http://127.0.0.1:1${evil}`] }] }));
    } else if (req.url?.startsWith('/version')) {
      res.end(JSON.stringify({ etcdserver: `3.5${evil}`, etcdcluster: `3.5${evil}` }));
    } else {
      res.statusCode = 500;
      res.end(`broken ${evil} body`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h = cliHome(t);
  for (const json of [false, true]) {
    const r = await h.run(['check', '--endpoints', url, '--expect-members', '3', '--timeout', '0', ...(json ? ['--json'] : [])]);
    t.equal(r.code, 6, 'unhealthy', { stderr: r.stderr });
    // eslint-disable-next-line no-control-regex
    t.notMatch(r.stdout + r.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/, `${json ? 'json' : 'human'}: no control character printed`);
    t.match(r.stdout + r.stderr, /\\u001b/, 'the escape is shown, escaped');
    if (json) t.ok(JSON.parse(r.stdout), 'the JSON document stays valid');
  }
});

t.test('4: a lab with a corrupt lab.json is listed as broken and removable with down', async (t) => {
  const h = cliHome(t);
  t.equal((await h.run(['up', 'dev', '--no-wait'])).code, 0);
  t.equal((await h.run(['up', 'laptop', '--no-wait'])).code, 0);
  fs.writeFileSync(path.join(h.labDir('dev'), 'lab.json'), '{ not json');
  const ls = await h.run(['ls']);
  t.equal(ls.code, 0);
  t.match(ls.stdout, /^dev\s+-\s+-\s+broken/m, 'listed as broken');
  t.match(ls.stderr, /lab dev is broken: .*lab\.json is not a usable cclab manifest/);
  t.match(ls.stderr, /cclab down dev/);
  const json = JSON.parse((await h.run(['ls', '--json'])).stdout) as { labs: { name: string; state: string }[] };
  t.same(json.labs.map((l) => [l.name, l.state]), [['dev', 'broken'], ['laptop', 'running']]);
  const down = await h.run(['down', '--all']);
  t.equal(down.code, 0, 'down --all takes the broken lab down too', { stderr: down.stderr });
  t.same(fs.existsSync(h.labsDir) ? fs.readdirSync(h.labsDir) : [], [], 'both labs removed');
  const machines = Object.values(h.fake.state().envs ?? {}).flatMap((e) => Object.values(e.machines)).filter((m) => m.state !== 'not_created');
  t.same(machines, [], 'every VM destroyed, the broken lab’s too');
});

