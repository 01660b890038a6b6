/** The lab's docker-certs/: made once with private modes, kept on the next call, made anew when incomplete. */
import t from 'tap';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDockerCerts, readDockerCerts, serverKeyFile } from '../../src/home/docker-certs.js';
import { dockerCertPath } from '../../src/home/paths.js';

t.test('made, kept, made anew when a file is missing', async (t) => {
  const lab = t.testdir({});
  const servers = [{ machine: 'core-01', ip: '192.168.57.101' }];
  const first = await ensureDockerCerts(lab, 'laptop', servers);
  const dir = dockerCertPath(lab);
  t.equal(dir, join(lab, 'docker-certs'));
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, 'key.pem')).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, serverKeyFile('core-01'))).mode & 0o777, 0o600);
  t.equal(readFileSync(join(dir, 'ca.pem'), 'utf8'), first.ca);

  const again = await ensureDockerCerts(lab, 'laptop', servers);
  t.same(again, first, 'kept: the same material is read back');

  t.equal(await readDockerCerts(dir, ['core-01', 'core-02']), undefined, 'a machine without its pair: incomplete');
  rmSync(join(dir, serverKeyFile('core-01')));
  const remade = await ensureDockerCerts(lab, 'laptop', servers);
  t.not(remade.ca, first.ca, 'incomplete: all made anew (a new CA)');
  t.equal(statSync(join(dir, serverKeyFile('core-01'))).mode & 0o777, 0o600);
});
