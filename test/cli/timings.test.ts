/**
 * `cclab up --timings` and the `timings` of `up --json`, through the built CLI with the fake
 * `vagrant` (which prints Vagrant 2.3.4's lines and takes FAKE_VAGRANT_UP_DELAY_MS to boot).
 */
import t from 'tap';
import { cliHome, ensureBuilt } from '../helpers/cli.js';

t.before(ensureBuilt);

t.test('up --json carries the timings; --timings prints them on stderr', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '400' });
  const r = await h.run(['up', 'dev', '--workers', '1', '--no-wait', '--json', '--timings']);
  t.equal(r.code, 0, '', { stderr: r.stderr });
  const doc = JSON.parse(r.stdout);
  const { timings } = doc;
  t.match(timings, { startedAt: /^\d{4}-\d\d-\d\dT/, totalMs: Number, vagrantMs: Number, cclabMs: Number });
  t.notOk(timings.health, '--no-wait: no health check');
  t.same(timings.machines.map((m: { name: string }) => m.name), ['etcd-01', 'worker-01']);
  for (const m of timings.machines) {
    t.ok(m.upMs >= m.startedMs, `${m.name} is up after it started`);
    const phases = m.phases.map((p: { phase: string }) => p.phase);
    t.same(phases.filter((p: string) => p !== 'box'), ['create', 'boot', 'configure'], `${m.name}: Vagrant's phases in order (the fake runs no provisioners)`);
    const boot = m.phases.find((p: { phase: string }) => p.phase === 'boot');
    t.ok(boot.endMs - boot.startMs >= 380, `${m.name}: boot holds the fake's 400 ms`);
    for (const p of m.phases) t.ok(p.endMs >= p.startMs && p.startMs >= m.startedMs && p.endMs <= m.upMs, `${m.name} ${p.phase}: inside the machine's span`);
  }
  t.ok(timings.machines[0].phases.some((p: { phase: string }) => p.phase === 'box'), 'the first machine imports the box');
  t.ok(timings.machines[1].startedMs >= timings.machines[0].phases.find((p: { phase: string }) => p.phase === 'boot').startMs, 'the second starts once the first boots (the shared work done)');
  t.ok(timings.vagrantMs + timings.cclabMs <= timings.totalMs + 1, 'Vagrant and cclab shares within the total');
  t.match(r.stderr, /^Timings of cclab up \(seconds; "at" is since cclab started, \d{4}-.*\):$/m);
  t.match(r.stderr, /^ {2}boot to SSH +0\.\d +0\.\d$/m);
  t.match(r.stderr, /^ {2}total \d+\.\d: Vagrant \d+\.\d, cclab alone \d+\.\d$/m);
  t.notMatch(r.stdout, /Timings of/, 'the table is not data: stderr only');

  const plain = await h.run(['up', 'dev', '--no-wait']);
  t.equal(plain.code, 0, '', { stderr: plain.stderr });
  t.notMatch(plain.stderr, /Timings of/, 'only with --timings');
});

t.test('the timings stay with the lab (lastUp in lab.json), and a failed up prints and records them too', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '200' });
  const ok = await h.run(['up', 'dev', '--workers', '1', '--no-wait']);
  t.equal(ok.code, 0, '', { stderr: ok.stderr });
  const saved = h.manifest('dev').lastUp;
  t.same(saved.machines.map((m: { name: string }) => m.name), ['etcd-01', 'worker-01'], 'the last up’s machines');
  t.ok(saved.machines.every((m: { upMs: number | null }) => typeof m.upMs === 'number'), 'both came up');

  const failed = await h.run(['up', 'dev', '--workers', '2', '--recreate', '--no-wait', '--timings'], { env: { FAKE_VAGRANT_FAIL_UP: 'worker-02' } });
  t.equal(failed.code, 5, 'the boot failed', { stderr: failed.stderr });
  t.match(failed.stderr, /^Timings of cclab up/m, '--timings prints them although up failed');
  t.match(failed.stderr, /^ {2}up at +\d+\.\d +\d+\.\d +failed$/m, 'the machine that failed is marked');
  const after = h.manifest('dev');
  t.equal(after.state, 'partial');
  t.equal(after.lastUp.machines.find((m: { name: string }) => m.name === 'worker-02').upMs, null, 'lab.json records the failed up’s timings');
  t.not(after.lastUp.startedAt, saved.startedAt, 'of this up, not the one before');
});
