/**
 * Benchmark 2, rendering at scale: `cclab render production` with 3 services and 1, 10, 100 and
 * 1,000 workers (subnet 10.64.0.0/16, a fleet SHA-256 given, output into a temporary directory):
 * wall time and peak RSS (/usr/bin/time -f %M) against `node -e 0` under the same wrapper, in
 * interleaved rounds. Reports the cost per machine and how close total time is to a straight line.
 */
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { timedOk } from './lib/proc.mjs';
import { linearFit, pick, ratioRow, rotate, summary } from './lib/stats.mjs';

export const WORKERS = [1, 10, 100, 1000];

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
export const SERVICES = 3;
const FLEET_SHA256 = 'ab'.repeat(32);

export async function render({ root, tmp, quick, log }) {
  const cli = path.join(root, 'bin', 'cclab.js');
  const node = process.execPath;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const outRoot = path.join(tmp, 'render');
  const argv = (w, out) => [
    node, cli, 'render', 'production',
    '--services', String(SERVICES), '--workers', String(w),
    '--subnet', '10.64.0.0/16', '--fleet-sha256', FLEET_SHA256, '--out', out,
  ];

  // The same files written by a bare Node process (sizes taken from one render of each size).
  const sizesFile = (w) => path.join(tmp, `render-sizes-${w}.json`);
  for (const w of WORKERS) {
    const out = path.join(outRoot, `sizes-${w}`);
    await timedOk(argv(w, out), { env });
    writeFileSync(sizesFile(w), JSON.stringify(listFiles(out).map((f) => [path.relative(out, f), statSync(f).size])));
    rmSync(out, { recursive: true, force: true });
  }
  const floorArgv = (w, out) => [node, path.join(root, 'bench', 'lib', 'write-floor.mjs'), sizesFile(w), out];

  const warmup = 1;
  const rounds = quick ? 5 : 9;
  const keys = ['node', ...WORKERS.map(String), ...WORKERS.map((w) => `floor${w}`)];
  const ms = Object.fromEntries(keys.map((k) => [k, []]));
  const rss = Object.fromEntries(keys.map((k) => [k, []]));
  const cpu = Object.fromEntries(keys.map((k) => [k, []]));
  log(`render: ${warmup} warm-up + ${rounds} interleaved rounds of node -e 0 / render with ${WORKERS.join(', ')} workers`);
  for (let i = 0; i < warmup + rounds; i++) {
    for (const k of rotate(keys, i)) {
      const out = path.join(outRoot, `${k}-${i}`);
      const cmd = k === 'node' ? [node, '-e', '0'] : k.startsWith('floor') ? floorArgv(Number(k.slice(5)), out) : argv(Number(k), out);
      const r = await timedOk(cmd, { env, rss: true, tmp });
      if (k.startsWith('floor')) rmSync(out, { recursive: true, force: true });
      else if (k !== 'node') {
        const files = readdirSync(path.join(out, 'user-data')).length;
        if (files !== Number(k) + SERVICES) throw new Error(`render with ${k} workers wrote ${files} cloud-configs, not ${Number(k) + SERVICES}`);
        rmSync(out, { recursive: true, force: true });
      }
      if (i >= warmup) {
        ms[k].push(r.ms);
        rss[k].push(r.maxRssKiB / 1024);
        cpu[k].push(r.cpuMs);
      }
    }
  }

  const base = summary(ms.node);
  const baseRss = summary(rss.node);
  const rows = [];
  for (const w of WORKERS) {
    const k = String(w);
    const t = summary(ms[k]);
    rows.push(ratioRow({
      id: `render.${w}.time`,
      benchmark: `render production, ${SERVICES} services + ${w} worker${w === 1 ? '' : 's'} (wall, ms)`,
      runs: ms[k],
      baseline: 'node -e 0',
      baselineRuns: ms.node,
      target: w === 1000 ? '< 1000 ms' : '—',
      met: w === 1000 ? t.median < 1000 : undefined,
    }));
  }
  for (const w of WORKERS) {
    const k = String(w);
    rows.push(ratioRow({
      id: `render.${w}.rss`,
      benchmark: `render production, ${SERVICES} + ${w} (peak RSS, MiB)`,
      unit: 'MiB',
      runs: rss[k],
      baseline: 'node -e 0',
      baselineRuns: rss.node,
    }));
  }

  // Cost per machine and linearity, from the medians.
  const machines = WORKERS.map((w) => w + SERVICES);
  const medMs = WORKERS.map((w) => summary(ms[String(w)]).median);
  const medRss = WORKERS.map((w) => summary(rss[String(w)]).median);
  const fit = linearFit(machines, medMs);
  const rssFit = linearFit(machines, medRss);
  const marginal = [];
  for (let i = 1; i < machines.length; i++) {
    marginal.push({ from: machines[i - 1], to: machines[i], msPerMachine: (medMs[i] - medMs[i - 1]) / (machines[i] - machines[i - 1]) });
  }
  // Per-round slopes, for a min–max of the cost per machine.
  const perRoundSlope = ms['1000'].map((v, i) => (v - ms['1'][i]) / (machines[3] - machines[0]));
  const scaling = {
    machines,
    medianMs: medMs,
    medianRssMiB: medRss,
    fit,
    rssFit,
    marginal,
    msPerMachine: pick(summary(perRoundSlope)),
    kibPerMachine: ((medRss[3] - medRss[0]) * 1024) / (machines[3] - machines[0]),
    fixedMs: fit.intercept,
    // Linear when a straight line explains the medians and the last step (103 → 1,003 machines)
    // costs per machine at most twice the step before it (13 → 103): a cost growing with n² would
    // make it about ten times as much; noise on a busy machine moves it by tens of percent.
    linear: fit.r2 >= 0.99 && marginal[2].msPerMachine <= 2 * Math.max(marginal[1].msPerMachine, 1e-9),
  };
  rows.push({
    id: 'render.per-machine',
    benchmark: 'render: cost per machine ((1003 − 4 machines), ms)',
    unit: 'ms',
    ...scaling.msPerMachine,
    baseline: 'node -e 0',
    baselineMedian: base.median,
    ratio: undefined,
    target: 'linear',
    met: scaling.linear,
  });
  const floor = summary(ms.floor1000);
  rows.push(ratioRow({
    id: 'render.floor',
    benchmark: 'reference: bare Node writing the same 1,003 files (wall, ms)',
    runs: ms.floor1000,
    baseline: 'node -e 0',
    baselineRuns: ms.node,
  }));
  const own = ms['1000'].map((v, i) => v - ms.floor1000[i]);
  const cpuSummary = Object.fromEntries(keys.map((k) => [k, pick(summary(cpu[k]))]));
  return {
    rows,
    details: {
      runsMs: ms,
      runsRssMiB: rss,
      runsCpuMs: cpu,
      cpuMs: cpuSummary,
      baseline: { ms: base, rssMiB: baseRss },
      scaling,
      writeFloor1000: pick(floor),
      render1000MinusFloor: pick(summary(own)),
    },
  };
}
