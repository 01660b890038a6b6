/**
 * The timeline of a `cclab up` (src/pipeline/timings.ts): Vagrant's lines mapped to phases (the
 * lines of a captured real `vagrant up` of two libvirt machines), spans per machine, each service's
 * first healthy judgement, and cclab's own share as what no Vagrant call or health check covers.
 */
import fs from 'node:fs';
import t from 'tap';
import { bootedTogether, formatTimings, phaseOfLine, UpTimeline } from '../../src/pipeline/timings.js';
import type { CheckResult, HealthReport } from '../../src/health/types.js';

const captured = fs.readFileSync(new URL('../fixtures/vagrant-captured/up-two-machines.txt', import.meta.url), 'utf8');

t.test('phaseOfLine: the phases of a captured vagrant up, in order, for each machine', async (t) => {
  for (const machine of ['etcd-01', 'worker-01']) {
    const phases: string[] = [];
    for (const line of captured.split('\n')) {
      const m = /^==> ([^:]+): (.*)$/.exec(line);
      if (!m || m[1] !== machine) continue;
      const p = phaseOfLine(m[2]!.trim());
      if (p && phases.at(-1) !== p) phases.push(p);
    }
    t.same(phases.filter((p) => p !== 'box'), ['create', 'boot', 'configure', 'provision'], `${machine}: create → boot → configure → provision`);
  }
  t.equal(phaseOfLine('Uploading base box image as volume into Libvirt storage...'), 'box');
  t.equal(phaseOfLine('Importing base box \'flatcar-stable\'...'), 'box');
  t.equal(phaseOfLine('Cloning VM...'), 'create');
  t.equal(phaseOfLine('Booting VM...'), 'boot');
  t.equal(phaseOfLine('Machine booted and ready!'), 'configure');
  t.equal(phaseOfLine('Running provisioner: shell...'), 'provision');
  t.equal(phaseOfLine('SSH address: 192.168.121.10:22'), undefined, 'a detail line opens nothing');
});

const check = (group: CheckResult['group'], ok: boolean): CheckResult => ({ id: `${group}:x`, group, name: group, ok, observed: '' });
const report = (checks: CheckResult[]): HealthReport => ({ healthy: checks.every((c) => c.ok), checks });

t.test('UpTimeline: phases per machine, services, cclab alone', async (t) => {
  let now = 0;
  const tl = new UpTimeline(() => now, new Date('2026-12-03T10:00:00Z'));
  now = 100;
  const probe = tl.vagrantCall(); // vagrant --version
  now = 600;
  probe();
  now = 700;
  const first = tl.booting(['etcd-01']);
  tl.line('etcd-01', 'Uploading base box image as volume into Libvirt storage...');
  now = 2700;
  tl.line('etcd-01', 'Creating image (snapshot of base box volume).');
  tl.line('etcd-01', 'Creating domain with the following settings...'); // same phase: no new span
  now = 3000;
  tl.line('etcd-01', 'Starting domain.');
  const rest = tl.booting(['worker-01']);
  tl.line('worker-01', 'Creating image (snapshot of base box volume).');
  now = 3500;
  tl.line('worker-01', 'Starting domain.');
  now = 9000;
  tl.line('etcd-01', 'Machine booted and ready!');
  now = 9500;
  tl.line('etcd-01', 'Running provisioner: file...');
  now = 10_000;
  first(true);
  now = 11_000;
  rest(false);
  now = 11_200;
  tl.healthStarted();
  now = 11_500;
  tl.judged(report([check('etcd', false), check('docker', true)]));
  now = 12_000;
  tl.judged(report([check('etcd', true), check('docker', true)]));
  tl.healthEnded(true);
  now = 12_100;
  const r = tl.result();
  t.same(r.machines, [
    {
      name: 'etcd-01',
      startedMs: 700,
      upMs: 10_000,
      phases: [
        { phase: 'box', startMs: 700, endMs: 2700 },
        { phase: 'create', startMs: 2700, endMs: 3000 },
        { phase: 'boot', startMs: 3000, endMs: 9000 },
        { phase: 'configure', startMs: 9000, endMs: 9500 },
        { phase: 'provision', startMs: 9500, endMs: 10_000 },
      ],
    },
    {
      name: 'worker-01',
      startedMs: 3000,
      upMs: null,
      phases: [
        { phase: 'create', startMs: 3000, endMs: 3500 },
        { phase: 'boot', startMs: 3500, endMs: 11_000 },
      ],
    },
  ]);
  t.same(r.health, { startedMs: 11_200, verdictMs: 12_000, healthy: true, services: [{ group: 'etcd', healthyMs: 12_000 }, { group: 'docker', healthyMs: 11_500 }] });
  t.equal(r.totalMs, 12_100);
  t.equal(r.vagrantMs, 500 + 10_300, 'the union of every Vagrant call');
  t.equal(r.cclabMs, 12_100 - 500 - 10_300 - 800, 'what neither Vagrant nor the health check covers');
  t.equal(r.startedAt, '2026-12-03T10:00:00.000Z');

  const text = formatTimings(r);
  t.match(text, /^ {2}\s+etcd-01 +worker-01$/m);
  t.match(text, /^ {2}waiting to start +0\.0 +2\.3$/m);
  t.match(text, /^ {2}box import +2\.0 +—$/m);
  t.match(text, /^ {2}boot to SSH +6\.0 +7\.5$/m);
  t.match(text, /^ {2}up at +10\.0 +failed$/m);
  t.match(text, /health check from 11\.2: etcd healthy at 12\.0, Docker API healthy at 11\.5; verdict \(healthy\) at 12\.0, 2\.0 after the last machine was up/);
  t.match(text, /total 12\.1: Vagrant 10\.8, health check 0\.8, cclab alone 0\.5/);
  t.notMatch(text, /machines up/, 'no together line when a machine failed');
});

t.test('bootedTogether: first start to last up, against the first machine alone (the gate the others wait for)', async (t) => {
  const m = (name: string, startedMs: number, upMs: number | null) => ({ name, startedMs, upMs, phases: [] });
  // The e2e's dev lab: etcd-01 up at 91.6 s, its worker started 2.3 s after it and up at 99.0 s.
  const dev = [m('etcd-01', 0, 91_600), m('worker-01', 2300, 99_000)];
  t.same(bootedTogether(dev), { allMs: 99_000, firstMs: 91_600, ratio: 99_000 / 91_600 });
  // Workers that waited for the first machine to be up take twice as long.
  t.equal(bootedTogether([m('a', 100, 10_100), m('b', 10_100, 20_100)])!.ratio, 2);
  t.equal(bootedTogether([m('a', 0, 1000)]), undefined, 'one machine: nothing to compare');
  t.equal(bootedTogether([m('a', 0, 1000), m('b', 0, null)]), undefined, 'one did not come up');
  t.equal(bootedTogether([]), undefined);
  const text = formatTimings({ startedAt: '2026-12-03T10:00:00.000Z', totalMs: 100_000, machines: dev, cclabMs: 700, vagrantMs: 99_000 });
  t.match(text, /^ {2}2 machines up 99\.0 after the first started: 1\.08× the first machine's own 91\.6 \(1\.00× would be all at once\)$/m);
});

t.test('timed: every call of a driver counts as Vagrant time, failures included', async (t) => {
  let now = 0;
  const tl = new UpTimeline(() => now, new Date(0));
  const driver = {
    name: 'x',
    async ok() {
      now += 1000;
      return 1;
    },
    async bad() {
      now += 500;
      throw new Error('boom');
    },
    sync() {
      now += 10;
      return 2;
    },
  };
  const timed = tl.timed(driver);
  t.equal(timed.name, 'x', 'plain properties pass through');
  t.equal(await timed.ok(), 1);
  await t.rejects(timed.bad(), /boom/);
  t.equal(timed.sync(), 2);
  now += 90;
  const r = tl.result();
  t.equal(r.vagrantMs, 1510);
  t.equal(r.cclabMs, 90);
  t.notOk(r.health, 'no health check ran');
  t.match(formatTimings(r), /total 1\.6: Vagrant 1\.5, cclab alone 0\.1/);
});
