/**
 * Defects 1 and 7 of the reliability review: `up --config FILE` takes the lab's name from the
 * file, and a lab's subnet is chosen and checked against every other lab under one lock, so two
 * labs never share addresses (an explicit --subnet, or two `up`s racing for the same default).
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { defaultSubnet } from '../../src/lab/net.js';
import { cliHome, ensureBuilt } from '../helpers/cli.js';

t.before(ensureBuilt);

t.test('up --config FILE names the lab from metadata.name', async (t) => {
  const h = cliHome(t);
  const file = path.join(h.fake.dir, 'my-lab.yaml');
  fs.writeFileSync(file, 'apiVersion: cclab.dev/v1alpha1\nkind: Lab\nmetadata:\n  name: mine\nspec:\n  architecture: laptop\n');
  const r = await h.run(['up', '--config', file, '--no-wait']);
  t.equal(r.code, 0, 'the README usage works', { stderr: r.stderr });
  t.equal(h.manifest('mine').name, 'mine');
  const again = await h.run(['up', '--config', file, '--no-wait']);
  t.equal(again.code, 0, 'running it again resumes the lab', { stderr: again.stderr });
  t.match(again.stderr, /already running/);
});

t.test('an explicit --subnet overlapping another lab is refused, naming it (exit 4)', async (t) => {
  const h = cliHome(t);
  t.equal((await h.run(['up', 'laptop', '--name', 'one', '--subnet', '192.168.58.0/24', '--no-wait'])).code, 0);
  for (const subnet of ['192.168.58.0/24', '192.168.0.0/16']) {
    const r = await h.run(['up', 'laptop', '--name', 'two', '--subnet', subnet, '--no-wait']);
    t.equal(r.code, 4, `--subnet ${subnet}`, { stderr: r.stderr });
    t.match(r.stderr, /subnet free of other labs: .* overlaps 192\.168\.58\.0\/24 of lab one/);
    t.notOk(fs.existsSync(h.labDir('two')), 'nothing created');
  }
  t.equal((await h.run(['up', 'laptop', '--name', 'one', '--no-wait'])).code, 0, 'the lab itself resumes on its own subnet');
});

t.test('two concurrent ups whose names hash to the same default subnet take different subnets', async (t) => {
  // Two names whose default subnet is the same when no lab exists.
  const first = 'race-a';
  const want = defaultSubnet(first, []);
  let second = '';
  for (let i = 0; i < 1000 && !second; i++) if (`race-${i}` !== first && defaultSubnet(`race-${i}`, []) === want) second = `race-${i}`;
  t.ok(second, 'found a second name');
  const h = cliHome(t);
  const [a, b] = await Promise.all([
    h.run(['up', 'laptop', '--name', first, '--no-wait']),
    h.run(['up', 'laptop', '--name', second, '--no-wait']),
  ]);
  t.equal(a.code, 0, first, { stderr: a.stderr });
  t.equal(b.code, 0, second, { stderr: b.stderr });
  const subnets = [h.manifest(first).lab.subnet.cidr, h.manifest(second).lab.subnet.cidr];
  t.not(subnets[0], subnets[1], `different subnets: ${subnets.join(', ')}`);
  t.notOk(fs.readdirSync(h.labsDir).includes('.placement') && fs.readdirSync(path.join(h.labsDir, '.placement')).length > 0, 'no placement lock left');
});
