/**
 * What a new user does, with the fake Vagrant on PATH and cclab's defaults: a dev lab with three
 * workers, progress per machine; status and ls show it; a laptop lab whose Docker port Vagrant
 * moved, used through `eval "$(cclab docker-env laptop)"` in bash; `cclab down --all` leaves no
 * lab directory behind.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { CLI, cliHome, ensureBuilt, labDirsLeft } from '../helpers/cli.js';

t.before(ensureBuilt);

const execFileP = promisify(execFile);

t.test('up dev --workers 3, status, ls, up laptop, docker-env, down --all', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_MOVE_PORT: '2999' });

  const dev = await h.run(['up', 'dev', '--workers', '3', '--no-wait']);
  t.equal(dev.code, 0, 'cclab up dev --workers 3', { stderr: dev.stderr });
  for (const m of ['etcd-01', 'worker-01', 'worker-02', 'worker-03']) {
    t.match(dev.stderr, new RegExp(`^› ${m}: Booting VM\\.\\.\\.$`, 'm'), `Vagrant's steps for ${m} on stderr`);
    t.match(dev.stderr, new RegExp(`^✔ ${m} \\(192\\.168\\.\\d+\\.\\d+\\) is up$`, 'm'), `${m} reported up on stderr`);
  }
  t.match(dev.stdout, /^Lab dev is up: dev, 4 machines, flatcar stable on virtualbox$/m);
  t.notMatch(dev.stdout, /›|✔/, 'no progress on stdout');

  const status = await h.run(['status', 'dev', '--no-health']);
  t.equal(status.code, 0);
  t.match(status.stdout, /^Lab dev: dev, running /m);
  for (const m of ['etcd-01', 'worker-01', 'worker-02', 'worker-03']) t.match(status.stdout, new RegExp(`^${m} .* running$`, 'm'));

  const laptop = await h.run(['up', 'laptop', '--no-wait']);
  t.equal(laptop.code, 0, 'cclab up laptop', { stderr: laptop.stderr });
  t.match(laptop.stdout, 'Docker API: tcp://127.0.0.1:2999 (core-01)');

  const ls = await h.run(['ls']);
  t.equal(ls.code, 0);
  t.match(ls.stdout, /^dev +dev +4 +running .* -$/m);
  t.match(ls.stdout, /^laptop +laptop +1 +running .* tcp:\/\/127\.0\.0\.1:2999$/m);

  const { stdout } = await execFileP('bash', ['-c', `eval "$(${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} docker-env laptop)" && echo "$DOCKER_HOST"`], {
    cwd: h.fake.dir,
    env: h.env,
  });
  t.equal(stdout, 'tcp://127.0.0.1:2999\n', 'DOCKER_HOST points at the forwarded port');

  const down = await h.run(['down', '--all']);
  t.equal(down.code, 0, 'cclab down --all', { stderr: down.stderr });
  t.same(labDirsLeft(h), [], 'no lab directory left behind');
  t.same(Object.values(h.fake.state().envs ?? {}).flatMap((e) => Object.keys(e.machines)), [], 'no VM left behind');
  const none = await h.run(['ls', '--json']);
  t.same(JSON.parse(none.stdout), { labs: [] });
});
