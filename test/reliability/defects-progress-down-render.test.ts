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
