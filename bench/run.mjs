#!/usr/bin/env node
/**
 * cclab's benchmarks: `npm run bench` (full) or `node bench/run.mjs --quick` (a short pass).
 *
 *   node bench/run.mjs [--quick] [--only startup,render,ignition,health,boot,download]
 *
 * Runs the compiled CLI (bin/cclab.js → dist/; build first with `npx tsc -p tsconfig.build.json`).
 * Every figure is compared with a baseline measured in the same run, on the same machine, in
 * interleaved rounds; each is the median of at least 5 runs, with min and max. Prints a Markdown
 * table and the machine, writes every raw run to bench/results/<timestamp>.json and, for a full
 * run of all benchmarks, the table to bench/RESULTS.md.
 *
 * Needs: etcd and etcdctl (Debian's etcd-server/etcd-client 3.4), /usr/bin/time (Debian's time) and curl.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { boot } from './boot.mjs';
import { download } from './download.mjs';
import { health } from './health.mjs';
import { machineInfo, machineLine, markdownTable } from './lib/report.mjs';
import { summary } from './lib/stats.mjs';
import { onCleanup } from './lib/proc.mjs';
import { ignition } from './ignition.mjs';
import { render } from './render.mjs';
import { startup } from './startup.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCHMARKS = { startup, render, ignition, health, boot, download };
const NEEDS = { health: ['etcd', 'etcdctl'], render: ['time'], download: ['curl'] };

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
});
if (values.help) {
  process.stdout.write('usage: node bench/run.mjs [--quick] [--only startup,render,ignition,health,boot,download]\n');
  process.exit(0);
}
const selected = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(BENCHMARKS);
for (const s of selected) {
  if (!(s in BENCHMARKS)) {
    process.stderr.write(`bench: unknown benchmark "${s}" (${Object.keys(BENCHMARKS).join(', ')})\n`);
    process.exit(2);
  }
}

const log = (m) => process.stderr.write(`bench: ${m}\n`);

// The benchmarks run dist/: say so when it is older than its sources (and then write no RESULTS.md).
function newest(dir, ext) {
  let best = { file: undefined, mtime: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const n = newest(p, ext);
      if (n.mtime > best.mtime) best = n;
    } else if (e.name.endsWith(ext)) {
      const m = statSync(p).mtimeMs;
      if (m > best.mtime) best = { file: p, mtime: m };
    }
  }
  return best;
}
let built;
try {
  built = newest(path.join(root, 'dist'), '.js');
} catch {
  built = { mtime: 0 };
}
const source = newest(path.join(root, 'src'), '.ts');
if (built.mtime === 0) {
  log('no build in dist/: run `npx tsc -p tsconfig.build.json` first');
  process.exit(1);
}
const staleBuild = source.mtime > built.mtime ? path.relative(root, source.file) : undefined;
if (staleBuild) log(`warning: dist/ is older than ${staleBuild}: the build measured may not match the sources (build with \`npx tsc -p tsconfig.build.json\`)`);

const onPath = (bin) => (process.env.PATH ?? '').split(path.delimiter).some((d) => {
  try {
    return statSync(path.join(d, bin)).isFile();
  } catch {
    return false;
  }
});
const missing = [...new Set(selected.flatMap((s) => NEEDS[s] ?? []))].filter((b) => !onPath(b));
if (missing.length > 0) {
  log(`missing: ${missing.join(', ')} (apt-get install etcd-server etcd-client time), or leave those benchmarks out with --only`);
  process.exit(1);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cclab-bench-'));
onCleanup(() => rmSync(tmp, { recursive: true, force: true }));

const machine = machineInfo();
const startedAt = new Date();
log(`${values.quick ? 'quick pass' : 'full run'} of ${selected.join(', ')} on ${machineLine(machine)}`);
const results = {};
const errors = {};
for (const name of selected) {
  const t = Date.now();
  try {
    results[name] = await BENCHMARKS[name]({ root, tmp, quick: values.quick, log });
    log(`${name}: done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    errors[name] = e instanceof Error ? e.stack ?? e.message : String(e);
    log(`${name} FAILED: ${errors[name]}`);
  }
}

const rows = selected.flatMap((n) => results[n]?.rows ?? []);
const table = markdownTable(rows);
const notes = describe(results);
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
const jsonFile = path.join(root, 'bench', 'results', `${stamp}${values.quick ? '-quick' : ''}.json`);
writeFileSync(
  jsonFile,
  JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), quick: values.quick, selected, machine, staleBuild, rows, results, errors }, null, 2) + '\n',
);

const text = [
  `Machine: ${machineLine(machine)}.`,
  `Run: ${startedAt.toISOString()}, \`node bench/run.mjs${values.quick ? ' --quick' : ''}\`.`,
  '',
  table,
  '',
  ...notes.map((n) => `- ${n}`),
].join('\n');
process.stdout.write(text + '\n');
log(`raw runs: ${path.relative(root, jsonFile)}`);

if (!values.quick && !staleBuild && selected.length === Object.keys(BENCHMARKS).length && Object.keys(errors).length === 0) {
  const md = [
    '# cclab performance',
    '',
    'Measured by `npm run bench` (bench/run.mjs). Times are wall times of whole processes (or',
    'differences of them) and memory is peak RSS, on the machine below; each figure is the median of',
    'at least 5 runs with min and max, next to a baseline measured in the same run in interleaved',
    'rounds; "ratio" is the median (min–max) of the per-round ratios to that baseline. The machine is',
    'shared and noisy: compare ratios, not absolute times.',
    '',
    text,
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'bench', 'RESULTS.md'), md);
  log('table written to bench/RESULTS.md');
}
process.exitCode = Object.keys(errors).length > 0 ? 1 : 0;

/** Short notes under the table: what the rows alone do not say. */
function describe(r) {
  const out = [];
  const s = r.startup?.details;
  if (s) {
    const own = s.dockerEnvModules.filter((l) => !l.startsWith('builtin ')).map((l) => l.split(' ')[1]);
    const builtins = s.dockerEnvModules.filter((l) => l.startsWith('builtin ')).map((l) => l.split(' ')[1]);
    out.push(
      `\`cclab docker-env\` loads ${own.length} files (${own.join(', ')}) and the built-ins ${builtins.join(', ')}; ` +
        (s.dockerEnvForbiddenLoaded.length === 0
          ? 'none of rendering, the pipeline, Vagrant, listr2, execa, yaml, zod, handlebars or yargs.'
          : `**it loads ${s.dockerEnvForbiddenLoaded.join(', ')}**.`),
    );
  }
  const g = r.render?.details?.scaling;
  if (g) {
    const rb = r.render.details.baseline;
    out.push(
      `Rendering: ${g.msPerMachine.median.toFixed(2)} ms per machine (min ${g.msPerMachine.min.toFixed(2)}, max ${g.msPerMachine.max.toFixed(2)}; ` +
        `from 4 to 1,003 machines), about ${Math.round(g.kibPerMachine)} KiB of peak memory per machine; a straight line through the medians ` +
        `(${Math.round(g.fixedMs)} ms + ${g.fit.slope.toFixed(2)} ms × machines) has R² = ${g.fit.r2.toFixed(4)}: ` +
        `${g.linear ? 'linear' : 'not linear'} (per-machine cost of the steps 4→13, 13→103, 103→1003: ${g.marginal.map((m) => m.msPerMachine.toFixed(2)).join(', ')} ms). ` +
        `Baseline \`node -e 0\`: ${Math.round(rb.ms.median)} ms, ${rb.rssMiB.median.toFixed(1)} MiB. ` +
        `A bare Node process writing the same 1,003 files takes ${Math.round(r.render.details.writeFloor1000.median)} ms here; ` +
        `render with 1,000 workers minus that, per round: ${Math.round(r.render.details.render1000MinusFloor.median)} ms (median).`,
    );
  }
  const h = r.health?.details;
  if (h) {
    out.push(
      `Health (a): all three members first healthy ${Math.round(h.latency.summary.healthyAfterStartMs.median)} ms (median) after they were started; ` +
        `cclab polls every 300 ms. (b): \`cclab check\` of the healthy cluster is ${r.health.details.full.cclabOverNode.median.toFixed(2)}× \`node -e 0\` ` +
        `(${Math.round(h.full.summary.node.median)} ms); Node's start alone is ${(h.full.summary.node.median / h.full.summary.etcdctl.median).toFixed(1)}× etcdctl ` +
        `(a Go binary that starts in ${Math.round(h.full.summary.etcdctl.median)} ms), so a check in Node cannot come within 3× of it here.`,
    );
  }
  const b = r.boot?.details;
  if (b) {
    out.push(
      `Boot: fake Vagrant with ${b.upDelayMs} ms per machine and a ${b.importMs} ms box import; time inside vagrant processes on cclab's critical path ` +
        `${Math.round(b.summary.vagrantMs.median)} ms (median). Ideal times: sequential ${b.idealMs.sequential} ms, first machine alone then the rest at once ` +
        `${b.idealMs.firstAloneThenParallel} ms (${(b.idealMs.firstAloneThenParallel / b.idealMs.sequential).toFixed(2)}×), ` +
        `all machines as soon as the box is imported ${b.idealMs.allAfterImport} ms (${(b.idealMs.allAfterImport / b.idealMs.sequential).toFixed(2)}×). ` +
        `cclab's own time (no vagrant process running), median per gap: ${b.gapMedians.map((g) => `${g.between} ${Math.round(g.medianMs)} ms`).join('; ')}.` +
        (b.failures.length > 0 ? ` **${b.failures.length} run(s) of cclab up failed on the fake Vagrant's state-file lock or left a machine not running** (vagrant runs, fake Vagrant log and output in the JSON); those rounds were run again.` : ''),
    );
  }
  const d = r.download?.details;
  if (d) {
    const med = (xs) => summary(xs).median;
    out.push(
      `Download: over a ${d.linkMiBps} MiB/s link cclab's download keeps up with the link (${med(d.measured.link.cclab).toFixed(1)} MiB/s, curl ` +
        `${med(d.measured.link.curl).toFixed(1)}). Unpaced on loopback both are bound by CPU (2 cores, one taken by the server): cclab moves ` +
        `${Math.round(med(d.measured.loopback.cclab))} MiB/s against curl's ${Math.round(med(d.measured.loopback.curl))}, spending its time in Node's HTTP ` +
        `parser, the SHA-512 and one awaited write per 64 KiB chunk on one thread — a limit only links above about 1.5 Gbit/s would meet.`,
    );
  }
  return out;
}
