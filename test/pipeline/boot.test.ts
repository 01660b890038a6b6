/**
 * The pure parts of the lifecycle pipeline: the boot plan, the bounded runner, which machine a
 * line of Vagrant output is about, how two labs differ, and a lab's state from its machines'.
 */
import t from 'tap';
import { planBoot, runBootPlan, runBounded } from '../../src/pipeline/boot.js';
import { PROVIDER_RECORDS } from '../../src/providers/index.js';
import { machineOfLine } from '../../src/vagrant/parse.js';
import { summariseState } from '../../src/pipeline/lifecycle.js';
import { labDifferences } from '../../src/pipeline/up.js';
import { resolveLab, type LabOverrides } from '../../src/lab/resolve.js';
import type { Architecture } from '../../src/lab/types.js';

const DEV = ['etcd-01', 'worker-01', 'worker-02', 'worker-03'];

t.test('planBoot, VirtualBox: the first machine alone, then one step per machine, `parallel` at a time', async (t) => {
  const plan = planBoot(DEV, 'virtualbox', 3);
  t.same(plan.first, { machines: ['etcd-01'], parallel: false });
  t.same(plan.rest, [
    { machines: ['worker-01'], parallel: false },
    { machines: ['worker-02'], parallel: false },
    { machines: ['worker-03'], parallel: false },
  ]);
  t.equal(plan.concurrency, 3);
  t.equal(planBoot(DEV, 'virtualbox', 1).concurrency, 1, '--parallel 1: one machine at a time');
  t.same(planBoot(DEV, 'parallels', 2).rest.map((s) => s.machines), [['worker-01'], ['worker-02'], ['worker-03']], 'Parallels boots like VirtualBox');
});

t.test('planBoot, libvirt: the first machine alone, then every other machine in one parallel step', async (t) => {
  const plan = planBoot(DEV, 'libvirt', 3);
  t.same(plan.first, { machines: ['etcd-01'], parallel: false });
  t.same(plan.rest, [{ machines: ['worker-01', 'worker-02', 'worker-03'], parallel: true }]);
  t.equal(plan.concurrency, 1, 'one vagrant process for the rest');
});

t.test('planBoot, resume: with machines already created there is no first step', async (t) => {
  const created = new Set(['etcd-01', 'worker-01']);
  const vb = planBoot(['worker-02', 'worker-03'], 'virtualbox', 2, created);
  t.equal(vb.first, undefined);
  t.same(vb.rest, [
    { machines: ['worker-02'], parallel: false },
    { machines: ['worker-03'], parallel: false },
  ]);
  t.equal(vb.concurrency, 2);
  const lv = planBoot(['worker-02', 'worker-03'], 'libvirt', 2, created);
  t.equal(lv.first, undefined);
  t.same(lv.rest, [{ machines: ['worker-02', 'worker-03'], parallel: true }]);
  // A halted lab: every machine exists, so every machine is a step of its own.
  t.same(planBoot(DEV, 'virtualbox', 3, new Set(DEV)).rest.map((s) => s.machines), DEV.map((m) => [m]));
});

t.test('planBoot: one machine, no machine, odd --parallel values', async (t) => {
  t.same(planBoot(['core-01'], 'virtualbox', 3), { first: { machines: ['core-01'], parallel: false }, rest: [], concurrency: 3 });
  t.same(planBoot(['core-01'], 'libvirt', 3).rest, []);
  t.same(planBoot([], 'virtualbox', 3), { first: undefined, rest: [], concurrency: 1 });
  t.equal(planBoot(DEV, 'virtualbox', 0).concurrency, 1, 'never less than one');
  t.equal(planBoot(DEV, 'virtualbox', 2.7).concurrency, 2, 'whole machines');
});

/** A worker whose calls stay pending until the test settles them, counting how many run at once. */
function gate() {
  let active = 0;
  let max = 0;
  const started: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (e: unknown) => void }>();
  const worker = (item: string) =>
    new Promise<void>((resolve, reject) => {
      active += 1;
      max = Math.max(max, active);
      started.push(item);
      const end = () => (active -= 1);
      pending.set(item, {
        resolve: () => (end(), resolve()),
        reject: (e) => (end(), reject(e)),
      });
    });
  return {
    worker,
    started,
    get active() {
      return active;
    },
    get max() {
      return max;
    },
    settle(item: string, error?: unknown) {
      const p = pending.get(item);
      if (!p) throw new Error(`${item} has not started`);
      pending.delete(item);
      if (error === undefined) p.resolve();
      else p.reject(error);
    },
    /** Lets the runner react to what was settled (a few turns of the microtask queue). */
    async turn() {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    },
  };
}

/** Whether a promise has settled yet, without waiting for it. */
function watch<T>(p: Promise<T>) {
  const w = { settled: false, result: undefined as unknown, error: undefined as unknown };
  p.then(
    (v) => Object.assign(w, { settled: true, result: v }),
    (e: unknown) => Object.assign(w, { settled: true, error: e }),
  );
  return w;
}

t.test('runBounded never runs more than `limit` at once and runs every item once, in order', async (t) => {
  const g = gate();
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const run = watch(runBounded(items, 3, g.worker));
  await g.turn();
  t.same(g.started, ['a', 'b', 'c'], 'three start at once');
  t.equal(g.active, 3);
  g.settle('b');
  await g.turn();
  t.same(g.started, ['a', 'b', 'c', 'd'], 'one more starts when one ends');
  t.equal(g.active, 3);
  for (const item of ['a', 'c', 'd', 'e', 'f', 'g']) {
    await g.turn();
    g.settle(item);
  }
  await g.turn();
  t.ok(run.settled);
  t.equal(run.error, undefined);
  t.same(g.started, items);
  t.equal(g.max, 3, 'the limit was reached and never passed');
});

t.test('runBounded with a limit above the number of items runs them all at once', async (t) => {
  let active = 0;
  let max = 0;
  await runBounded(['a', 'b'], 5, async () => {
    active += 1;
    max = Math.max(max, active);
    await new Promise((r) => setImmediate(r));
    active -= 1;
  });
  t.equal(max, 2);
  await runBounded([], 3, async () => void t.fail('no work for no items'));
});

t.test('runBounded: the first failure rejects, after the work already started has settled, and nothing new starts', async (t) => {
  const g = gate();
  const run = watch(runBounded(['a', 'b', 'c', 'd', 'e'], 2, g.worker));
  await g.turn();
  const boom = new Error('b failed');
  g.settle('b', boom);
  await g.turn();
  t.notOk(run.settled, 'still waiting for a, which was running');
  t.same(g.started, ['a', 'b'], 'c does not start after a failure');
  g.settle('a', new Error('a failed later'));
  await g.turn();
  t.ok(run.settled);
  t.equal(run.error, boom, 'the first failure is the one reported');
  t.same(g.started, ['a', 'b']);
});

t.test('runBounded: an abort starts nothing new and rejects with the abort reason once running work settles', async (t) => {
  const g = gate();
  const ac = new AbortController();
  const run = watch(runBounded(['a', 'b', 'c', 'd'], 2, g.worker, ac.signal));
  await g.turn();
  const reason = new Error('interrupted');
  ac.abort(reason);
  g.settle('a');
  await g.turn();
  t.same(g.started, ['a', 'b'], 'nothing starts after the abort');
  t.notOk(run.settled, 'b is still running');
  g.settle('b');
  await g.turn();
  t.ok(run.settled);
  t.equal(run.error, reason);

  const before = new AbortController();
  before.abort(reason);
  await t.rejects(runBounded(['x'], 1, async () => void t.fail('nothing runs once aborted'), before.signal), reason);
});

t.test('machineOfLine: the machine a line of Vagrant output is about', async (t) => {
  const machines = ['etcd-01', 'worker-01'];
  t.equal(machineOfLine('==> etcd-01: Booting VM...', machines), 'etcd-01');
  t.equal(machineOfLine('    worker-01: SSH address: 127.0.0.1:2200', machines), 'worker-01');
  t.equal(machineOfLine('==> worker-09: Booting VM...', machines), undefined, 'not a machine of this lab');
  t.equal(machineOfLine("Bringing machine 'etcd-01' up with 'virtualbox' provider...", machines), undefined);
  t.equal(machineOfLine('==> etcd-01 Booting', machines), undefined, 'no colon, no machine');
  t.equal(machineOfLine('', machines), undefined);
});

function lab(architecture: Architecture, overrides: LabOverrides = {}) {
  return resolveLab({ document: { name: 'dev', spec: { architecture } }, source: 'test', overrides: { subnet: '192.168.58.0/24', ...overrides } }).lab;
}

t.test('labDifferences: nothing for the same lab, `option: old → new` for each change, named as the user gives it', async (t) => {
  t.same(labDifferences(lab('dev'), lab('dev')), []);
  t.same(labDifferences(lab('dev', { memory: 1024 }), lab('dev', { memory: 2048 })), ['--memory: 1024 → 2048']);
  t.same(labDifferences(lab('dev', { workers: 2 }), lab('dev', { workers: 3 })), ['--workers: 2 → 3'], 'a count, not the machine list');
  t.same(labDifferences(lab('production', { services: 3 }), lab('production', { services: 5 })), ['--services: 3 → 5']);
  const subnet = labDifferences(lab('dev'), lab('dev', { subnet: '192.168.59.0/24' }));
  t.same(subnet, ['--subnet: "192.168.58.0/24" → "192.168.59.0/24"', '--gateway: "192.168.58.1" → "192.168.59.1"', '--dns: "192.168.58.1" → "192.168.59.1"'], 'a new subnet is listed', { found: subnet });
  const added = labDifferences(lab('dev'), lab('dev', { update: { group: 'beta-testers' } }));
  t.ok(added.some((d) => /^--update-group: \(none\) → "beta-testers"$/.test(d)), 'a value that was not set reads (none)', { found: added });
  const box = labDifferences(lab('dev', { box: { url: 'https://a/x.json' } }), lab('dev', { box: { url: 'https://b/x.json' } }));
  t.same(box, ['--box-url: "https://a/x.json" → "https://b/x.json"']);
  const cpu = labDifferences(lab('dev', { libvirt: { cpuMode: 'host-model' } }), lab('dev'));
  t.same(cpu, ['spec.libvirt.cpuMode: "host-model" → (none)'], 'a lab-file field without a flag is named by its field');
  const etcd = labDifferences(lab('dev'), lab('dev', { etcd: { version: '3.5.21' } }));
  t.same(etcd, ['--etcd-version: "v3.5.16" → "v3.5.21"'], 'options added with Ignition are named by their flag too');
  for (const d of [...subnet, ...added, ...box, ...etcd]) t.notMatch(d, /^(subnet\.cidr|etcd\.|machines|update\.group|box\.url):/, 'no model field names');
});

t.test('summariseState: a lab state from its machines\' Vagrant states', async (t) => {
  t.equal(summariseState([]), 'empty');
  t.equal(summariseState(['running', 'running']), 'running');
  t.equal(summariseState(['not_created', undefined]), 'not created');
  t.equal(summariseState(['poweroff', 'shutoff', 'saved']), 'halted');
  t.equal(summariseState(['running', 'poweroff']), 'partial');
  t.equal(summariseState(['running', 'not_created']), 'partial');
  t.equal(summariseState(['poweroff', 'not_created']), 'partial');
});

t.test('runBootPlan: the rest start when the first machine has done the shared work, not when it has booted', async (t) => {
  const plan = planBoot(['etcd-01', 'worker-01', 'worker-02'], 'virtualbox', 2);
  const events: string[] = [];
  let shared!: () => void;
  const sharedWorkDone = new Promise<void>((r) => (shared = r));
  let finishFirst!: () => void;
  const firstBooted = new Promise<void>((r) => (finishFirst = r));
  const run = runBootPlan(
    plan,
    async (step) => {
      const m = step.machines.join(',');
      events.push(`start ${m}`);
      if (m === 'etcd-01') await firstBooted;
      events.push(`end ${m}`);
    },
    sharedWorkDone,
  );
  await new Promise((r) => setImmediate(r));
  t.same(events, ['start etcd-01'], 'nothing else starts before the shared work is done');
  shared();
  await new Promise((r) => setTimeout(r, 10));
  t.ok(events.includes('start worker-01') && events.includes('start worker-02'), 'both workers started…');
  t.notOk(events.includes('end etcd-01'), '…while etcd-01 still boots');
  finishFirst();
  await run;
  t.ok(events.includes('end etcd-01'));
});

t.test('runBootPlan: a first machine failing before the shared work is done starts nothing else', async (t) => {
  const plan = planBoot(['etcd-01', 'worker-01'], 'virtualbox', 2);
  const started: string[] = [];
  await t.rejects(
    runBootPlan(
      plan,
      async (step) => {
        started.push(step.machines.join(','));
        if (step.machines[0] === 'etcd-01') throw new Error('box import failed');
      },
      new Promise<void>(() => undefined),
    ),
    /box import failed/,
  );
  t.same(started, ['etcd-01']);
});

t.test('runBootPlan: a failure after the workers started is reported once every started step has settled', async (t) => {
  const plan = planBoot(['etcd-01', 'worker-01'], 'virtualbox', 2);
  const settled: string[] = [];
  await t.rejects(
    runBootPlan(
      plan,
      async (step) => {
        const m = step.machines[0]!;
        await new Promise((r) => setTimeout(r, m === 'worker-01' ? 30 : 5));
        settled.push(m);
        if (m === 'etcd-01') throw new Error('etcd-01 never answered over SSH');
      },
      Promise.resolve(),
    ),
    /never answered/,
  );
  t.same(settled, ['etcd-01', 'worker-01'], 'worker-01 finished before the failure was reported');
});

t.test('sharedWorkDone: the line each provider prints once the box and networks exist', async (t) => {
  t.match('==> etcd-01: Booting VM...', PROVIDER_RECORDS.virtualbox.sharedWorkDone);
  t.notMatch('==> etcd-01: Importing base box \'flatcar-stable\'...', PROVIDER_RECORDS.virtualbox.sharedWorkDone);
  t.match('==> etcd-01: Starting domain.', PROVIDER_RECORDS.libvirt.sharedWorkDone);
  t.notMatch('==> etcd-01: Creating domain with the following settings...', PROVIDER_RECORDS.libvirt.sharedWorkDone);
  t.match('==> core-01: Booting VM...', PROVIDER_RECORDS.parallels.sharedWorkDone);
});
