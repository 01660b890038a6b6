/**
 * The runner's polling rules, with an in-memory HttpGet whose answers change from one attempt to
 * the next (what a booting cluster does): concurrency, stop on success, the last attempt reported,
 * deadlines, AbortSignal.
 */

import t from 'tap';
import { InterruptedError } from '../../src/errors.js';
import { HttpFailure } from '../../src/health/http.js';
import { runHealthChecks } from '../../src/health/run.js';
import type { HealthTargets } from '../../src/health/targets.js';
import type { HttpGet, HttpResponse } from '../../src/transport.js';

const A = 'http://10.9.9.1:2379';
const B = 'http://10.9.9.2:2379';
const targets: HealthTargets = {
  etcd: {
    mode: 'members',
    members: [
      { name: 'etcd-01', clientUrl: A, peerUrl: 'http://10.9.9.1:2380' },
      { name: 'etcd-02', clientUrl: B, peerUrl: 'http://10.9.9.2:2380' },
    ],
  },
  proxies: [],
  fleet: undefined,
  docker: undefined,
};
const list = JSON.stringify({
  members: [
    { id: '1', name: 'etcd-01', peerURLs: ['http://10.9.9.1:2380'], clientURLs: [A] },
    { id: '2', name: 'etcd-02', peerURLs: ['http://10.9.9.2:2380'], clientURLs: [B] },
  ],
});

/** Healthy etcd answers; `health` decides each /health answer from the attempt number of that URL. */
function fakeEtcd(health: (url: string, attempt: number) => HttpResponse | Error | Promise<HttpResponse | Error>) {
  const attempts = new Map<string, number>();
  const calls: string[] = [];
  const http: HttpGet = async (url, _timeout, signal) => {
    calls.push(url);
    if (url.endsWith('/version')) return { status: 200, body: '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}' };
    if (url.endsWith('/v2/members')) return { status: 200, body: list };
    const base = url.replace(/\/health$/, '');
    const n = (attempts.get(base) ?? 0) + 1;
    attempts.set(base, n);
    const r = await Promise.race([
      Promise.resolve(health(base, n)),
      new Promise<Error>((resolve) => signal?.addEventListener('abort', () => resolve(new HttpFailure('aborted', 'aborted')))),
    ]);
    if (r instanceof Error) throw r;
    return r;
  };
  return { http, calls, attempts };
}
const ok: HttpResponse = { status: 200, body: '{"health":"true"}' };
const refused = () => new HttpFailure('refused', 'connection refused');

t.test('polls until healthy, then stops at once', async (t) => {
  const etcd = fakeEtcd((url, n) => (url === B && n < 4 ? refused() : ok));
  const report = await runHealthChecks(targets, { timeoutMs: 30_000, pollIntervalMs: 10 }, { http: etcd.http });
  t.equal(report.healthy, true);
  t.equal(etcd.attempts.get(B), 4, 'etcd-02 was asked until it answered');
  const callsAtVerdict = etcd.calls.length;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(etcd.calls.length, callsAtVerdict, 'no request after the verdict');
});

t.test('at the deadline, the last completed attempt of each check is reported', async (t) => {
  const etcd = fakeEtcd((url, n) => (url === B ? new HttpFailure('other', `failure #${n}`) : ok));
  const report = await runHealthChecks(targets, { timeoutMs: 300, pollIntervalMs: 20 }, { http: etcd.http });
  t.equal(report.healthy, false);
  const last = etcd.attempts.get(B)!;
  t.ok(last > 1, 'polled more than once');
  const line = report.checks.find((c) => c.id === 'etcd-member:etcd-02')!;
  // The attempt in flight at the deadline (if any) is dropped; the one before it is reported.
  t.match(line.observed, /^failure #\d+$/);
  t.ok([last, last - 1].includes(Number(line.observed.slice('failure #'.length))), `${line.observed} is the last or the dropped-before-last of ${last}`);
});

t.test('a passing check keeps being polled while others fail (a registration may expire)', async (t) => {
  // etcd-01 is healthy at first, then goes away; etcd-02 never answers: the report shows etcd-01 as it is now.
  const etcd = fakeEtcd((url, n) => (url === B ? refused() : n <= 2 ? ok : refused()));
  const report = await runHealthChecks(targets, { timeoutMs: 300, pollIntervalMs: 20 }, { http: etcd.http });
  t.ok(etcd.attempts.get(A)! > 2);
  t.equal(report.checks.find((c) => c.id === 'etcd-member:etcd-01')!.observed, 'connection refused');
  t.equal(report.etcd?.verdict, 'unavailable');
});

t.test('a deadline of 0 looks exactly once', async (t) => {
  const etcd = fakeEtcd(() => refused());
  const report = await runHealthChecks(targets, { timeoutMs: 0, pollIntervalMs: 10 }, { http: etcd.http });
  t.equal(report.healthy, false);
  t.same([...etcd.attempts.values()], [1, 1]);
});

t.test('a first attempt still running at the deadline is awaited, not replaced by a placeholder', async (t) => {
  const etcd = fakeEtcd((url) => (url === B ? new Promise((r) => setTimeout(() => r(refused()), 150)) : ok));
  const report = await runHealthChecks(targets, { timeoutMs: 20, pollIntervalMs: 10 }, { http: etcd.http });
  t.equal(report.checks.find((c) => c.id === 'etcd-member:etcd-02')!.observed, 'connection refused');
});

t.test('every probe starts at once (a slow one does not hold the others)', async (t) => {
  let release!: () => void;
  const gate = new Promise<HttpResponse>((r) => (release = () => r(ok)));
  const etcd = fakeEtcd(() => gate);
  const run = runHealthChecks(targets, { timeoutMs: 30_000, pollIntervalMs: 10 }, { http: etcd.http });
  await new Promise((r) => setImmediate(r));
  t.same(etcd.calls.filter((u) => u.endsWith('/health')).sort(), [`${A}/health`, `${B}/health`], 'both members asked before any answered');
  release();
  t.equal((await run).healthy, true);
});

t.test('an aborted signal ends the run with InterruptedError and cancels requests', async (t) => {
  const aborted: string[] = [];
  const http: HttpGet = (url, _t, signal) =>
    new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => {
        aborted.push(url);
        reject(new HttpFailure('aborted', 'aborted'));
      });
    });
  const ac = new AbortController();
  const run = runHealthChecks(targets, { timeoutMs: 30_000, signal: ac.signal }, { http });
  setTimeout(() => ac.abort(), 20);
  await t.rejects(run, InterruptedError);
  t.ok(aborted.length >= 2, 'in-flight requests were aborted');

  const before = new AbortController();
  before.abort();
  await t.rejects(runHealthChecks(targets, { timeoutMs: 1000, signal: before.signal }, { http }), InterruptedError);
});

t.test('no targets: healthy, nothing asked', async (t) => {
  const report = await runHealthChecks({ etcd: undefined, proxies: [], fleet: undefined, docker: undefined }, { timeoutMs: 1000 }, {
    http: () => Promise.reject(new Error('no request expected')),
  });
  t.same(report, { healthy: true, checks: [] });
});
