/** What a check run looks at: the targets of the four built-in labs and of --endpoints; durations. */

import t from 'tap';
import { UsageError } from '../../src/errors.js';
import { formatDuration, parseDuration } from '../../src/health/duration.js';
import { dockerHttpBase, endpointTargets, labTargets } from '../../src/health/targets.js';
import { loadBuiltinLab } from '../../src/lab/load.js';
import { resolveLab } from '../../src/lab/resolve.js';
import type { Lab } from '../../src/lab/types.js';

async function builtin(architecture: string): Promise<Lab> {
  const d = await loadBuiltinLab(architecture);
  return resolveLab({ document: d.document, source: d.source, overrides: { metadata: { zone: 'a' } } }).lab;
}

t.test('every built-in lab maps to its members, proxies and fleet machines', async (t) => {
  for (const architecture of ['laptop', 'small', 'dev', 'production']) {
    const lab = await builtin(architecture);
    const targets = labTargets(lab, 'tcp://127.0.0.1:2375');
    const port = lab.etcd.clientPort;

    if (lab.etcd.members.length === 0) t.equal(targets.etcd, undefined, `${architecture}: no etcd`);
    else {
      t.same(
        targets.etcd,
        { mode: 'members', members: lab.etcd.members.map((m) => ({ name: m.name, clientUrl: m.clientUrl, peerUrl: m.peerUrl })) },
        `${architecture}: every member by name, client and peer URL`,
      );
    }

    const proxies = lab.machines.filter((m) => m.etcd === 'proxy');
    t.same(
      targets.proxies,
      proxies.map((m) =>
        m.etcdListen === 'loopback'
          ? { machine: m.name, url: `http://127.0.0.1:${port}`, via: 'ssh' }
          : { machine: m.name, url: `http://${m.ip}:${port}`, via: 'direct' },
      ),
      `${architecture}: proxies on loopback through ssh, others directly`,
    );

    const fleet = lab.machines.filter((m) => m.fleet);
    if (fleet.length === 0) t.equal(targets.fleet, undefined, `${architecture}: no fleet`);
    else {
      t.same(targets.fleet, {
        mode: 'machines',
        machines: fleet.map((m) => ({ machine: m.name, ip: m.ip, metadata: m.fleetMetadata })),
        registryUrls: lab.etcd.members.map((m) => m.clientUrl),
      });
      t.ok(targets.fleet?.mode === 'machines' && targets.fleet.machines.every((m) => m.metadata.zone === 'a'), `${architecture}: user metadata expected`);
    }
    t.same(targets.docker, { endpoint: 'tcp://127.0.0.1:2375', machine: lab.machines.find((m) => m.dockerTcp)?.name });
    t.equal(labTargets(lab).docker, undefined, 'no Docker endpoint, no Docker check');
  }
});

t.test('dev: workers reach etcd through loopback-only proxies (checked over ssh)', async (t) => {
  const targets = labTargets(await builtin('dev'));
  t.ok(targets.proxies.length > 0);
  t.ok(targets.proxies.every((p) => p.via === 'ssh' && p.url === 'http://127.0.0.1:2379' && p.machine.startsWith('worker-')));
  t.match(targets.fleet, { mode: 'machines', machines: [{ metadata: { role: 'etcd' } }] });
});

t.test('production: proxies listen on all addresses (checked directly)', async (t) => {
  const lab = await builtin('production');
  const targets = labTargets(lab);
  t.ok(targets.proxies.length > 0);
  t.ok(targets.proxies.every((p) => p.via === 'direct' && p.url === `http://${lab.machines.find((m) => m.name === p.machine)!.ip}:2379`));
});

t.test('endpointTargets', async (t) => {
  t.same(
    endpointTargets({
      endpoints: ['http://127.0.0.1:2379/', 'http://127.0.0.1:2479'],
      expectMembers: 3,
      expectFleet: 2,
      fleetMetadata: { role: 'worker' },
      dockerHost: 'tcp://127.0.0.1:2375',
    }),
    {
      etcd: { mode: 'endpoints', endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:2479'], expectMembers: 3 },
      proxies: [],
      fleet: { mode: 'count', expectCount: 2, metadata: { role: 'worker' }, registryUrls: ['http://127.0.0.1:2379', 'http://127.0.0.1:2479'] },
      docker: { endpoint: 'tcp://127.0.0.1:2375', machine: undefined },
    },
  );
  t.same(endpointTargets({ endpoints: [], dockerHost: 'tcp://127.0.0.1:2375' }), {
    etcd: undefined,
    proxies: [],
    fleet: undefined,
    docker: { endpoint: 'tcp://127.0.0.1:2375', machine: undefined },
  });
  t.equal(dockerHttpBase('tcp://127.0.0.1:2375'), 'http://127.0.0.1:2375');
});

t.test('durations', async (t) => {
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('2m'), 120_000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('1.5s'), 1500);
  t.equal(parseDuration('10'), 10_000);
  t.equal(parseDuration(' 10 '), 10_000);
  t.equal(parseDuration(0), 0);
  t.equal(parseDuration(2.5), 2500);
  t.equal(parseDuration('1h'), 3_600_000);
  for (const bad of ['', 'soon', '-1', '10 s', 's', '5d', '1m 30s']) {
    t.throws(() => parseDuration(bad), UsageError, `"${bad}" is refused`);
  }
  t.throws(() => parseDuration('x', '--wait-timeout'), { message: '--wait-timeout: "x" is not a duration' });
  t.throws(() => parseDuration(-1), UsageError);
  t.equal(formatDuration(250), '250ms');
  t.equal(formatDuration(2000), '2s');
  t.equal(formatDuration(1500), '1.5s');
  t.equal(formatDuration(90_000), '1m30s');
  t.equal(formatDuration(120_000), '2m');
});
