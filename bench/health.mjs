/**
 * Benchmark 3, health checks against a real three-member etcd 3.4 (v2 API on, loopback only):
 *
 * (a) latency: members and `cclab check --endpoints … --expect-members 3 --timeout 30s` start at
 *     the same moment; a tight /health poller in the bench records when all three members first
 *     answer healthy; latency = cclab's verdict (its exit) − that moment. The baseline, in the same
 *     trial: a retry loop of `etcdctl cluster-health` (v2) with the same 300 ms pause as cclab's.
 * (b) a full check of a healthy cluster with 10 fleet registrations (written as fleetd writes
 *     them), `cclab check … --expect-members 3 --expect-fleet 10`, against
 *     `ETCDCTL_API=2 etcdctl --endpoints … cluster-health`, in interleaved rounds.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { defineCluster, fleetMachine, pollAllHealthy, registerFleetMachine } from './lib/etcd.mjs';
import { now, sleep, timed, timedOk } from './lib/proc.mjs';
import { pairedRatio, pick, pickRatio, rotate, summary, ratioRow } from './lib/stats.mjs';

const RETRY_PAUSE_MS = 300;

/** Runs argv until it exits 0 (pausing between tries); resolves with the end time of the good run. */
async function retryUntilOk(argv, env, untilMs, signal) {
  let tries = 0;
  for (;;) {
    tries += 1;
    const r = await timed(argv, { env, signal });
    if (r.code === 0) return { end: r.end, tries };
    if (signal.aborted) throw new Error(`${argv[0]} abandoned`);
    if (now() > untilMs) throw new Error(`${argv.join(' ')} still failing after ${tries} tries:\n${r.stdout}${r.stderr}`);
    await sleep(RETRY_PAUSE_MS);
  }
}

export async function health({ root, tmp, quick, log }) {
  const cli = path.join(root, 'bin', 'cclab.js');
  const node = process.execPath;
  const env = { ...process.env, ETCDCTL_API: '2' };
  delete env.NODE_OPTIONS;

  // (a) time from healthy to verdict
  const trials = quick ? 5 : 7;
  const latency = { cclab: [], etcdctl: [], healthyAfterStartMs: [], etcdctlTries: [] };
  log(`health (a): ${trials} cluster starts, cclab check and an etcdctl retry loop launched with the members`);
  for (let i = 0; i < trials; i++) {
    const dir = path.join(tmp, `etcd-a-${i}`);
    const cluster = await defineCluster(dir, 3);
    const abandon = new AbortController();
    try {
      const endpoints = cluster.clientUrls.join(',');
      const t0 = now();
      cluster.start();
      const check = timed([node, cli, 'check', '--endpoints', endpoints, '--expect-members', '3', '--timeout', '30s'], { env, signal: abandon.signal });
      const ctl = retryUntilOk(['etcdctl', '--endpoints', endpoints, 'cluster-health'], env, t0 + 30_000, abandon.signal);
      check.catch(() => undefined);
      ctl.catch(() => undefined);
      const healthyAt = await pollAllHealthy(cluster.clientUrls, now, { isDead: () => cluster.dead() });
      const [c, e] = await Promise.all([check, ctl]);
      if (c.code !== 0 || !/etcd: healthy/.test(c.stdout)) throw new Error(`cclab check did not report healthy (exit ${c.code}):\n${c.stdout}${c.stderr}`);
      latency.cclab.push(c.end - healthyAt);
      latency.etcdctl.push(e.end - healthyAt);
      latency.etcdctlTries.push(e.tries);
      latency.healthyAfterStartMs.push(healthyAt - t0);
    } catch (err) {
      throw new Error(`${err.message}\n${cluster.logs()}`);
    } finally {
      abandon.abort();
      await cluster.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // (b) a full check of a healthy cluster with 10 fleet machines
  const rounds = quick ? 7 : 15;
  const full = { cclab: [], etcdctl: [], node: [] };
  const dir = path.join(tmp, 'etcd-b');
  const cluster = await defineCluster(dir, 3);
  try {
    cluster.start();
    await pollAllHealthy(cluster.clientUrls, now, { isDead: () => cluster.dead() });
    const endpoints = cluster.clientUrls.join(',');
    const fleet = Array.from({ length: 10 }, (_, i) => fleetMachine(i));
    let registeredAt = -Infinity;
    const register = async () => {
      // fleetd renews its 30 s TTL; so does the bench, well before it runs out.
      if (now() - registeredAt < 15_000) return;
      await Promise.all(fleet.map((m, i) => registerFleetMachine(cluster.clientUrls[i % 3], m, 30)));
      registeredAt = now();
    };
    const cmds = {
      cclab: [node, cli, 'check', '--endpoints', endpoints, '--expect-members', '3', '--expect-fleet', '10'],
      etcdctl: ['etcdctl', '--endpoints', endpoints, 'cluster-health'],
      node: [node, '-e', '0'],
    };
    await register();
    const first = await timedOk(cmds.cclab, { env });
    if (!/fleet: healthy \(10 machines\)/.test(first.stdout)) throw new Error(`cclab check printed:\n${first.stdout}`);
    const ctl = await timedOk(cmds.etcdctl, { env });
    if (!/cluster is healthy/.test(ctl.stdout)) throw new Error(`etcdctl printed:\n${ctl.stdout}`);
    log(`health (b): 1 warm-up + ${rounds} interleaved rounds of cclab check (10 fleet machines) / etcdctl cluster-health / node -e 0`);
    for (let i = 0; i < rounds + 1; i++) {
      await register();
      for (const k of rotate(Object.keys(cmds), i)) {
        const r = await timedOk(cmds[k], { env });
        if (i > 0) full[k].push(r.ms);
      }
    }
  } catch (err) {
    throw new Error(`${err.message}\n${cluster.logs()}`);
  } finally {
    await cluster.kill();
    rmSync(dir, { recursive: true, force: true });
  }

  const rows = [
    ratioRow({
      id: 'health.latency',
      benchmark: 'check: healthy → verdict, cluster starting (ms)',
      runs: latency.cclab,
      baseline: "etcdctl cluster-health (v2) launched with the members, rerun until it succeeds",
      baselineRuns: latency.etcdctl,
      target: '< 1000 ms',
      met: summary(latency.cclab).median < 1000,
    }),
    ratioRow({
      id: 'health.full',
      benchmark: 'check: 3 members + 10 fleet machines, healthy (wall, ms)',
      runs: full.cclab,
      baseline: 'ETCDCTL_API=2 etcdctl cluster-health',
      baselineRuns: full.etcdctl,
      target: '≤ 3× etcdctl',
      met: pairedRatio(full.cclab, full.etcdctl).median <= 3,
    }),
  ];
  return {
    rows,
    details: {
      latency: { ...latency, summary: { cclab: pick(summary(latency.cclab)), etcdctl: pick(summary(latency.etcdctl)), healthyAfterStartMs: pick(summary(latency.healthyAfterStartMs)) } },
      full: { ...full, summary: { cclab: pick(summary(full.cclab)), etcdctl: pick(summary(full.etcdctl)), node: pick(summary(full.node)) }, cclabOverNode: pickRatio(pairedRatio(full.cclab, full.node)) },
    },
  };
}
