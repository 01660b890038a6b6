/**
 * Benchmark 5, Ignition against cloud-config: the production lab with 3 services and 1, 10, 100 and
 * 1,000 workers (subnet 10.64.0.0/16, a fleet SHA-256 given) planned for bare metal both ways in
 * one process (dist/'s planLab: building and serialising every machine's config, no file writes),
 * in interleaved rounds after warm-up. Reports the per-round ratio Ignition / cloud-config for each
 * size (the target: not slower, median ≤ 1.05 for noise) and whether Ignition's cost is linear
 * per machine.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { linearFit, pick, ratioRow, rotate, summary } from './lib/stats.mjs';

export const WORKERS = [1, 10, 100, 1000];
const SERVICES = 3;

export async function ignition({ root, quick, log }) {
  const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;
  const [{ loadBuiltinLab }, { resolveLab }, { planLab }] = await Promise.all([
    import(dist('lab/load.js')),
    import(dist('lab/resolve.js')),
    import(dist('render/plan.js')),
  ]);
  const loaded = await loadBuiltinLab('production');
  const labs = new Map();
  for (const w of WORKERS) {
    for (const provisioning of ['cloud-config', 'ignition']) {
      const overrides = { services: SERVICES, workers: w, subnet: '10.64.0.0/16', fleet: { sha256: 'ab'.repeat(32) }, provisioning };
      labs.set(`${provisioning}:${w}`, resolveLab({ document: loaded.document, source: loaded.source, overrides }).lab);
    }
  }
  // Ignition gives user core the lab's own SSH key (cloud-config ignores it): a fixed one here.
  const LAB_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBenchBen cclab-bench';
  const once = (key) => {
    const t0 = process.hrtime.bigint();
    const p = planLab(labs.get(key), { target: 'bare-metal', version: 'bench', labPublicKey: LAB_PUBLIC_KEY });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const w = Number(key.split(':')[1]);
    if (p.files.length !== w + SERVICES) throw new Error(`${key}: ${p.files.length} files, not ${w + SERVICES}`);
    return ms;
  };

  const keys = WORKERS.flatMap((w) => [`cloud-config:${w}`, `ignition:${w}`]);
  const warmup = 3;
  const rounds = quick ? 7 : 15;
  const ms = Object.fromEntries(keys.map((k) => [k, []]));
  log(`ignition: ${warmup} warm-up + ${rounds} interleaved rounds of planning 3 + ${WORKERS.join(', ')} machines as cloud-config and as Ignition`);
  for (let i = 0; i < warmup + rounds; i++) {
    for (const k of rotate(keys, i)) {
      const v = once(k);
      if (i >= warmup) ms[k].push(v);
    }
  }

  const rows = [];
  for (const w of WORKERS) {
    const ign = ms[`ignition:${w}`];
    const cc = ms[`cloud-config:${w}`];
    const ratio = summary(ign.map((v, i) => v / cc[i]));
    rows.push(ratioRow({
      id: `ignition.${w}.time`,
      benchmark: `plan production as Ignition, ${SERVICES} + ${w} machine${w === 1 ? '' : 's'} (ms)`,
      runs: ign,
      baseline: `cloud-config, same lab`,
      baselineRuns: cc,
      target: w === 1000 ? 'ratio ≤ 1.05' : '—',
      met: w === 1000 ? ratio.median <= 1.05 : undefined,
    }));
  }
  const machines = WORKERS.map((w) => w + SERVICES);
  const medIgn = WORKERS.map((w) => summary(ms[`ignition:${w}`]).median);
  const medCc = WORKERS.map((w) => summary(ms[`cloud-config:${w}`]).median);
  const fit = linearFit(machines, medIgn);
  const marginal = [];
  for (let i = 1; i < machines.length; i++) marginal.push((medIgn[i] - medIgn[i - 1]) / (machines[i] - machines[i - 1]));
  // Linear as in the render benchmark: a straight line explains the medians, and the last step does
  // not cost per machine more than twice the one before.
  const linear = fit.r2 >= 0.99 && marginal[2] <= 2 * Math.max(marginal[1], 1e-9);
  const perMachine = summary(ms['ignition:1000'].map((v, i) => (v - ms['ignition:1'][i]) / (machines[3] - machines[0])));
  rows.push({
    id: 'ignition.per-machine',
    benchmark: 'plan as Ignition: cost per machine ((1003 − 4 machines), ms)',
    unit: 'ms',
    ...pick(perMachine),
    baseline: 'cloud-config per machine',
    baselineMedian: (medCc[3] - medCc[0]) / (machines[3] - machines[0]),
    ratio: undefined,
    target: 'linear',
    met: linear,
  });
  return { rows, details: { runsMs: ms, machines, medianIgnitionMs: medIgn, medianCloudConfigMs: medCc, fit, marginalMsPerMachine: marginal, linear } };
}
