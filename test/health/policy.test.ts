/**
 * The pure judgement of health observations, with canned answers shaped like etcd's, the v2
 * proxy's, fleet's registry and Docker's (as seen from real processes in the other health tests).
 */

import t from 'tap';
import { etcdVerdict, judgeEtcd, parseMemberList } from '../../src/health/checks/etcd.js';
import { judgeFleet, parseFleetRegistry, readRegistry } from '../../src/health/checks/fleet.js';
import { judgeProxy } from '../../src/health/checks/proxy.js';
import { judgeDocker } from '../../src/health/checks/docker.js';
import { judge } from '../../src/health/policy.js';
import { formatHuman, formatHealthJson } from '../../src/health/report.js';
import type { EtcdTargets, FleetTargets, HealthTargets } from '../../src/health/targets.js';
import type { Fetched, MemberObservation } from '../../src/health/types.js';

const answer = (status: number, body: string | object): Fetched => ({
  ok: true,
  status,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const refused: Fetched = { ok: false, kind: 'refused', error: 'connection refused' };
const timedOut: Fetched = { ok: false, kind: 'timeout', error: 'timed out after 2s' };

const ip = (n: number) => `192.168.57.10${n}`;
const members = [1, 2, 3].map((n) => ({
  name: `etcd-0${n}`,
  clientUrl: `http://${ip(n)}:2379`,
  peerUrl: `http://${ip(n)}:2380`,
}));
const memberList = (list = members) => ({
  members: list.map((m, i) => ({ id: `id${i}`, name: m.name, peerURLs: [m.peerUrl], clientURLs: [m.clientUrl] })),
});

const healthy = (url: string, list: object = memberList()): MemberObservation => ({
  url,
  health: answer(200, { health: 'true' }),
  version: answer(200, { etcdserver: '3.4.23', etcdcluster: '3.4.0' }),
  members: answer(200, list),
});
const noQuorum = (url: string): MemberObservation => ({
  url,
  health: answer(503, { health: 'false' }),
  version: answer(200, { etcdserver: '3.4.23', etcdcluster: '3.4.0' }),
  members: answer(200, memberList()),
});
const down = (url: string, f: Fetched = refused): MemberObservation => ({ url, health: f, version: f, members: f });

const labEtcd: EtcdTargets = { mode: 'members', members };
const urls = members.map((m) => m.clientUrl);

t.test('etcd, lab members', async (t) => {
  t.test('all healthy', async (t) => {
    const r = judgeEtcd(labEtcd, urls.map((u) => healthy(u)));
    t.same(r.verdict, { verdict: 'healthy', expected: 3, down: [], noQuorum: [] });
    t.same(
      r.checks.map((c) => `${c.ok} ${c.name}: ${c.observed}`),
      [
        'true etcd member etcd-01 (http://192.168.57.101:2379): healthy, etcd 3.4.23',
        'true etcd member etcd-02 (http://192.168.57.102:2379): healthy, etcd 3.4.23',
        'true etcd member etcd-03 (http://192.168.57.103:2379): healthy, etcd 3.4.23',
        'true etcd member list: 3 members: etcd-01, etcd-02, etcd-03',
      ],
    );
  });

  t.test('one member refuses: degraded, naming it, with a hint', async (t) => {
    const r = judgeEtcd(labEtcd, [healthy(urls[0]!), down(urls[1]!), healthy(urls[2]!)]);
    t.equal(r.verdict.verdict, 'degraded');
    t.equal(r.verdict.reason, 'etcd-02 is down; quorum kept (2 of 3 members up)');
    t.same(r.verdict.down, ['etcd-02']);
    t.match(r.checks[1], { ok: false, observed: 'connection refused', hint: 'nothing listens on 192.168.57.102:2379: is etcd on etcd-02 running?' });
  });

  t.test('a member that times out gets a network hint', async (t) => {
    const r = judgeEtcd(labEtcd, [healthy(urls[0]!), healthy(urls[1]!), down(urls[2]!, timedOut)]);
    t.equal(r.verdict.reason, 'etcd-03 is down; quorum kept (2 of 3 members up)');
    t.match(r.checks[2], { observed: 'timed out after 2s', hint: /no answer from 192\.168\.57\.103:2379: is the machine up/ });
  });

  t.test('two down, the survivor answers 503: unavailable', async (t) => {
    const r = judgeEtcd(labEtcd, [noQuorum(urls[0]!), down(urls[1]!), down(urls[2]!)]);
    t.equal(r.verdict.verdict, 'unavailable');
    t.equal(r.verdict.reason, 'no quorum (2 of 3 members down)');
    t.same(r.verdict.noQuorum, ['etcd-01']);
    t.match(r.checks[0], { ok: false, observed: '/health 503 {"health":"false"}', hint: /has no quorum/ });
  });

  t.test('two down while the survivor still says healthy: unavailable (a majority is down)', async (t) => {
    const r = judgeEtcd(labEtcd, [healthy(urls[0]!), down(urls[1]!), down(urls[2]!)]);
    t.equal(r.verdict.verdict, 'unavailable');
    t.equal(r.verdict.reason, 'no quorum (2 of 3 members down)');
  });

  t.test('every member answers 503', async (t) => {
    const r = judgeEtcd(labEtcd, urls.map(noQuorum));
    t.equal(r.verdict.verdict, 'unavailable');
    t.equal(r.verdict.reason, 'no quorum (every member answers /health with 503)');
  });

  t.test('nothing answers', async (t) => {
    const r = judgeEtcd(labEtcd, urls.map((u) => down(u)));
    t.equal(r.verdict.reason, 'no quorum (3 of 3 members down)');
    t.match(r.checks[3], { name: 'etcd member list', ok: false, observed: 'no member answered /v2/members' });
  });

  t.test('v2 API off: the member list says how to enable it', async (t) => {
    const off = (u: string): MemberObservation => ({ ...healthy(u), members: answer(404, '404 page not found\n') });
    const r = judgeEtcd(labEtcd, urls.map(off));
    t.equal(r.verdict.verdict, 'degraded');
    t.match(r.checks[3], { ok: false, observed: '/v2/members: 404 404 page not found', hint: /--enable-v2=true/ });
  });

  t.test('a member list with a member not started and one from elsewhere', async (t) => {
    const list = {
      members: [
        ...memberList().members.slice(0, 2),
        { id: 'x', name: '', peerURLs: ['http://192.168.57.103:2380'], clientURLs: [] },
        { id: 'y', name: 'old-01', peerURLs: ['http://192.168.57.109:2380'], clientURLs: ['http://192.168.57.109:2379'] },
      ],
    };
    const r = judgeEtcd(labEtcd, [healthy(urls[0]!, list), healthy(urls[1]!, list), down(urls[2]!)]);
    const check = r.checks[3]!;
    t.equal(check.ok, false);
    t.equal(
      check.observed,
      'etcd-03 is not in the member list; a member with peer URL http://192.168.57.103:2380 was added but has not started; unexpected member old-01 (peer http://192.168.57.109:2380)',
    );
    t.equal(r.verdict.reason, 'etcd-03 is down; quorum kept (2 of 3 members up)');
  });

  t.test('a member that runs but is not in the list (a cluster of its own)', async (t) => {
    const two = memberList(members.slice(0, 2));
    const alone = memberList(members.slice(2));
    const r = judgeEtcd(labEtcd, [healthy(urls[0]!, two), healthy(urls[1]!, two), healthy(urls[2]!, alone)]);
    t.equal(r.verdict.verdict, 'degraded');
    t.equal(r.verdict.reason, 'etcd-03 is not in the member list; quorum kept (2 of 3 members up)');
  });

  t.test('something other than etcd answers', async (t) => {
    const other: MemberObservation = { url: urls[1]!, health: answer(404, 'Not Found'), version: answer(404, 'Not Found'), members: answer(404, 'Not Found') };
    const r = judgeEtcd(labEtcd, [healthy(urls[0]!), other, healthy(urls[2]!)]);
    t.match(r.checks[1], { ok: false, observed: '/health answered 404 Not Found', hint: /not an etcd client URL/ });
    t.equal(r.verdict.reason, 'etcd-02 is down; quorum kept (2 of 3 members up)');
  });
});

t.test('etcd, --endpoints', async (t) => {
  const local = [1, 2, 3].map((n) => ({ name: `m${n}`, clientUrl: `http://127.0.0.1:2${n}379`, peerUrl: `http://127.0.0.1:2${n}380` }));
  const list = memberList(local);
  const endpoints = local.map((m) => m.clientUrl);

  t.test('names come from the member list; the stopped member is named', async (t) => {
    const r = judgeEtcd({ mode: 'endpoints', endpoints, expectMembers: 3 }, [healthy(endpoints[0]!, list), down(endpoints[1]!), healthy(endpoints[2]!, list)]);
    t.equal(r.verdict.verdict, 'degraded');
    t.equal(r.verdict.reason, 'm2 is down; quorum kept (2 of 3 members up)');
    t.equal(r.checks[1]!.name, 'etcd member m2 (http://127.0.0.1:22379)');
    t.equal(r.checks[1]!.hint, 'nothing listens on 127.0.0.1:22379: is etcd on m2 running?');
  });

  t.test('a count that does not match --expect-members', async (t) => {
    const two = memberList(local.slice(0, 2));
    const r = judgeEtcd({ mode: 'endpoints', endpoints: endpoints.slice(0, 2), expectMembers: 3 }, [healthy(endpoints[0]!, two), healthy(endpoints[1]!, two)]);
    t.match(r.checks[2], { ok: false, observed: '2 members, expected 3', hint: /never joined/ });
    t.equal(r.verdict.verdict, 'degraded');
    t.equal(r.verdict.reason, '2 members, expected 3');
  });

  t.test('an endpoint that is not a member is named by its URL', async (t) => {
    const r = judgeEtcd({ mode: 'endpoints', endpoints: ['http://127.0.0.1:9999'], expectMembers: undefined }, [down('http://127.0.0.1:9999')]);
    t.equal(r.checks[0]!.name, 'etcd endpoint http://127.0.0.1:9999');
    t.equal(r.verdict.verdict, 'unavailable');
    t.equal(r.verdict.reason, 'no quorum (1 of 1 members down)');
  });

  t.test('fewer endpoints than members, none answers', async (t) => {
    const r = judgeEtcd({ mode: 'endpoints', endpoints: [endpoints[0]!], expectMembers: 3 }, [down(endpoints[0]!)]);
    t.equal(r.verdict.reason, 'no endpoint answers (http://127.0.0.1:21379 is down)');
  });
});

t.test('etcdVerdict: quorum arithmetic', async (t) => {
  const rows = (...states: ('up' | 'down' | 'no-quorum' | 'missing')[]) => states.map((state, i) => ({ label: `m${i + 1}`, state }));
  t.equal(etcdVerdict(5, rows('up', 'up', 'up', 'down', 'down'), undefined).verdict, 'degraded');
  t.equal(etcdVerdict(5, rows('up', 'up', 'down', 'down', 'down'), undefined).verdict, 'unavailable');
  t.equal(etcdVerdict(4, rows('up', 'up', 'up', 'down'), undefined).verdict, 'degraded');
  t.equal(etcdVerdict(4, rows('up', 'up', 'down', 'down'), undefined).reason, 'no quorum (2 of 4 members down)', 'a quorum of 4 is 3');
  t.equal(etcdVerdict(2, rows('up', 'down'), undefined).verdict, 'unavailable', 'a quorum of 2 is 2');
  t.equal(etcdVerdict(1, rows('up'), undefined).verdict, 'healthy');
  t.equal(etcdVerdict(1, rows('up'), 'list problem').reason, 'list problem');
  t.equal(etcdVerdict(3, rows('up', 'no-quorum', 'up'), undefined).reason, 'm2 has no quorum; quorum kept (2 of 3 members up)');
  t.equal(etcdVerdict(3, rows('up', 'up', 'missing'), undefined).reason, 'm3 is not in the member list; quorum kept (2 of 3 members up)');
  t.equal(etcdVerdict(5, rows('up', 'up', 'up', 'down', 'down'), undefined).reason, 'm4 and m5 are down; quorum kept (3 of 5 members up)');
});

t.test('parseMemberList', async (t) => {
  t.same(parseMemberList(JSON.stringify(memberList(members.slice(0, 1))) + '\n'), [
    { id: 'id0', name: 'etcd-01', peerURLs: ['http://192.168.57.101:2380'], clientURLs: ['http://192.168.57.101:2379'] },
  ]);
  t.equal(parseMemberList('404 page not found'), undefined);
  t.equal(parseMemberList('{"members":"no"}'), undefined);
});

t.test('proxies', async (t) => {
  const direct = { machine: 'worker-01', url: 'http://192.168.57.111:2379', via: 'direct' as const };
  const ssh = { machine: 'worker-02', url: 'http://127.0.0.1:2379', via: 'ssh' as const };
  const config = (n: number) => answer(200, { endpoints: Array.from({ length: n }, (_, i) => `http://${ip(i + 1)}:2379`) });

  t.match(judgeProxy(direct, { config: config(3), health: answer(200, { health: 'true' }) }), {
    ok: true,
    name: 'etcd proxy worker-01 (http://192.168.57.111:2379)',
    observed: '3 endpoints, /health true',
  });

  const dead = judgeProxy(ssh, { config: answer(200, { endpoints: [] }), health: answer(502, { message: 'httpproxy: unable to get response from 3 endpoint(s)' }) });
  t.equal(dead.ok, false);
  t.equal(dead.name, 'etcd proxy worker-02 (http://127.0.0.1:2379 via ssh)');
  t.equal(dead.observed, 'no endpoints (reaches no member), /health 502 httpproxy: unable to get response from 3 endpoint(s)');
  t.match(dead.hint, /^the proxy on worker-02 reaches no healthy member/);

  const member = judgeProxy(direct, { config: answer(404, '404 page not found\n'), health: answer(200, { health: 'true' }) });
  t.equal(member.observed, 'not a proxy (/v2/config/local/proxy: 404), /health true');
  t.match(member.hint, /is not running as a v2 proxy: set proxy on/);

  const sshDown = judgeProxy(ssh, {
    config: { ok: false, kind: 'ssh', error: 'ssh to worker-02 failed: Connection timed out' },
    health: { ok: false, kind: 'ssh', error: 'ssh to worker-02 failed: Connection timed out' },
  });
  t.equal(sshDown.observed, 'ssh to worker-02 failed: Connection timed out');
  t.match(sshDown.hint, /runs curl on worker-02 over SSH: is worker-02 up/);

  t.match(judgeProxy(ssh, { skipped: 'no SSH access to worker-02' }), { ok: true, skipped: true, observed: 'not checked: no SSH access to worker-02' });
});

const node = (id: string, value: object | string | undefined) => ({
  key: `/_coreos.com/fleet/machines/${id}`,
  dir: true,
  ...(value === undefined
    ? {}
    : { nodes: [{ key: `/_coreos.com/fleet/machines/${id}/object`, value: typeof value === 'string' ? value : JSON.stringify(value), ttl: 29 }] }),
});
const registry = (...nodes: object[]) => answer(200, { action: 'get', node: { key: '/_coreos.com/fleet/machines', dir: true, nodes } });
const state = (id: string, publicIp: string, metadata: Record<string, string>) => ({
  ID: id,
  PublicIP: publicIp,
  Metadata: metadata,
  Capabilities: { DISABLE_ENGINE: false },
  Version: '1.0.0',
});
const id = (n: number) => `${n}`.repeat(32);

t.test('fleet registry parsing', async (t) => {
  const parsed = parseFleetRegistry(
    JSON.stringify({
      action: 'get',
      node: { key: '/_coreos.com/fleet/machines', dir: true, nodes: [node(id(1), state(id(1), '192.168.57.111', { role: 'worker' })), node(id(2), undefined), node(id(3), 'not json')] },
    }),
  );
  t.same(parsed, {
    machines: [{ id: id(1), publicIp: '192.168.57.111', metadata: { role: 'worker' }, version: '1.0.0' }],
    invalid: ['33333333…: registration is not fleet\'s JSON'],
  });
  t.same(readRegistry(answer(404, { errorCode: 100, message: 'Key not found', cause: '/_coreos.com', index: 7 })), { kind: 'ok', registry: { machines: [], invalid: [] } });
  t.match(readRegistry(answer(404, '404 page not found\n')), { kind: 'failed', hint: /v2 API is off/ });
  t.match(readRegistry(refused), { kind: 'failed', observed: 'connection refused' });
});

t.test('fleet: machines are matched by address, then by metadata', async (t) => {
  const target: FleetTargets = {
    mode: 'machines',
    registryUrls: [],
    machines: [
      { machine: 'worker-01', ip: '192.168.57.111', metadata: { role: 'worker' } },
      { machine: 'worker-02', ip: '192.168.57.112', metadata: { role: 'worker' } },
      { machine: 'services-01', ip: '192.168.57.121', metadata: { role: 'services' } },
    ],
  };
  const obs = (...nodes: object[]) => ({ url: 'http://192.168.57.101:2379', registry: registry(...nodes) });

  t.test('every machine behind NAT', async (t) => {
    const r = judgeFleet(target, obs(
      node(id(1), state(id(1), '10.0.2.15', { role: 'worker' })),
      node(id(2), state(id(2), '10.0.2.15', { role: 'worker' })),
      node(id(3), state(id(3), '10.0.2.15', { role: 'services' })),
    ));
    t.same(r.checks.map((c) => c.observed), [
      '3 machines registered, expected 3',
      'fleet sees 10.0.2.15 for worker-01',
      'fleet sees 10.0.2.15 for worker-02',
      'fleet sees 10.0.2.15 for services-01',
    ]);
    t.equal(r.checks[0]!.ok, true);
    t.equal(r.verdict.reason, 'fleet sees 10.0.2.15 for worker-01; fleet sees 10.0.2.15 for worker-02; fleet sees 10.0.2.15 for services-01');
  });

  t.test('a wrong address that is not the NAT one is also a public_ip problem', async (t) => {
    const r = judgeFleet(target, obs(
      node(id(1), state(id(1), '192.168.57.111', { role: 'worker' })),
      node(id(2), state(id(2), '172.17.0.1', { role: 'worker' })),
      node(id(3), state(id(3), '192.168.57.121', { role: 'services' })),
    ));
    t.match(r.checks[2], { ok: false, observed: 'fleet sees 172.17.0.1 for worker-02', hint: /^fleet public_ip is not set: fleet on worker-02 published 172\.17\.0\.1; set/ });
  });

  t.test('a NAT registration with unexpected metadata: an extra and a missing machine', async (t) => {
    const r = judgeFleet(target, obs(
      node(id(1), state(id(1), '192.168.57.111', { role: 'worker' })),
      node(id(2), state(id(2), '10.0.2.15', {})),
      node(id(3), state(id(3), '192.168.57.121', { role: 'services' })),
    ));
    t.match(r.checks[0], { ok: false, observed: '3 machines registered, expected 3; unexpected: 22222222… at 10.0.2.15 (-)', hint: /fleet public_ip is not set on a machine that published 10\.0\.2\.15/ });
    t.match(r.checks[2], { ok: false, observed: 'not registered' });
    t.equal(r.verdict.reason, 'worker-02 is not registered; 1 unexpected machine');
  });

  t.test('the registry cannot be read', async (t) => {
    const r = judgeFleet(target, { url: undefined, registry: refused });
    t.same(r.checks.map((c) => [c.name, c.ok, c.observed]), [['fleet registry', false, 'connection refused']]);
    t.same(r.verdict, { verdict: 'unhealthy', reason: 'the registry cannot be read: connection refused', registered: undefined, expected: 3 });
  });
});

t.test('fleet count mode: NAT addresses are named', async (t) => {
  const r = judgeFleet(
    { mode: 'count', expectCount: 2, metadata: {}, registryUrls: [] },
    { url: 'http://127.0.0.1:2379', registry: registry(node(id(1), state(id(1), '10.0.2.15', {})), node(id(2), state(id(2), '10.0.2.15', {}))) },
  );
  t.match(r.checks[0], { ok: false, observed: 'fleet sees 10.0.2.15 for 11111111…, 22222222…', hint: /fleet public_ip is not set/ });
});

t.test('docker', async (t) => {
  const target = { endpoint: 'tcp://127.0.0.1:2375', machine: 'core-01' };
  const version = answer(200, { Version: '20.10.24', ApiVersion: '1.41' });
  t.match(judgeDocker(target, { ping: answer(200, 'OK'), version }), {
    check: { ok: true, name: 'docker on core-01 (tcp://127.0.0.1:2375)', observed: 'ping OK, Docker 20.10.24 (API 1.41)' },
    verdict: { verdict: 'healthy', version: '20.10.24', apiVersion: '1.41' },
  });
  t.match(judgeDocker(target, { ping: answer(404, 'page not found'), version: answer(404, 'page not found') }), {
    check: { ok: false, observed: '/_ping answered 404 page not found', hint: /not the Docker API/ },
    verdict: { verdict: 'unhealthy' },
  });
  t.match(judgeDocker(target, { ping: { ok: false, kind: 'reset', error: 'connection closed before an answer' }, version: refused }), {
    check: { ok: false, hint: /the forwarded port accepts connections but nothing answers behind it: is docker running on core-01\?/ },
    verdict: { verdict: 'unreachable' },
  });
  t.match(judgeDocker({ endpoint: 'tcp://127.0.0.1:2375', machine: undefined }, { ping: answer(200, 'OK'), version: answer(200, '{}') }), {
    check: { ok: false, name: 'docker (tcp://127.0.0.1:2375)', observed: 'ping OK, but /version: 200 {}' },
  });
});

t.test('report: the human and JSON forms of a whole lab (output contract)', async (t) => {
  const targets: HealthTargets = {
    etcd: labEtcd,
    proxies: [{ machine: 'worker-01', url: 'http://127.0.0.1:2379', via: 'ssh' }],
    fleet: {
      mode: 'machines',
      registryUrls: urls,
      machines: [
        { machine: 'worker-01', ip: '192.168.57.111', metadata: { role: 'worker' } },
        { machine: 'worker-02', ip: '192.168.57.112', metadata: { role: 'worker' } },
      ],
    },
    docker: { endpoint: 'tcp://127.0.0.1:2375', machine: 'core-01' },
  };
  const report = judge(targets, {
    members: [healthy(urls[0]!), down(urls[1]!), healthy(urls[2]!)],
    proxies: [{ config: answer(200, { endpoints: urls }), health: answer(200, { health: 'true' }) }],
    fleet: {
      url: urls[0]!,
      registry: registry(node(id(1), state(id(1), '192.168.57.111', { role: 'worker' })), node(id(2), state(id(2), '10.0.2.15', { role: 'worker' }))),
    },
    docker: { ping: answer(200, 'OK'), version: answer(200, { Version: '20.10.24', ApiVersion: '1.41' }) },
  });
  t.equal(report.healthy, false);
  t.equal(
    formatHuman(report),
    [
      '✓ etcd member etcd-01 (http://192.168.57.101:2379): healthy, etcd 3.4.23',
      '✗ etcd member etcd-02 (http://192.168.57.102:2379): connection refused',
      '    hint: nothing listens on 192.168.57.102:2379: is etcd on etcd-02 running?',
      '✓ etcd member etcd-03 (http://192.168.57.103:2379): healthy, etcd 3.4.23',
      '✓ etcd member list: 3 members: etcd-01, etcd-02, etcd-03',
      '✓ etcd proxy worker-01 (http://127.0.0.1:2379 via ssh): 3 endpoints, /health true',
      '✓ fleet registry (http://192.168.57.101:2379): 2 machines registered, expected 2',
      '✓ fleet machine worker-01 (192.168.57.111): registered as 11111111…, role=worker',
      '✗ fleet machine worker-02 (192.168.57.112): fleet sees 10.0.2.15 for worker-02',
      "    hint: fleet public_ip is not set: fleet on worker-02 published 10.0.2.15 (10.0.2.15 is VirtualBox's NAT address); set coreos.fleet.public_ip (FLEET_PUBLIC_IP) to 192.168.57.112",
      '✓ docker on core-01 (tcp://127.0.0.1:2375): ping OK, Docker 20.10.24 (API 1.41)',
      '',
      'etcd: degraded — etcd-02 is down; quorum kept (2 of 3 members up)',
      'etcd proxies: healthy',
      'fleet: unhealthy — fleet sees 10.0.2.15 for worker-02',
      'docker: healthy',
      '',
    ].join('\n'),
  );
  const doc = JSON.parse(formatHealthJson(report));
  t.same(Object.keys(doc), ['healthy', 'etcd', 'proxies', 'fleet', 'docker', 'checks']);
  t.same(doc.etcd, { verdict: 'degraded', reason: 'etcd-02 is down; quorum kept (2 of 3 members up)', expected: 3, down: ['etcd-02'], noQuorum: [] });
  t.same(doc.fleet, { verdict: 'unhealthy', reason: 'fleet sees 10.0.2.15 for worker-02', registered: 2, expected: 2 });
  t.same(doc.checks[1], {
    id: 'etcd-member:etcd-02',
    group: 'etcd',
    name: 'etcd member etcd-02 (http://192.168.57.102:2379)',
    ok: false,
    observed: 'connection refused',
    hint: 'nothing listens on 192.168.57.102:2379: is etcd on etcd-02 running?',
  });
  t.same(doc.checks.map((c: { id: string }) => c.id), [
    'etcd-member:etcd-01',
    'etcd-member:etcd-02',
    'etcd-member:etcd-03',
    'etcd-member-list',
    'etcd-proxy:worker-01',
    'fleet-registry',
    'fleet-machine:worker-01',
    'fleet-machine:worker-02',
    'docker',
  ]);
});
