/** What `up` says about health: only the services the lab has, and logs of what actually failed. */
import t from 'tap';
import { unhealthyHint } from '../../src/commands/up.js';
import { resolveLab } from '../../src/lab/resolve.js';
import type { Architecture } from '../../src/lab/types.js';
import { checkedServices } from '../../src/pipeline/up.js';

const lab = (architecture: Architecture) => resolveLab({ document: { name: architecture, spec: { architecture } }, source: 'test', overrides: { subnet: '192.168.58.0/24' } }).lab;

t.test('"Checking …" names only what the lab runs', async (t) => {
  t.equal(checkedServices(lab('laptop')), 'Docker', 'a laptop has Docker only');
  t.equal(checkedServices(lab('small')), 'etcd and fleet');
  t.equal(checkedServices(lab('dev')), 'etcd and fleet');
  const docker = resolveLab({ document: { name: 'd', spec: { architecture: 'dev' } }, source: 'test', overrides: { subnet: '192.168.58.0/24', dockerTcp: true } }).lab;
  t.equal(checkedServices(docker), 'etcd, fleet and Docker');
});

t.test("an unhealthy lab's hint points at the journal of what failed, on a machine that runs it", async (t) => {
  const laptop = unhealthyHint(lab('laptop'), 'laptop', ['docker']);
  t.match(laptop, /`cclab logs laptop core-01 docker`/);
  t.notMatch(laptop, /etcd/, 'a laptop has no etcd');
  t.notMatch(unhealthyHint(lab('laptop'), 'laptop', undefined), /etcd|fleet/, 'unknown failures: only what the lab has');
  t.match(unhealthyHint(lab('dev'), 'dev', ['etcd']), /`cclab logs dev etcd-01 etcd`/);
  t.match(unhealthyHint(lab('dev'), 'dev', ['etcd-proxy']), /`cclab logs dev worker-01 etcd`/);
  t.match(unhealthyHint(lab('small'), 'small', ['fleet']), /`cclab logs small core-01 fleet`/);
  t.match(unhealthyHint(lab('dev'), 'dev', ['fleet']), /check again later with `cclab check dev`/);
});
