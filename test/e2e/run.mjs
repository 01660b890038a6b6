#!/usr/bin/env node
// cclab end-to-end suite on real VMs: vagrant-libvirt under software emulation (TCG), everything
// inside a network namespace of its own. Needs root. See test/e2e/README.md.
//
//   npm run test:e2e                          default scenarios
//   node test/e2e/run.mjs --scenario plain-dev,dev
//   node test/e2e/run.mjs --list
//
// Always tears down — also on failure and on SIGINT/SIGTERM: vagrant destroy of every project and
// lab it made, libvirt domains/networks/volumes/pools it created, the libvirt daemons (by PID), the
// namespace, the route guards and the run's cclab home (/var/lib/cclab-e2e-<pid>). Prints a timing table and a last line `N passed, M failed`;
// exits 1 on any failure (130 when interrupted).
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Host } from './lib/host.mjs';
import { cleanOutput, interruptAll, resumeAfterInterrupt, run, wasInterrupted } from './lib/proc.mjs';
import { DEFAULT_SCENARIOS, E2E_DIR, SCENARIOS, buildBusyboxRootfs, leftoversScenario } from './scenarios.mjs';

const REPO = resolve(E2E_DIR, '..', '..');
const CACHE = process.env.CCLAB_E2E_CACHE ? resolve(process.env.CCLAB_E2E_CACHE) : join(E2E_DIR, '.cache');
const VAGRANT_HOME = join(CACHE, 'vagrant-home');
const CCLAB_JS = join(REPO, 'bin', 'cclab.js');
/** Our own deadline for `vagrant up`/`cclab up` (a VM without an address blocks Vagrant ~15 min). */
const UP_MINUTES_PER_VM = Number(process.env.CCLAB_E2E_UP_MINUTES_PER_VM ?? 4);
const UP_MINUTES_BASE = Number(process.env.CCLAB_E2E_UP_MINUTES_BASE ?? 4);

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', short: 's' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help || args.list) {
  console.log('usage: node test/e2e/run.mjs [--scenario NAME[,NAME…]] [--list]\n\nscenarios:');
  for (const s of Object.values(SCENARIOS)) console.log(`  ${s.name.padEnd(14)} ${s.vms} VM${s.vms === 1 ? ' ' : 's'}  ${s.description}${DEFAULT_SCENARIOS.includes(s.name) ? '  (default)' : ''}`);
  console.log(`  ${leftoversScenario.name.padEnd(14)} always last: ${leftoversScenario.description}`);
  process.exit(0);
}

const selected = (args.scenario ? args.scenario.split(',').map((s) => s.trim()).filter(Boolean) : DEFAULT_SCENARIOS);
for (const name of selected) {
  if (!SCENARIOS[name]) {
    console.error(`unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
    process.exit(2);
  }
}

const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${process.pid}`;
const runDir = join(CACHE, 'runs', runId);
mkdirSync(runDir, { recursive: true });
const say = (msg) => process.stderr.write(`[e2e] ${msg.split('\n').join('\n[e2e]   ')}\n`);

const host = new Host({ runDir, ns: `cclab-e2e-${process.pid}`, say });
const results = []; // { step, status: 'ok'|'FAIL'|'skipped', ms, error? }
const projects = []; // Vagrant projects to destroy at teardown
// The cclab home lives outside the checkout, where QEMU (user libvirt-qemu under qemu:///system)
// can reach files of a lab directory such as the Ignition configs handed over with fw_cfg: every
// directory above it must be traversable by that user. Removed at the end of the teardown.
const varDir = `/var/lib/cclab-e2e-${process.pid}`;
const cclabHome = join(varDir, 'cclab-home');
mkdirSync(cclabHome, { recursive: true });
chmodSync(varDir, 0o711);

const childEnv = {
  PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: process.env.HOME ?? '/root',
  LANG: 'C.UTF-8',
  TERM: 'dumb',
  SHELL: '/bin/bash',
  VAGRANT_HOME,
  VAGRANT_CHECKPOINT_DISABLE: '1',
  VAGRANT_BOX_UPDATE_CHECK_DISABLE: '1',
  VAGRANT_DEFAULT_PROVIDER: 'libvirt',
  LIBVIRT_DEFAULT_URI: 'qemu:///system',
  CCLAB_HOME: cclabHome,
  // cclab's cache (image records of box add, the KVM probe's verdict) stays with this run.
  XDG_CACHE_HOME: join(varDir, 'cache'),
  CCLAB_JS,
  DOCKER_CONFIG: join(runDir, 'docker-config'),
  NO_COLOR: '1',
};

let currentLog = join(runDir, 'run.log');

const ctx = {
  host,
  runDir,
  cclabHome,
  say,
  /** opts.unsetEnv: variables of the runner's environment this command must not get (a newcomer's shell). */
  inNs(argv, opts = {}) {
    const env = { ...childEnv, ...(opts.env ?? {}) };
    for (const k of opts.unsetEnv ?? []) delete env[k];
    return run(host.nsArgv(argv), { log: currentLog, ...opts, env });
  },
  async cclab(cliArgs, opts = {}) {
    // Every `cclab up` reports where its time went; the runner prints that block.
    const up = cliArgs[0] === 'up';
    const r = await bootGuard(() => ctx.inNs(['node', CCLAB_JS, ...cliArgs, ...(up ? ['--timings'] : [])], opts), opts);
    const timings = up ? /^Timings of cclab up[\s\S]*?^ {2}total .*$/m.exec(r.stderr ?? '') : null;
    if (timings) say(timings[0]);
    return r;
  },
  vagrantProject(name, dir, env) {
    const project = { name, dir, env: { VAGRANT_CWD: dir, VAGRANT_DOTFILE_PATH: join(runDir, `vagrant-${name}`), ...env } };
    projects.push(project);
    return project;
  },
  vagrant(project, vargs, opts = {}) {
    return bootGuard(() => ctx.inNs(['vagrant', ...vargs], { cwd: project.dir, ...opts, env: { ...project.env, ...(opts.env ?? {}) } }), opts);
  },
  async http(url) {
    const { stdout } = await ctx.inNs(['curl', '-sS', '-m', '10', '--fail-with-body', url], { timeoutMs: 30_000 });
    return stdout;
  },
  async freePort() {
    const js = 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})';
    const { stdout } = await ctx.inNs(['node', '-e', js], { timeoutMs: 30_000 });
    return Number(stdout.trim());
  },
  upTimeoutMs(vms) {
    return (UP_MINUTES_BASE + UP_MINUTES_PER_VM * vms) * 60_000;
  },
  busyboxRootfs() {
    return buildBusyboxRootfs(CACHE, currentLog);
  },
  /** Path of the Flatcar stand-in image (set by the runner when a scenario needs it). */
  flatcarStandin: undefined,
};

/** On a failed or timed-out boot, show the end of the serial consoles: the reason is usually there. */
async function bootGuard(fn, opts) {
  try {
    return await fn();
  } catch (err) {
    if (opts.boot) {
      await host.pollConsoles().catch(() => {});
      const tail = host.consoleTail();
      if (tail) err.message += `\n${tail}`;
    }
    throw err;
  }
}

async function step(name, fn) {
  if (wasInterrupted()) {
    results.push({ step: name, status: 'skipped', ms: 0 });
    return false;
  }
  say(`▶ ${name}`);
  const started = Date.now();
  try {
    await fn(ctx);
    const ms = Date.now() - started;
    results.push({ step: name, status: 'ok', ms });
    say(`✓ ${name} (${(ms / 1000).toFixed(1)} s)`);
    return true;
  } catch (err) {
    const ms = Date.now() - started;
    results.push({ step: name, status: 'FAIL', ms, error: err.message });
    say(`✗ ${name} (${(ms / 1000).toFixed(1)} s)\n${cleanOutput(err.message)}`);
    return false;
  }
}

// --- signals: stop what runs, then tear down; a third signal gives up on the teardown ---
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    signals++;
    if (signals === 1) {
      say(`${sig}: stopping the running step, then tearing down (VMs, daemons, namespace, routes)…`);
      interruptAll();
    } else if (signals === 2) {
      say('still tearing down; a third signal leaves the machine as it is');
    } else {
      say(`giving up: check virsh list --all, ip netns list (${host.ns}), ip route (unreachable guards) and pgrep -x libvirtd`);
      process.exit(130);
    }
  });
}

async function destroyEverything() {
  resumeAfterInterrupt();
  currentLog = join(runDir, 'teardown.log');
  // Vagrant projects first (so Vagrant forgets them), then whatever libvirt still holds.
  const dirs = projects.map((p) => ({ dir: p.dir, env: p.env }));
  const labs = join(cclabHome, 'labs');
  if (existsSync(labs)) {
    for (const name of readdirSync(labs)) {
      const dir = join(labs, name);
      if (existsSync(join(dir, 'Vagrantfile'))) dirs.push({ dir, env: { VAGRANT_CWD: dir } });
    }
  }
  if (host.daemonPids.libvirtd) {
    for (const { dir, env } of dirs) {
      await run(host.nsArgv(['vagrant', 'destroy', '-f']), { cwd: dir, env: { ...childEnv, ...env }, log: currentLog, timeoutMs: 300_000, check: false, evenIfInterrupted: true })
        .catch((err) => say(`vagrant destroy in ${dir}: ${err.message}`));
    }
  }
  return host.teardown();
}

function printTable() {
  const width = Math.max(20, ...results.map((r) => r.step.length));
  const lines = ['', `${'step'.padEnd(width)}  result   time`, `${'-'.repeat(width)}  -------  --------`];
  for (const r of results) lines.push(`${r.step.padEnd(width)}  ${r.status.padEnd(7)}  ${r.status === 'skipped' ? '' : `${(r.ms / 1000).toFixed(1).padStart(7)}s`}`);
  const passed = results.filter((r) => r.status === 'ok').length;
  const failed = results.filter((r) => r.status === 'FAIL').length;
  const skipped = results.filter((r) => r.status === 'skipped').length;
  if (skipped) lines.push('', `${skipped} skipped after a failure or an interruption`);
  lines.push(`logs: ${runDir}`, `${passed} passed, ${failed} failed`);
  process.stdout.write(lines.join('\n') + '\n');
  return failed;
}

async function main() {
  say(`run ${runId}: scenarios ${selected.join(', ')}; namespace ${host.ns}; logs in ${runDir}`);
  let ready = await step('host: namespace, route guards, libvirt daemons', () => host.setup());
  if (ready) {
    ready = await step('box: build or reuse cclab-test/debian', () =>
      run(['bash', join(E2E_DIR, 'box', 'build.sh')], { env: { ...childEnv, CCLAB_E2E_CACHE: CACHE }, log: join(runDir, 'box-build.log'), timeoutMs: 30 * 60_000 }));
  }
  if (ready && selected.some((n) => SCENARIOS[n].needsFlatcarStandin)) {
    ready = await step('box: build or reuse the Flatcar stand-in image', async () => {
      const { stdout } = await run(['bash', join(E2E_DIR, 'box', 'build-flatcar-standin.sh')], { env: { ...childEnv, CCLAB_E2E_CACHE: CACHE }, log: join(runDir, 'box-build.log'), timeoutMs: 30 * 60_000 });
      ctx.flatcarStandin = stdout.trim().split('\n').pop();
      if (!ctx.flatcarStandin || !existsSync(ctx.flatcarStandin)) throw new Error(`build-flatcar-standin.sh printed no image path (got "${stdout.trim()}")`);
      say(`Flatcar stand-in image: ${ctx.flatcarStandin}`);
    });
  }
  if (ready && selected.some((n) => SCENARIOS[n].needsCclab)) {
    ready = await step('cclab: npm run build', () => run(['npm', 'run', 'build'], { cwd: REPO, log: join(runDir, 'cclab-build.log'), timeoutMs: 600_000 }));
  }
  for (const scenario of [...selected.map((n) => SCENARIOS[n]), leftoversScenario]) {
    currentLog = join(runDir, `${scenario.name}.log`);
    if (!ready || wasInterrupted()) {
      for (const [name] of scenario.steps) results.push({ step: `${scenario.name}: ${name}`, status: 'skipped', ms: 0 });
      continue;
    }
    say(`— scenario ${scenario.name}: ${scenario.description}`);
    let ok = scenario.setup ? await step(`${scenario.name}: setup`, () => scenario.setup(ctx)) : true;
    for (const [name, fn] of scenario.steps) {
      if (!ok) {
        results.push({ step: `${scenario.name}: ${name}`, status: 'skipped', ms: 0 });
        continue;
      }
      ok = await step(`${scenario.name}: ${name}`, fn);
    }
    if (!wasInterrupted()) {
      try {
        await scenario.cleanup(ctx);
      } catch (err) {
        say(`cleanup of ${scenario.name}: ${err.message}`);
      }
    }
  }
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  say(`runner error: ${err.stack ?? err.message}`);
  results.push({ step: 'runner', status: 'FAIL', ms: 0, error: err.message });
}
const teardownStarted = Date.now();
say('teardown: destroying VMs, stopping daemons, deleting the namespace and route guards');
const problems = await destroyEverything();
try {
  // Lab directories still there after a failure: kept with the run's logs, then the home goes.
  const labs = join(cclabHome, 'labs');
  const left = existsSync(labs) ? readdirSync(labs).filter((n) => !n.startsWith('.')) : [];
  if (left.length) cpSync(labs, join(runDir, 'cclab-labs-left'), { recursive: true });
  rmSync(varDir, { recursive: true, force: true });
} catch (err) {
  problems.push(`removing ${varDir}: ${err.message}`);
}
results.push({ step: 'teardown', status: problems.length ? 'FAIL' : 'ok', ms: Date.now() - teardownStarted, error: problems.join('; ') });
if (problems.length) say(`teardown problems:\n${problems.join('\n')}`);
const failed = printTable();
if (failed) exitCode = 1;
if (wasInterrupted() || signals > 0) exitCode = 130;
process.exit(exitCode);
