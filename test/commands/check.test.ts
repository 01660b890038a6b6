/**
 * `cclab check`, as a user runs it: against three real etcd members on 127.0.0.1 (healthy, then one
 * stopped), in human and JSON form; a lab's own targets through checkLab/labHealth; and every
 * usage mistake turned into a UsageError.
 */

import t from 'tap';
import { checkLab, parseCheckOptions, run } from '../../src/commands/check.js';
import { labHealth } from '../../src/health/lab.js';
import { memoryIo, type Context } from '../../src/context.js';
import { UnhealthyError, UsageError } from '../../src/errors.js';
import { loadBuiltinLab } from '../../src/lab/load.js';
import { resolveLab } from '../../src/lab/resolve.js';
import type { Lab } from '../../src/lab/types.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { machineState, registerFleetMachine } from '../helpers/fleet.js';
import { requireBinaries } from '../helpers/ports.js';

function context(): Context & { io: ReturnType<typeof memoryIo> } {
  return { io: memoryIo(), env: {}, cwd: process.cwd(), signal: new AbortController().signal };
}
const fast = { pollIntervalMs: 100 };

t.test('usage mistakes are UsageErrors', async (t) => {
  const usage = (opts: Parameters<typeof parseCheckOptions>[0], message: RegExp) =>
    t.throws(() => parseCheckOptions(opts), UsageError, JSON.stringify(opts)) &&
    t.throws(() => parseCheckOptions(opts), { message }, JSON.stringify(opts));
  usage({}, /^nothing to check/);
  usage({ endpoints: ' , ' }, /^nothing to check/);
  usage({ endpoints: 'localhost:2379' }, /^--endpoints: "localhost:2379" is not an http:\/\/ or https:\/\/ URL$/);
  usage({ endpoints: 'not a url' }, /^--endpoints: "not a url" is not a URL$/);
  usage({ endpoints: 'http://127.0.0.1:2379/v2/keys' }, /must be a bare client URL/);
  usage({ endpoints: 'http://127.0.0.1:2379', expectMembers: 0 }, /^--expect-members: 0 is not a whole number of at least 1$/);
  usage({ endpoints: 'http://127.0.0.1:2379', expectMembers: 2.5 }, /^--expect-members/);
  usage({ endpoints: 'http://127.0.0.1:2379', expectFleet: -1 }, /^--expect-fleet/);
  usage({ endpoints: 'http://127.0.0.1:2379', fleetMetadata: 'role=worker' }, /^--fleet-metadata needs --expect-fleet$/);
  usage({ endpoints: 'http://127.0.0.1:2379', expectFleet: 1, fleetMetadata: 'role' }, /^--fleet-metadata: "role" is not key=value$/);
  usage({ dockerHost: 'tcp://127.0.0.1:2375', expectFleet: 1 }, /^--expect-fleet needs --endpoints$/);
  usage({ dockerHost: 'unix:///var/run/docker.sock' }, /^--docker-host: "unix:\/\/\/var\/run\/docker.sock" is not a tcp:\/\/HOST:PORT endpoint$/);
  usage({ dockerHost: 'tcp://127.0.0.1' }, /^--docker-host/);
  await t.rejects(run({ endpoints: 'http://127.0.0.1:2379', timeout: 'soon' }, context()), UsageError);
});

t.test('flags as yargs may pass them', async (t) => {
  t.same(
    parseCheckOptions({
      endpoints: ['http://127.0.0.1:2379,http://127.0.0.1:2479/', 'http://127.0.0.1:2379'],
      expectMembers: 2,
      expectFleet: 0,
      fleetMetadata: ['role=worker', 'zone=a,disk=ssd'],
      dockerHost: 'tcp://127.0.0.1:02375/',
    }),
    {
      endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:2479'],
      expectMembers: 2,
      expectFleet: 0,
      fleetMetadata: { role: 'worker', zone: 'a', disk: 'ssd' },
      dockerHost: 'tcp://127.0.0.1:2375',
    },
  );
});

t.test('against three real etcd members', async (t) => {
  if (!requireBinaries(t, ['etcd'])) return;
  const cluster: EtcdCluster = await startEtcdCluster(t, ['etcd-01', 'etcd-02', 'etcd-03']);
  const endpoints = cluster.clientUrls.join(',');

  t.test('three members running: the check succeeds', async (t) => {
    const ctx = context();
    const report = await run({ endpoints, expectMembers: 3 }, ctx, fast);
    t.equal(report.healthy, true);
    t.match(ctx.io.stdout, /^✓ etcd member etcd-01 \(http:\/\/127\.0\.0\.1:\d+\): healthy, etcd 3\./m);
    t.match(ctx.io.stdout, /^✓ etcd member list: 3 members: /m);
    t.match(ctx.io.stdout, /\netcd: healthy\n$/);
    t.equal(ctx.io.stderr, '');
  });

  t.test('--json: one document on stdout', async (t) => {
    const ctx = context();
    await run({ endpoints, expectMembers: 3, json: true }, ctx, fast);
    const doc = JSON.parse(ctx.io.stdout);
    t.match(doc, { healthy: true, etcd: { verdict: 'healthy', expected: 3, down: [] } });
    t.equal(doc.checks.length, 4);
    t.ok(doc.checks.every((c: { ok: boolean; group: string }) => c.ok && c.group === 'etcd'));
  });

  t.test('a lab checked through its own targets (checkLab, labHealth)', async (t) => {
    const d = await loadBuiltinLab('small');
    const resolved = resolveLab({ document: d.document, source: d.source }).lab;
    // The lab's members, at the local etcd's URLs (its fleet machines keep their lab addresses).
    const lab: Lab = {
      ...resolved,
      etcd: {
        ...resolved.etcd,
        members: resolved.etcd.members.map((m, i) => ({ ...m, clientUrl: cluster.members[i]!.clientUrl, peerUrl: cluster.members[i]!.peerUrl })),
      },
    };
    t.equal(lab.etcd.members.length, 3);
    const names = lab.etcd.members.map((m) => m.name);

    // The member names of the lab are not those of the local cluster: the member list says so.
    const ctx = context();
    await t.rejects(checkLab(lab, { timeoutMs: 1000 }, ctx, fast), UnhealthyError);
    t.match(ctx.io.stdout, `✗ etcd member list: ${names[0]} is not in the member list`);

    const renamed: Lab = { ...lab, etcd: { ...lab.etcd, members: lab.etcd.members.map((m, i) => ({ ...m, name: cluster.members[i]!.name })) } };
    const fleetMachines = renamed.machines.filter((m) => m.fleet);
    const ctx2 = context();
    await t.rejects(checkLab(renamed, { timeoutMs: 1000 }, ctx2, fast), UnhealthyError);
    t.match(ctx2.io.stdout, new RegExp(`^fleet: unhealthy — ${fleetMachines[0]!.name} is not registered`, 'm'));

    for (const m of fleetMachines) await registerFleetMachine(cluster.clientUrls[0]!, machineState(m.ip, m.fleetMetadata));
    const ctx3 = context();
    const report = await checkLab(renamed, { timeoutMs: 10_000, json: true }, ctx3, fast);
    t.equal(report.healthy, true, ctx3.io.stdout);
    t.match(JSON.parse(ctx3.io.stdout), { healthy: true, etcd: { verdict: 'healthy' }, fleet: { verdict: 'healthy', registered: fleetMachines.length } });

    const quiet = await labHealth(renamed, { dockerEndpoint: undefined, timeoutMs: 10_000, signal: new AbortController().signal }, fast);
    t.equal(quiet.healthy, true);
    t.match(quiet.text, /\netcd: healthy\nfleet: healthy \(3 machines\)\n$/);
    t.match(quiet.json, { healthy: true });
  });

  t.test('one member stopped: UnhealthyError, and the output says degraded and names it', async (t) => {
    await cluster.members[1]!.stop();
    await cluster.waitHealthy(); // the survivors keep (or re-elect) a leader
    const ctx = context();
    const err = await run({ endpoints, expectMembers: 3, timeout: '1s' }, ctx, fast).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, UnhealthyError);
    t.equal((err as UnhealthyError).message, 'unhealthy: etcd degraded — etcd-02 is down; quorum kept (2 of 3 members up)');
    t.match(ctx.io.stdout, /^✗ etcd member etcd-02 \(http:\/\/127\.0\.0\.1:\d+\): connection refused$/m);
    t.match(ctx.io.stdout, /^etcd: degraded — etcd-02 is down; quorum kept \(2 of 3 members up\)$/m);

    const json = context();
    await t.rejects(run({ endpoints, expectMembers: 3, timeout: 0, json: true }, json, fast), UnhealthyError);
    t.match(JSON.parse(json.io.stdout), { healthy: false, etcd: { verdict: 'degraded', down: ['etcd-02'] } });

    const quiet = await labHealth(await builtinSmallAt(cluster), { dockerEndpoint: undefined, timeoutMs: 0, signal: new AbortController().signal }, fast);
    t.equal(quiet.healthy, false, 'labHealth reports without throwing');
    t.match(quiet.text, /^etcd: degraded — etcd-02 is down; quorum kept \(2 of 3 members up\)$/m);

    // The member's machine was powered off by `cclab kill`: its check says so and how to bring it back.
    const small = await builtinSmallAt(cluster);
    const killed = await labHealth(small, { dockerEndpoint: undefined, timeoutMs: 0, signal: new AbortController().signal, poweredOff: { 'etcd-02': '2026-12-03T07:00:00.000Z' } }, fast);
    t.equal(killed.healthy, false);
    t.match(killed.text, /^✗ etcd member etcd-02 .*\n {4}hint: etcd-02 was powered off by `cclab kill` at 2026-12-03T07:00:00\.000Z; `cclab up small` brings it back$/m);
    t.match(killed.json, { etcd: { verdict: 'degraded', reason: 'etcd-02 is down; quorum kept (2 of 3 members up)' } });
    t.notMatch(killed.text, /etcd member etcd-01 .*\n {4}hint: .*cclab kill/, 'machines still running are not said to be killed');
  });
});

/** The built-in small lab with its members replaced by the local cluster's (names and URLs). */
async function builtinSmallAt(cluster: EtcdCluster): Promise<Lab> {
  const d = await loadBuiltinLab('small');
  const lab = resolveLab({ document: d.document, source: d.source }).lab;
  return {
    ...lab,
    machines: lab.machines.map((m) => ({ ...m, fleet: false })),
    etcd: {
      ...lab.etcd,
      members: cluster.members.map((m, i) => ({ ...lab.etcd.members[i]!, name: m.name, clientUrl: m.clientUrl, peerUrl: m.peerUrl })),
    },
  };
}
