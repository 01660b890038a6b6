/**
 * etcd member and proxy checks against real etcd processes on 127.0.0.1: a one-member cluster, a
 * three-member cluster whose members are stopped and started by PID, and v2 proxies (reached
 * directly, and through a RemoteExec that runs curl locally — the SSH path without SSH).
 */

import t from 'tap';
import { execFile } from 'node:child_process';
import { fetchHttpGet } from '../../src/health/http.js';
import { formatHuman } from '../../src/health/report.js';
import { runHealthChecks, type HealthRunOptions } from '../../src/health/run.js';
import type { HealthTargets, ProxyTarget } from '../../src/health/targets.js';
import type { HealthReport } from '../../src/health/types.js';
import type { ExecResult, RemoteExec } from '../../src/transport.js';
import { startEtcdCluster, startEtcdProxy, type EtcdCluster } from '../helpers/etcd.js';
import { freePort, requireBinaries } from '../helpers/ports.js';

/** Runs argv on this machine, as the real RemoteExec runs it on a lab machine; records each call. */
function localExec(): RemoteExec & { calls: { machine: string; argv: string[] }[] } {
  const calls: { machine: string; argv: string[] }[] = [];
  return {
    calls,
    exec(machine, argv, timeoutMs, signal) {
      calls.push({ machine, argv });
      return new Promise<ExecResult>((resolve, reject) => {
        execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
          if (err && typeof err.code !== 'number') return reject(err);
          resolve({ exitCode: err ? (err.code as number) : 0, stdout, stderr });
        });
      });
    },
  };
}

function memberTargets(cluster: EtcdCluster, proxies: ProxyTarget[] = []): HealthTargets {
  return {
    etcd: { mode: 'members', members: cluster.members.map((m) => ({ name: m.name, clientUrl: m.clientUrl, peerUrl: m.peerUrl })) },
    proxies,
    fleet: undefined,
    docker: undefined,
  };
}

/** Expecting health: a generous deadline (the run ends as soon as all is healthy). */
const untilHealthy: HealthRunOptions = { timeoutMs: 20_000, pollIntervalMs: 100 };
/** Expecting a failure: the run polls until this deadline, then reports the last attempt. */
const briefly: HealthRunOptions = { timeoutMs: 1000, pollIntervalMs: 100 };

const check = (targets: HealthTargets, opts: HealthRunOptions, remote?: RemoteExec): Promise<HealthReport> =>
  runHealthChecks(targets, opts, { http: fetchHttpGet, remote });

if (requireBinaries(t, ['etcd', 'curl'])) {
  const [single, trio] = await Promise.all([
    startEtcdCluster(t, ['etcd-01']),
    startEtcdCluster(t, ['etcd-01', 'etcd-02', 'etcd-03']),
  ]);

  t.test('one member: healthy', async (t) => {
    const report = await check(memberTargets(single), untilHealthy);
    const text = formatHuman(report);
    t.equal(report.healthy, true, text);
    t.equal(report.etcd?.verdict, 'healthy');
    t.match(text, new RegExp(`^✓ etcd member etcd-01 \\(${single.members[0]!.clientUrl}\\): healthy, etcd 3\\.\\d+\\.\\d+$`, 'm'));
    t.match(text, /^✓ etcd member list: 1 member: etcd-01$/m);
    t.match(text, /^etcd: healthy$/m);
  });

  t.test('three members: healthy', async (t) => {
    const report = await check(memberTargets(trio), untilHealthy);
    t.equal(report.healthy, true, formatHuman(report));
    t.equal(report.etcd?.verdict, 'healthy');
    t.same(
      report.checks.map((c) => [c.id, c.ok]),
      [
        ['etcd-member:etcd-01', true],
        ['etcd-member:etcd-02', true],
        ['etcd-member:etcd-03', true],
        ['etcd-member-list', true],
      ],
    );
    t.match(formatHuman(report), /^✓ etcd member list: 3 members: (etcd-0[123], ){2}etcd-0[123]$/m);
  });

  t.test('the member list must hold exactly the expected names and peer URLs', async (t) => {
    const spare = await freePort();
    const targets = memberTargets(trio);
    if (targets.etcd?.mode !== 'members') throw new Error('members mode expected');
    targets.etcd.members[1]!.peerUrl = `http://127.0.0.1:${spare}`;
    targets.etcd.members.push({ name: 'etcd-04', clientUrl: `http://127.0.0.1:${spare}`, peerUrl: `http://127.0.0.1:${spare}` });
    const report = await check(targets, briefly);
    const list = report.checks.find((c) => c.id === 'etcd-member-list')!;
    t.equal(list.ok, false);
    t.match(list.observed, `etcd-02 has peer URL ${trio.members[1]!.peerUrl}, expected http://127.0.0.1:${spare}`);
    t.match(list.observed, 'etcd-04 is not in the member list');
    t.match(list.hint, /initial_advertise_peer_urls/);
    t.equal(report.etcd?.verdict, 'degraded');
    t.equal(report.etcd?.reason, 'etcd-04 is down; quorum kept (3 of 4 members up)');
  });

  t.test('one of three members stopped: degraded, naming it', async (t) => {
    await trio.members[1]!.stop();
    await trio.waitHealthy(); // the survivors keep (or re-elect) a leader
    const report = await check(memberTargets(trio), briefly);
    const text = formatHuman(report);
    t.equal(report.healthy, false);
    t.equal(report.etcd?.verdict, 'degraded');
    t.same(report.etcd?.down, ['etcd-02']);
    t.match(text, /^etcd: degraded — etcd-02 is down; quorum kept \(2 of 3 members up\)$/m);
    t.match(text, new RegExp(`^✗ etcd member etcd-02 \\(${trio.members[1]!.clientUrl}\\): connection refused\\n    hint: nothing listens on 127\\.0\\.0\\.1:${trio.members[1]!.clientPort}: is etcd on etcd-02 running\\?$`, 'm'));
    t.match(text, /^✓ etcd member etcd-01 /m);
    t.match(text, /^✓ etcd member etcd-03 /m);
    // The survivors still list all three members.
    t.match(text, /^✓ etcd member list: 3 members/m);
  });

  t.test('two of three members stopped: unavailable, no quorum', async (t) => {
    await trio.members[2]!.stop();
    const report = await check(memberTargets(trio), briefly);
    t.equal(report.healthy, false);
    t.equal(report.etcd?.verdict, 'unavailable');
    t.match(formatHuman(report), /^etcd: unavailable — no quorum \(2 of 3 members down\)$/m);
    t.same(report.etcd?.down, ['etcd-02', 'etcd-03']);
  });

  t.test('polling notices the cluster coming back', async (t) => {
    const run = check(memberTargets(trio), untilHealthy);
    await Promise.all([trio.members[1]!.start(), trio.members[2]!.start()]);
    const report = await run;
    t.equal(report.healthy, true, formatHuman(report));
    t.equal(report.etcd?.verdict, 'healthy');
  });

  t.test('a proxy in front of the cluster, reached directly and over "ssh"', async (t) => {
    const proxy = await startEtcdProxy(t, trio);
    const remote = localExec();
    const report = await check(
      memberTargets(trio, [
        { machine: 'worker-01', url: proxy.url, via: 'direct' },
        { machine: 'worker-02', url: proxy.url, via: 'ssh' },
      ]),
      untilHealthy,
      remote,
    );
    const text = formatHuman(report);
    t.equal(report.healthy, true, text);
    t.equal(report.proxies?.verdict, 'healthy');
    t.match(text, new RegExp(`^✓ etcd proxy worker-01 \\(${proxy.url}\\): 3 endpoints, /health true$`, 'm'));
    t.match(text, new RegExp(`^✓ etcd proxy worker-02 \\(${proxy.url} via ssh\\): 3 endpoints, /health true$`, 'm'));
    t.ok(remote.calls.length >= 2, 'curl ran through RemoteExec');
    t.ok(remote.calls.every((c) => c.machine === 'worker-02'));
    t.same([...new Set(remote.calls.map((c) => c.argv.at(-1)))].sort(), [`${proxy.url}/health`, `${proxy.url}/v2/config/local/proxy`]);
    t.same(remote.calls[0]!.argv.slice(0, 8), ['curl', '-sS', '-m', '2', '--max-filesize', '4194304', '-w', '\\n%{http_code}']);
  });

  t.test('a proxy over "ssh" where nothing listens: connection refused, with a hint', async (t) => {
    const port = await freePort();
    const report = await check(
      memberTargets(trio, [{ machine: 'worker-03', url: `http://127.0.0.1:${port}`, via: 'ssh' }]),
      briefly,
      localExec(),
    );
    const proxy = report.checks.find((c) => c.id === 'etcd-proxy:worker-03')!;
    t.equal(proxy.ok, false);
    t.equal(proxy.observed, 'connection refused');
    t.equal(proxy.hint, `nothing listens on 127.0.0.1:${port} on worker-03: is the etcd proxy running on worker-03?`);
    t.match(formatHuman(report), /^etcd proxies: unhealthy — worker-03 does not reach the cluster$/m);
    t.equal(report.etcd?.verdict, 'healthy', 'the members themselves are fine');
  });

  t.test('a proxy over "ssh" without SSH access is reported as not checked', async (t) => {
    const report = await check(memberTargets(trio, [{ machine: 'worker-01', url: 'http://127.0.0.1:2379', via: 'ssh' }]), untilHealthy);
    t.equal(report.healthy, true);
    t.match(formatHuman(report), /^- etcd proxy worker-01 \(http:\/\/127\.0\.0\.1:2379 via ssh\): not checked: no SSH access to worker-01$/m);
  });

  t.test('a proxy whose members are down: a clear failure', async (t) => {
    const proxy = await startEtcdProxy(t, single);
    const targets = memberTargets(single, [{ machine: 'worker-01', url: proxy.url, via: 'direct' }]);
    t.equal((await check(targets, untilHealthy)).healthy, true, 'healthy before the member stops');
    await single.members[0]!.stop();
    const report = await check(targets, briefly);
    const text = formatHuman(report);
    const line = report.checks.find((c) => c.id === 'etcd-proxy:worker-01')!;
    t.equal(line.ok, false, text);
    t.match(line.observed, /no endpoints \(reaches no member\)|\/health 50[23]/);
    t.match(line.hint, /the proxy on worker-01 reaches no healthy member/);
    t.equal(report.etcd?.verdict, 'unavailable');
    t.match(text, /^etcd: unavailable — no quorum \(1 of 1 members down\)$/m);
  });
}
