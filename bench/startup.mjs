/**
 * Benchmark 1, start-up: `cclab docker-env NAME` on a saved lab and `cclab --help`, each as a whole
 * process, against `node -e 0`, in interleaved rounds (the order rotates every round). Also lists
 * the modules `docker-env` loads (a separate, untimed run under lib/module-trace.mjs).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { timedOk, timed } from './lib/proc.mjs';
import { ratioRow, rotate, summary } from './lib/stats.mjs';

/** Modules that must not load on the docker-env path (file path fragments). */
const FORBIDDEN = [
  // render/layout.js is the lab directory's file names (constants, no imports), not rendering.
  ['rendering', /\/dist\/render\/(?!layout\.js)/],
  ['the lab pipeline', /\/dist\/pipeline\//],
  ['Vagrant', /\/dist\/vagrant\//],
  ['listr2', /\/node_modules\/listr2\//],
  ['execa', /\/node_modules\/execa\//],
  ['yaml', /\/node_modules\/yaml\//],
  ['zod', /\/node_modules\/zod\//],
  ['handlebars', /\/node_modules\/handlebars\//],
  ['yargs', /\/node_modules\/yargs(-parser)?\//],
];

/** Writes a laptop lab's manifest (with a Docker endpoint) into `home`, as cclab up would leave it. */
async function savedLab(root, home, name) {
  const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;
  const { writeManifest } = await import(dist('home/manifest.js'));
  const { resolveLab } = await import(dist('lab/resolve.js'));
  const { lab } = resolveLab({ document: { name, spec: { architecture: 'laptop' } }, source: 'bench' });
  const docker = lab.machines.find((m) => m.dockerTcp) ?? lab.machines[0];
  const dir = path.join(home, 'labs', name);
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  await writeManifest(dir, {
    schemaVersion: 1,
    name,
    architecture: 'laptop',
    os: lab.os,
    provider: lab.provider,
    box: lab.box.name,
    cclabVersion: '0.1.0',
    createdAt: at,
    updatedAt: at,
    state: 'running',
    options: { architecture: 'laptop' },
    lab,
    machines: lab.machines.map((m) => ({ name: m.name, role: m.role, ip: m.ip, state: 'running' })),
    docker: { machine: docker.name, guestPort: 2375, hostPort: 23750, endpoint: 'tcp://127.0.0.1:23750' },
  });
}

export async function startup({ root, tmp, quick, log }) {
  const cli = path.join(root, 'bin', 'cclab.js');
  const node = process.execPath;
  const home = path.join(tmp, 'startup-home');
  await savedLab(root, home, 'bench');
  const env = { ...process.env, CCLAB_HOME: home, SHELL: '/bin/bash' };
  delete env.NODE_OPTIONS;

  const cmds = {
    node: [node, '-e', '0'],
    dockerEnv: [node, cli, 'docker-env', 'bench'],
    help: [node, cli, '--help'],
  };
  // Correct output first (a fast wrong answer is no result).
  const de = await timedOk(cmds.dockerEnv, { env });
  if (!de.stdout.includes('export DOCKER_HOST="tcp://127.0.0.1:23750"')) throw new Error(`docker-env printed:\n${de.stdout}`);
  const help = await timedOk(cmds.help, { env });
  if (!help.stdout.includes('docker-env')) throw new Error(`--help printed:\n${help.stdout}`);

  // Modules loaded by docker-env (untimed run).
  const traceFile = path.join(tmp, 'docker-env-modules.txt');
  const traced = await timed([node, '--import', path.join(root, 'bench', 'lib', 'module-trace.mjs'), cli, 'docker-env', 'bench'], {
    env: { ...env, BENCH_MODULE_TRACE: traceFile },
  });
  if (traced.code !== 0) throw new Error(`traced docker-env failed: ${traced.stderr}`);
  const loaded = readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^(esm|cjs|builtin) (file:\/\/)?/, (_, kind) => `${kind} `).replace(root + path.sep, ''));
  const forbidden = FORBIDDEN.filter(([, re]) => loaded.some((l) => re.test('/' + l.split(' ')[1]) || re.test(l))).map(([n]) => n);

  const warmup = quick ? 2 : 3;
  const rounds = quick ? 11 : 41;
  const order = Object.keys(cmds);
  const ms = { node: [], dockerEnv: [], help: [] };
  log(`start-up: ${warmup} warm-up + ${rounds} interleaved rounds of node -e 0 / docker-env / --help`);
  for (let i = 0; i < warmup + rounds; i++) {
    for (const k of rotate(order, i)) {
      const r = await timedOk(cmds[k], { env });
      if (i >= warmup) ms[k].push(r.ms);
    }
  }
  const base = summary(ms.node);
  const rows = [
    ratioRow({
      id: 'startup.docker-env',
      benchmark: 'start-up: `cclab docker-env NAME` (wall, ms)',
      runs: ms.dockerEnv,
      baseline: 'node -e 0',
      baselineRuns: ms.node,
      target: '≤ 1.5× node -e 0',
    }),
    ratioRow({
      id: 'startup.help',
      benchmark: 'start-up: `cclab --help` (wall, ms)',
      runs: ms.help,
      baseline: 'node -e 0',
      baselineRuns: ms.node,
    }),
  ];
  rows[0].met = rows[0].ratio.median <= 1.5 && forbidden.length === 0;
  return {
    rows,
    details: {
      runs: ms,
      baseline: base,
      dockerEnvModules: loaded,
      dockerEnvForbiddenLoaded: forbidden,
      dockerEnvModuleCount: {
        project: loaded.filter((l) => l.includes('dist/') || l.includes('bin/')).length,
        packages: loaded.filter((l) => l.includes('node_modules/')).length,
        builtins: loaded.filter((l) => l.startsWith('builtin ')).length,
      },
    },
  };
}
