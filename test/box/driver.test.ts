/**
 * The Vagrant driver's box add: the argv it runs (against test/helpers/fake-vagrant.mjs, which
 * logs every invocation and refuses `box add` like a failing Vagrant), and the error it makes.
 */
import t from 'tap';
import { CommandError } from '../../src/errors.js';
import { createVagrantDriver } from '../../src/vagrant/driver.js';
import { fakeVagrant } from '../helpers/fake-vagrant.js';

t.test('boxAdd runs `vagrant box add [--force] --provider P --box-version V CATALOG`; a failure is a CommandError with its output', async (t) => {
  const fake = fakeVagrant(t);
  const driver = createVagrantDriver({ env: fake.env, globalCwd: fake.dir });
  const lines: string[] = [];
  const e = await driver.boxAdd('/cache/tmp/pack-1/flatcar-stable.json', { provider: 'libvirt', version: '4230.2.3', force: true, onLine: (l) => lines.push(l) }).catch((x: unknown) => x);
  await driver.boxAdd('/c.json', { provider: 'libvirt' }).catch(() => undefined);
  t.same(fake.invocations(), [
    ['box', 'add', '--force', '--provider', 'libvirt', '--box-version', '4230.2.3', '/cache/tmp/pack-1/flatcar-stable.json'],
    ['box', 'add', '--provider', 'libvirt', '/c.json'],
  ]);
  t.ok(e instanceof CommandError, 'CommandError');
  t.same((e as CommandError).command, ['vagrant', 'box', 'add', '--force', '--provider', 'libvirt', '--box-version', '4230.2.3', '/cache/tmp/pack-1/flatcar-stable.json']);
  t.equal((e as CommandError).exitStatus, 1);
  t.match((e as CommandError).outputTail, 'unsupported command');
  t.match(lines.join('\n'), 'unsupported command', 'output lines reach onLine');
});
