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

t.test('5: file-system errors are typed (exit 10), name the path and a fix, never a stack trace', async (t) => {
  const h = cliHome(t);
  const file = path.join(h.fake.dir, 'a-file');
  fs.writeFileSync(file, 'x');
  const cases: [string[], RegExp][] = [
    [['render', 'laptop', '--out', file], /a-file: a file is in the way \(EEXIST\)|a-file.*not a directory/],
    [['render', 'laptop', '--out', path.join(file, 'sub')], /a-file\/sub.*\(ENOTDIR\)/],
  ];
  for (const [args, re] of cases) {
    const r = await h.run(args);
    t.equal(r.code, 10, args.join(' '), { stderr: r.stderr });
    t.match(r.stderr, re);
    t.match(r.stderr, /^hint: /m);
    t.notMatch(r.stderr, NO_STACK);
  }
  // A YAML alias bomb in a lab file: an invalid lab, not a crash.
  const bomb = path.join(h.fake.dir, 'bomb.yaml');
  const rows = ['a: &a [x,x,x,x,x,x,x,x,x]'];
  for (const [prev, cur] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f']]) rows.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  fs.writeFileSync(bomb, `apiVersion: cclab.dev/v1alpha1\nkind: Lab\nmetadata:\n  name: bomb\nspec:\n  architecture: laptop\n  metadata:\n${rows.map((r) => `    ${r}`).join('\n')}\n`);
  const r = await h.run(['render', '--config', bomb, '--out', path.join(h.fake.dir, 'o')]);
  t.equal(r.code, 3, 'alias bomb: exit 3', { stderr: r.stderr });
  t.notMatch(r.stderr, NO_STACK);
});

t.test('5: a read-only CCLAB_HOME and a lab directory deleted during up', { skip: process.getuid?.() !== 0 && 'needs root to mount a tmpfs' }, async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-ro-'));
  t.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mnt]).status, 0, 'mounted');
  t.teardown(() => {
    spawnSync('umount', [mnt]);
    fs.rmdirSync(mnt);
  });
  const h = cliHome(t, { CCLAB_HOME: mnt });
  const r = await h.run(['up', 'laptop', '--no-wait']);
  t.equal(r.code, 10, 'read-only home', { stderr: r.stderr });
  t.match(r.stderr, new RegExp(`${mnt}.*read-only \\(EROFS\\)`));
  t.match(r.stderr, /hint: .*CCLAB_HOME/);
  t.notMatch(r.stderr, NO_STACK);

  // The lab directory removed while `up` boots: a typed error, no stack trace.
  const h2 = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '3000' });
  const up = h2.start(['up', 'laptop', '--no-wait']);
  await up.waitForStderr(/Waiting for machine to boot/);
  fs.rmSync(h2.labDir('laptop'), { recursive: true, force: true });
  const r2 = await up.done;
  t.not(r2.code, 0);
  t.not(r2.code, 1, 'not an internal error', { stderr: r2.stderr });
  t.notMatch(r2.stderr, NO_STACK);
});

t.test('8: docker-env after an interrupted up laptop says to resume, not to recreate', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '60000' });
  const up = h.start(['up', 'laptop', '--no-wait']);
  await up.waitForStderr(/Waiting for machine to boot/);
  up.child.kill('SIGINT');
  t.equal((await up.done).code, 130);
  for (const args of [['docker-env', 'laptop'], ['docker-env']]) {
    const r = await h.run(args);
    t.equal(r.code, 8, args.join(' '));
    t.match(r.stderr, /has not finished coming up/);
    t.match(r.stderr, /hint: resume it with `cclab up laptop`/);
    t.notMatch(r.stderr, /--recreate/);
  }
});

t.test('10: with stdout redirected and stderr on a terminal, progress keeps its machine names', { skip: !fs.existsSync('/usr/bin/python3') && 'needs python3 for a pty' }, async (t) => {
  const h = cliHome(t);
  // python3 runs the CLI with stderr on a pseudo-terminal and stdout on a pipe.
  const script = [
    'import os, pty, subprocess, sys',
    'm, s = pty.openpty()',
    `p = subprocess.Popen([sys.argv[1], sys.argv[2], "up", "dev", "--no-wait"], stderr=s, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)`,
    'os.close(s)',
    'buf = b""',
    'while True:',
    '    try:',
    '        d = os.read(m, 65536)',
    '    except OSError:',
    '        break',
    '    if not d: break',
    '    buf += d',
    'out = p.stdout.read(); code = p.wait()',
    'sys.stderr.buffer.write(buf); sys.stdout.buffer.write(out); sys.exit(code)',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, process.execPath, CLI], { env: h.env, cwd: h.fake.dir, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, 'up succeeded', { stderr: r.stderr });
  // eslint-disable-next-line no-control-regex
  const plain = r.stderr.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  const outputs = plain.split(/\r?\n/).filter((l) => /\[OUTPUT\]/.test(l));
  t.same(outputs.filter((l) => !/(etcd-01|worker-0\d)/.test(l)), [], 'no progress line without its machine');
  t.match(plain, /worker-02 \(192\.168\.\d+\.\d+\)/, 'machines are named');
});

t.test('11: down deletes the lab files while it still holds the lab lock', async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-down-lock-'));
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const env = { CCLAB_HOME: home };
  const store = homeStore(env);
  const release = await store.lock('dev', 'test');
  const { makeManifest } = await import('../helpers/lab-home.js');
  await store.write(makeManifest('dev', 'dev'));
  await store.writeFile('dev', 'Vagrantfile', '# a Vagrantfile\n');
  await release();
  const seen: string[] = [];
  const watching = {
    ...store,
    async remove(name: string) {
      // A concurrent `up` trying to take the lab while its files are being deleted.
      const other = await homeStore(env).lock(name, 'cclab up').then(
        async (r) => {
          await r();
          return 'taken';
        },
        (e: { exitCode?: number }) => `refused ${e.exitCode}`,
      );
      seen.push(other);
      await store.remove(name);
    },
  };
  const vagrant = { destroy: async () => undefined } as unknown as VagrantDriver;
  const ctx: Context = { io: memoryIo(), env, cwd: home, signal: new AbortController().signal };
  await downLab('dev', { keepFiles: false }, { store: watching, vagrant }, ctx);
  t.same(seen, ['refused 7'], 'the lab was locked while its files were deleted');
  t.notOk(fs.existsSync(path.join(home, 'labs', 'dev')), 'and then removed');
});

t.test('13: render into an older render, and up --recreate with fewer machines, leave no stale configs', async (t) => {
  const h = cliHome(t);
  const out = path.join(h.fake.dir, 'out');
  t.equal((await h.run(['render', 'dev', '--workers', '3', '--out', out])).code, 0);
  fs.writeFileSync(path.join(out, 'user-data', 'notes.txt'), 'mine');
  const r = await h.run(['render', 'dev', '--workers', '1', '--out', out]);
  t.equal(r.code, 0);
  t.same(fs.readdirSync(path.join(out, 'user-data')).sort(), ['etcd-01.yaml', 'notes.txt', 'worker-01.yaml'], 'old workers gone, other files kept');
  t.match(r.stderr, /Removed user-data\/worker-02\.yaml/);

  t.equal((await h.run(['up', 'dev', '--workers', '3', '--no-wait'])).code, 0);
  const again = await h.run(['up', 'dev', '--workers', '1', '--recreate', '--no-wait']);
  t.equal(again.code, 0, '', { stderr: again.stderr });
  t.same(fs.readdirSync(path.join(h.labDir('dev'), 'user-data')).sort(), ['etcd-01.yaml', 'worker-01.yaml']);
});
