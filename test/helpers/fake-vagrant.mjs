#!/usr/bin/env node
/**
 * A stand-in for the `vagrant` binary, for tests and benchmarks of everything above the driver.
 * It prints what Vagrant 2.3.4 prints (texts from Vagrant's and vagrant-libvirt's locales; the
 * machine-readable format checked against captures in test/fixtures/vagrant/) and keeps machine
 * state in a JSON file instead of running VMs.
 *
 * Commands: --version, status [--machine-readable], up, halt [--force], suspend, resume
 * [--no-provision], destroy -f, port NAME
 * [--machine-readable], ssh-config, ssh, box list, plugin list, validate [-p], snapshot
 * save|restore|delete [MACHINE] NAME, snapshot list [--machine-readable] [MACHINES].
 *
 * Machines: `config.vm.define "NAME"` lines of the Vagrantfile in the working directory (or a
 * parent), or FAKE_VAGRANT_MACHINES=a,b,c. Forwarded ports: the `forwarded_port … guest: G,
 * host: H` lines inside each machine's block; a Vagrantfile with none gets 2375 → 2375.
 *
 * Environment:
 *   FAKE_VAGRANT_LOG            append one JSON line per invocation ({pid, argv, cwd, pgid, env: the
 *                               VAGRANT_* variables}), per signal received ({pid, signal}) and per box import
 *   FAKE_VAGRANT_STATE          state file (default: .vagrant/fake-vagrant-state.json beside the
 *                               Vagrantfile; `box list` reads boxes from FAKE_VAGRANT_STATE only)
 *   FAKE_VAGRANT_MACHINES       machine names, comma-separated (instead of reading the Vagrantfile)
 *   FAKE_VAGRANT_FAIL_UP        machine(s) whose boot times out (Vagrant's BootTimeout error, exit 1)
 *   FAKE_VAGRANT_UP_DELAY_MS    time each machine takes to boot (default 0)
 *   FAKE_VAGRANT_BOX_IMPORT_MS  time the first import of a box takes (default 0); a second process
 *                               importing the same box meanwhile fails, as VirtualBox's linked-clone
 *                               master lock (or libvirt's volume upload) does
 *   FAKE_VAGRANT_CLEANUP_MS     time the cleanup after SIGINT takes (default 0)
 *   FAKE_VAGRANT_MOVE_PORT      auto_correct: `N` moves every Docker forward (guest 2375 or 2376) to host port N;
 *                               `H=N,…` moves requested host port H to N
 *   FAKE_VAGRANT_VERSION        version printed (default 2.3.4)
 *   FAKE_VAGRANT_PLUGINS        name:version:scope,… (default vagrant-libvirt:0.11.2:system; "" for none)
 *   FAKE_VAGRANT_PLUGINS_FILE   a file holding that list, read instead when it exists (a package install adds a plugin)
 *   FAKE_VAGRANT_SSH_EXIT       exit status of `vagrant ssh` (default 0)
 *   FAKE_VAGRANT_FAIL_SNAPSHOT  machine(s) whose `snapshot save` fails (VBoxManage's error, exit 1)
 *   FAKE_VAGRANT_FAIL_RESUME    machine(s) whose `resume` fails (libvirt's error, exit 1)
 *   FAKE_VAGRANT_SSH_USER       User of `ssh-config` (default core); FAKE_VAGRANT_SSH_KEY its IdentityFile
 *                               (default VAGRANT_HOME's insecure key); FAKE_VAGRANT_SSH_PORT: every machine
 *                               booted is at 127.0.0.1:PORT. Tests point them at a real sshd.
 *
 * Differences from Vagrant kept on purpose: no provisioners run; `up` of a VirtualBox machine
 * always behaves like a linked clone (the box is imported once, later machines are cloned).
 */
import fs from 'node:fs';
import path from 'node:path';

const env = process.env;
const args = process.argv.slice(2);
const cwd = process.cwd();

function log(entry) {
  if (!env.FAKE_VAGRANT_LOG) return;
  fs.appendFileSync(env.FAKE_VAGRANT_LOG, JSON.stringify({ pid: process.pid, ...entry }) + '\n');
}
/** The process group (Linux), so tests can see whether Vagrant was started in a group of its own. */
function pgid() {
  try {
    return Number(fs.readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ')[2]);
  } catch {
    return undefined;
  }
}
log({ argv: args, cwd, pgid: pgid(), env: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('VAGRANT_') || k === 'CCLAB_VAGRANT')) });

// ------------------------------------------------------------------------------------------
// Output

const machineReadable = args.includes('--machine-readable');
const now = () => Math.floor(Date.now() / 1000);
const esc = (s) => String(s).replace(/,/g, '%!(VAGRANT_COMMA)').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
const record = (target, type, ...data) => process.stdout.write(`${now()},${target},${type},${data.map(esc).join(',')}\n`);
const out = (text) => (machineReadable ? record('', 'ui', 'info', text) : process.stdout.write(text + '\n'));
const say = (name, text) => (machineReadable ? record(name, 'ui', 'info', text) : process.stdout.write(`==> ${name}: ${text}\n`));
const detail = (name, text) => (machineReadable ? record(name, 'ui', 'detail', text) : process.stdout.write(`    ${name}: ${text}\n`));

/** Vagrant's way of failing: the message on stderr (or ui,error + error-exit records), exit 1. */
class VagrantError extends Error {
  constructor(errorClass, message) {
    super(message);
    this.errorClass = errorClass;
  }
}
function fail(e) {
  if (machineReadable) {
    record('', 'ui', 'error', e.message);
    record('', 'error-exit', e.errorClass, e.message);
  } else {
    process.stderr.write(e.message + '\n');
  }
  process.exit(1);
}

const MESSAGES = {
  noEnv:
    'A Vagrant environment or target machine is required to run this\ncommand. Run `vagrant init` to create a new Vagrant environment. Or,\nget an ID of a target machine from `vagrant global-status` to run\nthis command on. A final option is to change to a directory with a\nVagrantfile and to try again.',
  machineNotFound: (n) => `The machine with the name '${n}' was not found configured for\nthis Vagrant environment.`,
  multiVmTarget: 'This command requires a specific VM name to target in a multi-VM environment.',
  sshNotReady:
    "The provider for this Vagrant-managed machine is reporting that it\nis not yet ready for SSH. Depending on your provider this can carry\ndifferent meanings. Make sure your machine is created and running and\ntry again. Additionally, check the output of `vagrant status` to verify\nthat the machine is in the state that you expect. If you continue to\nget this error message, please view the documentation for the provider\nyou're using.",
  bootTimeout:
    'Timed out while waiting for the machine to boot. This means that\nVagrant was unable to communicate with the guest machine within\nthe configured ("config.vm.boot_timeout" value) time period.\n\nIf you look above, you should be able to see the error(s) that\nVagrant had when attempting to connect to the machine. These errors\nare usually good hints as to what may be wrong.\n\nIf you\'re using a custom box, make sure that networking is properly\nworking and you\'re able to connect to the machine. It is a common\nproblem that networking isn\'t setup properly in these boxes.\nVerify that authentication configurations are also setup properly,\nas well.\n\nIf the box appears to be booting properly, you may want to increase\nthe timeout ("config.vm.boot_timeout") value.',
  batch: (inner) => `An error occurred while executing multiple actions in parallel.\nAny errors that occurred are shown below.\n\n${inner}`,
  batchMachine: (n, m) => `An error occurred while executing the action on the '${n}'\nmachine. Please handle this error then try again:\n\n${m}`,
  uiExpectsTty:
    'Vagrant is attempting to interface with the UI in a way that requires\na TTY. Most actions in Vagrant that require a TTY have configuration\nswitches to disable this requirement. Please do that or run Vagrant\nwith TTY.',
  interrupted: 'Vagrant exited after cleanup due to external interrupt.',
  providerNotFound: (p, m) =>
    `The provider '${p}' could not be found, but was requested to\nback the machine '${m}'. Please use a provider that exists.\n\nVagrant knows about the following providers: docker, hyperv, virtualbox, libvirt`,
  portsUnsupported: (p) =>
    `The ${p} provider does not support listing forwarded ports. This is\nmost likely a limitation of the provider and not a bug in Vagrant. If you\nbelieve this is a bug in Vagrant, please search existing issues before\nopening a new one.`,
  portDetails:
    'The forwarded ports for the machine are listed below. Please note that\nthese values may differ from values configured in the Vagrantfile if the\nprovider supports automatic port collision detection and resolution.',
  emptyPorts:
    'The provider reported there are no forwarded ports for this virtual\nmachine. This can be caused if there are no ports specified in the\nVagrantfile or if the virtual machine is not currently running. Please\ncheck that the virtual machine is running and try again.',
};

/** What differs between providers: state names and texts, SSH address, boot lines. */
const PROVIDERS = {
  virtualbox: {
    parallel: false,
    stopped: 'poweroff',
    states: {
      not_created: ['not created', 'The environment has not yet been created. Run `vagrant up` to\ncreate the environment. If a machine is not created, only the\ndefault provider will be shown. So if a provider is not listed,\nthen the machine is not created for that environment.'],
      running: ['running', 'The VM is running. To stop this VM, you can run `vagrant halt` to\nshut it down forcefully, or you can run `vagrant suspend` to simply\nsuspend the virtual machine. In either case, to restart it again,\nsimply run `vagrant up`.'],
      poweroff: ['poweroff', 'The VM is powered off. To restart the VM, simply run `vagrant up`'],
      saved: ['saved', 'To resume this VM, simply run `vagrant up`.'],
    },
    suspended: 'saved',
    suspending: 'Saving VM state and suspending execution...',
    resuming: 'Resuming suspended VM...',
    ssh: (index) => ({ host: '127.0.0.1', port: index === 0 ? 2222 : 2199 + index }),
    listsPorts: true,
    notCreated: 'VM not created. Moving on...',
    importFailure: (box) => `Failed to create lock-file for master VM creation for box ${box}.`,
  },
  libvirt: {
    parallel: true,
    stopped: 'shutoff',
    states: {
      not_created: ['not created', 'The Libvirt domain is not created. Run `vagrant up` to create it.'],
      running: ['running', 'The Libvirt domain is running. To stop this machine, you can run\n`vagrant halt`. To destroy the machine, you can run `vagrant destroy`.'],
      shutoff: ['shutoff', 'The Libvirt domain is not running. Run `vagrant up` to start it.'],
      paused: ['paused', 'The Libvirt domain is suspended. Run `vagrant resume` to resume it.'],
    },
    suspended: 'paused',
    suspending: 'Suspending domain...',
    resuming: 'Resuming domain...',
    ssh: (index) => ({ host: `192.168.121.${10 + index}`, port: 22 }),
    listsPorts: false,
    notCreated: 'Domain is not created. Please run `vagrant up` first.',
    importFailure: (box) =>
      `Error while uploading image to storage pool: Call to virStorageVolCreateXML failed: storage volume '${box.replace(/\//g, '-VAGRANTSLASH-')}_vagrant_box_image_0_box.img' exists already`,
  },
};
PROVIDERS.parallels = { ...PROVIDERS.virtualbox, stopped: 'stopped', states: { ...PROVIDERS.virtualbox.states, stopped: ['stopped', 'The VM is stopped.'] } };

// ------------------------------------------------------------------------------------------
// The environment: Vagrantfile, machines, boxes

function findRoot(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'Vagrantfile'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

function loadEnvironment() {
  const root = findRoot(cwd);
  if (!root) throw new VagrantError('Vagrant::Errors::NoEnvironmentError', MESSAGES.noEnv);
  const text = fs.readFileSync(path.join(root, 'Vagrantfile'), 'utf8');
  const defines = [...text.matchAll(/\bvm\.define\s*\(?\s*["':]([A-Za-z0-9_.-]+)["']?/g)];
  const names = env.FAKE_VAGRANT_MACHINES ? env.FAKE_VAGRANT_MACHINES.split(',').filter(Boolean) : defines.map((m) => m[1]);
  if (names.length === 0) names.push('default');
  const anyForward = /forwarded_port/.test(text);
  const machines = names.map((name, index) => {
    const d = defines.findIndex((m) => m[1] === name);
    const block = d < 0 ? '' : text.slice(defines[d].index, defines[d + 1]?.index ?? text.length);
    const ports = [...block.matchAll(/forwarded_port[^\n]*?guest:\s*(\d+)[^\n]*?host:\s*(\d+)/g)].map((m) => ({ guest: Number(m[1]), host: Number(m[2]) }));
    if (!anyForward) ports.push({ guest: 2375, host: 2375 });
    const hostname = /^\s*\w+\.vm\.hostname\s*=/m.test(block) || /^\s*config\.vm\.hostname\s*=/m.test(text);
    return { name, index, hostname, ports: ports.map((p) => ({ guest: p.guest, host: movedPort(p) })) };
  });
  const box = /\bvm\.box\s*=\s*["']([^"']+)["']/.exec(text)?.[1] ?? 'flatcar-stable';
  return { root, machines, box, byName: new Map(machines.map((m) => [m.name, m])) };
}

function movedPort({ guest, host }) {
  const spec = env.FAKE_VAGRANT_MOVE_PORT;
  if (!spec) return host;
  if (/^\d+$/.test(spec)) return guest === 2375 || guest === 2376 ? Number(spec) : host;
  for (const pair of spec.split(',')) {
    const [from, to] = pair.split('=').map(Number);
    if (from === host) return to;
  }
  return host;
}

function targets(e, names) {
  for (const n of names) if (!e.byName.has(n)) throw new VagrantError('Vagrant::Errors::MachineNotFound', MESSAGES.machineNotFound(n));
  return names.length > 0 ? names.map((n) => e.byName.get(n)) : e.machines;
}

function defaultProvider() {
  return env.VAGRANT_DEFAULT_PROVIDER || 'virtualbox';
}

function providerOf(name, wanted) {
  const p = PROVIDERS[wanted];
  if (!p) throw new VagrantError('Vagrant::Errors::ProviderNotFound', MESSAGES.providerNotFound(wanted, name));
  return p;
}

function sshUser() {
  return env.FAKE_VAGRANT_SSH_USER || 'core';
}

function vagrantHome() {
  return env.VAGRANT_HOME || path.join(env.HOME || '/root', '.vagrant.d');
}

// ------------------------------------------------------------------------------------------
// State: one JSON file, changed under a lock file (several fake processes run at once)

let statePath;
function stateFile(e) {
  statePath ??= env.FAKE_VAGRANT_STATE || path.join(e.root, '.vagrant', 'fake-vagrant-state.json');
  return statePath;
}

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};

function withState(e, fn) {
  const file = stateFile(e);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lock = file + '.lock';
  const mine = String(process.pid);
  // The lock is created whole (a private file hard-linked into place), so a reader never sees it
  // empty; only an old lock of a dead process is stale, and only our own lock is ever released.
  const draft = `${lock}.${mine}`;
  fs.writeFileSync(draft, mine);
  try {
    for (let i = 0; ; i++) {
      try {
        fs.linkSync(draft, lock);
        break;
      } catch (err) {
        if (err.code !== 'EEXIST') throw err;
      }
      let holder = 0;
      let age = 0;
      try {
        holder = Number(fs.readFileSync(lock, 'utf8') || 0);
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch (err) {
        if (err.code === 'ENOENT') continue; // released meanwhile: try again at once
        throw err;
      }
      if (holder && !alive(holder) && age > 2000) {
        const aside = `${lock}.${mine}.stale`;
        try {
          fs.renameSync(lock, aside);
          if (Number(fs.readFileSync(aside, 'utf8') || 0) === holder) fs.rmSync(aside, { force: true });
          else fs.linkSync(aside, lock), fs.rmSync(aside, { force: true });
        } catch (err) {
          if (err.code !== 'ENOENT' && err.code !== 'EEXIST') throw err;
        }
      } else if (i > 4000) throw new Error(`fake vagrant: state lock ${lock} held by ${holder}`);
      else sleepSync(5);
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
  try {
    const state = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
    state.envs ??= {};
    state.boxes ??= {};
    state.importing ??= {};
    const result = fn(state);
    const tmp = `${file}.${mine}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
    fs.renameSync(tmp, file);
    return result;
  } finally {
    try {
      if (fs.readFileSync(lock, 'utf8') === mine) fs.rmSync(lock, { force: true });
    } catch {
      // already gone
    }
  }
}

function machineState(state, e, name) {
  return state.envs[e.root]?.machines?.[name];
}
function setMachine(e, name, value) {
  withState(e, (s) => {
    s.envs[e.root] ??= { machines: {} };
    if (value === undefined) delete s.envs[e.root].machines[name];
    else s.envs[e.root].machines[name] = value;
  });
}
function readMachine(e, name) {
  return withState(e, (s) => machineState(s, e, name));
}

// ------------------------------------------------------------------------------------------
// Interrupts: the first SIGINT asks for cleanup, the second exits at once (as Vagrant does)

let interrupted = false;
const inFlight = new Set();
const wakeups = new Set();
process.on('SIGINT', () => {
  log({ signal: 'SIGINT' });
  if (interrupted) {
    process.stderr.write('Exiting immediately, without cleanup!\n');
    process.exit(1);
  }
  interrupted = true;
  for (const name of inFlight) say(name, 'Waiting for cleanup before exiting...');
  for (const w of wakeups) w();
});
process.on('SIGTERM', () => {
  log({ signal: 'SIGTERM' });
  process.exit(143);
});

/** Sleeps, but wakes up early on SIGINT. */
function sleep(ms) {
  if (!ms || interrupted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      wakeups.delete(done);
      resolve();
    };
    const t = setTimeout(done, ms);
    wakeups.add(done);
  });
}

class Interrupt extends Error {}
const checkpoint = () => {
  if (interrupted) throw new Interrupt();
};

// ------------------------------------------------------------------------------------------
// Commands

const commands = {
  async status(e, rest) {
    const list = targets(e, rest);
    const rows = withState(e, (s) =>
      list.map((m) => {
        const st = machineState(s, e, m.name);
        const provider = st?.provider ?? defaultProvider();
        const p = providerOf(m.name, provider);
        const id = st?.state ?? 'not_created';
        const [short, long] = p.states[id] ?? [id, id];
        return { name: m.name, provider, id, short, long };
      }),
    );
    const summary = rows.map((r) => `${r.name.padEnd(25)} ${r.short} (${r.provider})`).join('\n');
    const trailer =
      rows.length > 1
        ? 'This environment represents multiple VMs. The VMs are all listed\nabove with their current state. For more information about a specific\nVM, run `vagrant status NAME`.'
        : rows[0].long;
    if (machineReadable) {
      for (const r of rows) record(r.name, 'metadata', 'provider', r.provider);
      for (const r of rows) {
        record(r.name, 'provider-name', r.provider);
        record(r.name, 'state', r.id);
        record(r.name, 'state-human-short', r.short);
        record(r.name, 'state-human-long', r.long);
      }
      record('', 'ui', 'info', `Current machine states:\n\n${summary}\n\n${trailer}`);
    } else {
      process.stdout.write(`Current machine states:\n\n${summary}\n\n${trailer}\n`);
    }
  },

  async up(e, rest) {
    let provider;
    let parallelFlag = true;
    let destroyOnError = true;
    const names = [];
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i];
      if (a === '--provider') provider = rest[++i];
      else if (a.startsWith('--provider=')) provider = a.slice('--provider='.length);
      else if (a === '--parallel') parallelFlag = true;
      else if (a === '--no-parallel') parallelFlag = false;
      else if (a === '--no-destroy-on-error') destroyOnError = false;
      else if (a === '--destroy-on-error') destroyOnError = true;
      else if (a.startsWith('-')) continue;
      else names.push(a);
    }
    const list = targets(e, names);
    const plan = list.map((m) => {
      const st = readMachine(e, m.name);
      const name = st?.provider ?? provider ?? defaultProvider();
      return { m, providerName: name, p: providerOf(m.name, name), st };
    });
    for (const x of plan) out(`Bringing machine '${x.m.name}' up with '${x.providerName}' provider...`);
    const parallel = parallelFlag && plan.every((x) => x.p.parallel) && plan.length > 1;
    const failUp = new Set((env.FAKE_VAGRANT_FAIL_UP ?? '').split(',').filter(Boolean));
    const errors = [];
    const one = async (x) => {
      try {
        await bringUp(e, x, failUp.has(x.m.name), destroyOnError);
      } catch (err) {
        if (!(err instanceof VagrantError || err instanceof Interrupt)) throw err;
        errors.push({ name: x.m.name, err });
        if (!parallel) throw err;
      }
    };
    try {
      if (parallel) await Promise.all(plan.map(one));
      else for (const x of plan) await one(x);
    } catch {
      // sequential: stop at the first failure (recorded in errors)
    }
    if (interrupted) {
      process.stderr.write(MESSAGES.interrupted + '\n');
      process.exit(1);
    }
    if (errors.length > 0) {
      const message = parallel
        ? MESSAGES.batch(errors.map((x) => MESSAGES.batchMachine(x.name, x.err.message)).join('\n\n'))
        : errors[0].err.message;
      fail(new VagrantError(errors[0].err.errorClass ?? 'Vagrant::Errors::BatchMultiError', message));
    }
  },

  async halt(e, rest) {
    const force = rest.includes('-f') || rest.includes('--force');
    const list = targets(e, rest.filter((a) => !a.startsWith('-'))).slice().reverse();
    for (const m of list) {
      const st = readMachine(e, m.name);
      const p = providerOf(m.name, st?.provider ?? defaultProvider());
      if (!st) say(m.name, p.notCreated);
      else if (st.state === 'running') {
        say(m.name, force ? 'Forcing shutdown of VM...' : 'Attempting graceful shutdown of VM...');
        setMachine(e, m.name, { ...st, state: p.stopped, ...(force && { forced: true }) });
      }
    }
  },

  /** Running machines stop where they are (libvirt: paused; VirtualBox: saved); others are left alone. */
  async suspend(e, rest) {
    for (const m of targets(e, rest.filter((a) => !a.startsWith('-')))) {
      const st = readMachine(e, m.name);
      const p = providerOf(m.name, st?.provider ?? defaultProvider());
      if (!st) say(m.name, p.notCreated);
      else if (st.state === 'running') {
        say(m.name, p.suspending);
        setMachine(e, m.name, { ...st, state: p.suspended });
      } else say(m.name, 'Machine is not running. Please run `vagrant up` first.');
    }
  },

  async resume(e, rest) {
    const failOn = new Set((env.FAKE_VAGRANT_FAIL_RESUME ?? '').split(',').filter(Boolean));
    for (const m of targets(e, rest.filter((a) => !a.startsWith('-')))) {
      const st = readMachine(e, m.name);
      const p = providerOf(m.name, st?.provider ?? defaultProvider());
      if (!st) say(m.name, p.notCreated);
      else if (st.state === p.suspended) {
        say(m.name, p.resuming);
        if (failOn.has(m.name)) {
          if (p === PROVIDERS.libvirt) throw new VagrantError('Libvirt::Error', 'Call to virDomainResume failed: Requested operation is not valid: domain is not running');
          throw new VagrantError('Vagrant::Errors::VBoxManageError', `There was an error while executing \`VBoxManage\`, a CLI used by Vagrant\nfor controlling VirtualBox. The command and stderr is shown below.\n\nCommand: ["startvm", "${m.name}", "--type", "headless"]\n\nStderr: VBoxManage: error: The machine '${m.name}' is already locked by a session (or being locked or unlocked)`);
        }
        setMachine(e, m.name, { ...st, state: 'running' });
        say(m.name, 'Machine booted and ready!');
      } else say(m.name, 'Domain is not suspended.');
    }
  },

  /** save/restore/delete [MACHINE] NAME (without a machine: each machine in turn, as Vagrant does), list [MACHINES]. */
  async snapshot(e, rest) {
    const [sub, ...words] = rest;
    const plain = words.filter((a) => !a.startsWith('-'));
    if (sub === 'list') {
      for (const m of targets(e, plain)) {
        const st = readMachine(e, m.name);
        if (!st) {
          say(m.name, 'VM not created. Moving on...');
          continue;
        }
        const snaps = st.snapshots ?? [];
        // Vagrant's Prefixed UI formats these even in machine-readable records; the names are not prefixed.
        if (snaps.length === 0) {
          machineReadable ? record(m.name, 'ui', 'output', `==> ${m.name}: No snapshots have been taken yet!`) : say(m.name, 'No snapshots have been taken yet!');
          machineReadable ? record(m.name, 'ui', 'detail', `    ${m.name}: You can take a snapshot using \`vagrant snapshot save\`. Note that`) : detail(m.name, 'You can take a snapshot using `vagrant snapshot save`.');
          continue;
        }
        machineReadable ? record(m.name, 'ui', 'output', `==> ${m.name}: `) : say(m.name, '');
        for (const x of snaps) machineReadable ? record(m.name, 'ui', 'detail', x.name) : process.stdout.write(x.name + '\n');
      }
      return;
    }
    // Vagrant takes one machine or none (every machine): `argv.empty? || argv.length > 2` is a usage error.
    if (!['save', 'restore', 'delete'].includes(sub) || plain.length === 0 || plain.length > 2) {
      process.stderr.write(`Usage: vagrant snapshot ${sub} [options] [vm-name] <name>\n`);
      process.exit(1);
    }
    const name = plain.pop();
    const failOn = new Set((env.FAKE_VAGRANT_FAIL_SNAPSHOT ?? '').split(',').filter(Boolean));
    for (const m of targets(e, plain)) {
      const st = readMachine(e, m.name);
      const p = providerOf(m.name, st?.provider ?? defaultProvider());
      if (!st) {
        say(m.name, p.notCreated);
        continue;
      }
      const snaps = st.snapshots ?? [];
      const has = snaps.find((x) => x.name === name);
      if (sub === 'save') {
        if (has) throw new VagrantError('Vagrant::Errors::SnapshotConflictFailed', 'You must include the `--force` option to replace an existing snapshot.');
        say(m.name, `Snapshotting the machine as '${name}'...`);
        if (failOn.has(m.name)) throw new VagrantError('Vagrant::Errors::VBoxManageError', `There was an error while executing \`VBoxManage\`, a CLI used by Vagrant\nfor controlling VirtualBox. The command and stderr is shown below.\n\nCommand: ["snapshot", "${m.name}", "take", "${name}", "--live"]\n\nStderr: VBoxManage: error: Not enough free disk space`);
        setMachine(e, m.name, { ...st, snapshots: [...snaps, { name, state: st.state }] });
        say(m.name, 'Snapshot saved! You can restore the snapshot at any time by\nusing `vagrant snapshot restore`. You can delete it using\n`vagrant snapshot delete`.');
      } else {
        if (!has) throw new VagrantError('Vagrant::Errors::SnapshotNotFound', `The snapshot name \`${name}\` was not found for the\nvirtual machine \`${m.name}\`.`);
        if (sub === 'delete') {
          say(m.name, `Deleting the snapshot '${name}'...`);
          setMachine(e, m.name, { ...st, snapshots: snaps.filter((x) => x.name !== name) });
          say(m.name, 'Snapshot deleted!');
        } else {
          say(m.name, `Restoring the snapshot '${name}'...`);
          const { forced: _, ...rest } = st;
          // VirtualBox starts the machine after the restore (snapshot_start); libvirt leaves it as it was taken.
          setMachine(e, m.name, { ...rest, state: p === PROVIDERS.libvirt ? has.state : 'running', restored: name });
        }
      }
    }
  },

  async destroy(e, rest) {
    const force = rest.includes('-f') || rest.includes('--force');
    const list = targets(e, rest.filter((a) => !a.startsWith('-'))).slice().reverse();
    for (const m of list) {
      const st = readMachine(e, m.name);
      const p = providerOf(m.name, st?.provider ?? defaultProvider());
      if (!st) {
        say(m.name, p.notCreated);
        continue;
      }
      if (!force) throw new VagrantError('Vagrant::Errors::UIExpectsTTY', MESSAGES.uiExpectsTty);
      if (st.state === 'running') say(m.name, 'Forcing shutdown of VM...');
      say(m.name, 'Destroying VM and associated drives...');
      setMachine(e, m.name, undefined);
    }
  },

  async port(e, rest) {
    const names = rest.filter((a) => !a.startsWith('-'));
    if (names.length === 0 && e.machines.length > 1) throw new VagrantError('Vagrant::Errors::MultiVMTargetRequired', MESSAGES.multiVmTarget);
    const [m] = targets(e, names.slice(0, 1));
    const st = readMachine(e, m.name);
    const providerName = st?.provider ?? defaultProvider();
    const p = providerOf(m.name, providerName);
    if (machineReadable) record(m.name, 'metadata', 'provider', providerName);
    if (!p.listsPorts) {
      // Vagrant's port command prints a ui error and returns 1 (no error-exit record).
      if (machineReadable) record('', 'ui', 'error', MESSAGES.portsUnsupported(providerName));
      else process.stderr.write(MESSAGES.portsUnsupported(providerName) + '\n');
      process.exit(1);
    }
    if (st?.state !== 'running') {
      out(MESSAGES.emptyPorts);
      return;
    }
    const ports = [{ guest: 22, host: st.sshPort }, ...m.ports];
    out(MESSAGES.portDetails);
    out('');
    for (const fp of ports) {
      out(`${String(fp.guest).padStart(6)} (guest) => ${fp.host} (host)`);
      if (machineReadable) record(m.name, 'forwarded_port', fp.guest, fp.host);
    }
  },

  async 'ssh-config'(e, rest) {
    const list = targets(e, rest.filter((a) => !a.startsWith('-')));
    const blocks = [];
    for (const m of list) {
      const st = readMachine(e, m.name);
      if (st?.state !== 'running') throw new VagrantError('Vagrant::Errors::SSHNotReady', MESSAGES.sshNotReady);
      const key = env.FAKE_VAGRANT_SSH_KEY || path.join(vagrantHome(), 'insecure_private_key');
      blocks.push(
        [
          `Host ${m.name}`,
          `  HostName ${st.sshHost}`,
          `  User ${sshUser()}`,
          `  Port ${st.sshPort}`,
          '  UserKnownHostsFile /dev/null',
          '  StrictHostKeyChecking no',
          '  PasswordAuthentication no',
          `  IdentityFile ${key.includes(' ') ? `"${key}"` : key}`,
          '  IdentitiesOnly yes',
          '  LogLevel FATAL',
          '',
          '',
        ].join('\n'),
      );
    }
    process.stdout.write(blocks.join(''));
  },

  async ssh(e, rest) {
    const names = rest.filter((a, i) => !a.startsWith('-') && rest[i - 1] !== '-c' && rest[i - 1] !== '--command');
    const [m] = targets(e, names.slice(0, 1));
    const st = readMachine(e, m.name);
    if (st?.state !== 'running') throw new VagrantError('Vagrant::Errors::SSHNotReady', MESSAGES.sshNotReady);
    process.exit(Number(env.FAKE_VAGRANT_SSH_EXIT ?? 0));
  },

  async validate(e, rest) {
    if (rest.includes('-p') || rest.includes('--ignore-provider')) {
      for (const m of e.machines) say(m.name, 'Ignoring provider config for validation...');
    }
    out('Vagrantfile validated successfully.');
  },
};

async function bringUp(e, { m, providerName, p, st }, failBoot, destroyOnError) {
  inFlight.add(m.name);
  const created = !st;
  try {
    if (st?.state === 'running') {
      say(m.name, 'Machine already provisioned. Run `vagrant provision` or use the `--provision`');
      say(m.name, 'flag to force provisioning. Provisioners marked to run always will still run.');
      return;
    }
    const ssh = env.FAKE_VAGRANT_SSH_PORT ? { host: '127.0.0.1', port: Number(env.FAKE_VAGRANT_SSH_PORT) } : p.ssh(m.index);
    if (created) {
      await importBox(e, m.name, providerName, p);
      checkpoint();
      if (providerName === 'libvirt') {
        say(m.name, 'Creating image (snapshot of base box volume).');
        say(m.name, 'Creating domain with the following settings...');
      } else {
        say(m.name, 'Cloning VM...');
        say(m.name, 'Matching MAC address for NAT networking...');
      }
      setMachine(e, m.name, { state: p.stopped, provider: providerName, sshHost: ssh.host, sshPort: ssh.port });
    }
    if (providerName === 'libvirt') {
      say(m.name, 'Starting domain.');
      say(m.name, 'Waiting for domain to get an IP address...');
    } else {
      say(m.name, 'Clearing any previously set network interfaces...');
      say(m.name, 'Preparing network interfaces based on configuration...');
      detail(m.name, 'Adapter 1: nat');
      detail(m.name, 'Adapter 2: hostonly');
      say(m.name, 'Forwarding ports...');
      for (const fp of m.ports) detail(m.name, `${fp.guest} (guest) => ${fp.host} (host) (adapter 1)`);
      detail(m.name, `22 (guest) => ${ssh.port} (host) (adapter 1)`);
      say(m.name, 'Booting VM...');
    }
    say(m.name, 'Waiting for machine to boot. This may take a few minutes...');
    detail(m.name, `SSH address: ${ssh.host}:${ssh.port}`);
    detail(m.name, `SSH username: ${sshUser()}`);
    detail(m.name, 'SSH auth method: private key');
    await sleep(Number(env.FAKE_VAGRANT_UP_DELAY_MS ?? 0));
    checkpoint();
    if (failBoot) {
      // A VagrantError: Vagrant keeps the machine (it booted; it just never answered over SSH).
      setMachine(e, m.name, { state: 'running', provider: providerName, sshHost: ssh.host, sshPort: ssh.port });
      throw new VagrantError('Vagrant::Errors::VMBootTimeout', MESSAGES.bootTimeout);
    }
    say(m.name, 'Machine booted and ready!');
    if (providerName === 'libvirt') {
      say(m.name, 'Forwarding ports...');
      for (const fp of m.ports) say(m.name, `${fp.guest} (guest) => ${fp.host} (host) (adapter eth0)`);
    }
    if (m.hostname) say(m.name, 'Setting hostname...');
    say(m.name, 'Configuring and enabling network interfaces...');
    // A machine started again keeps its snapshots.
    const kept = readMachine(e, m.name)?.snapshots;
    setMachine(e, m.name, { state: 'running', provider: providerName, sshHost: ssh.host, sshPort: ssh.port, ...(kept && { snapshots: kept }) });
  } catch (err) {
    // The cleanup takes FAKE_VAGRANT_CLEANUP_MS; a second SIGINT meanwhile exits at once (see above).
    if (err instanceof Interrupt) await new Promise((resolve) => setTimeout(resolve, Number(env.FAKE_VAGRANT_CLEANUP_MS ?? 0)));
    if (err instanceof Interrupt && created && destroyOnError && readMachine(e, m.name)) {
      // Interrupted while creating: Vagrant destroys the half-made machine.
      say(m.name, 'Forcing shutdown of VM...');
      say(m.name, 'Destroying VM and associated drives...');
      setMachine(e, m.name, undefined);
    }
    throw err;
  } finally {
    inFlight.delete(m.name);
  }
}

/** The first machine of a box imports it (slowly); a concurrent import elsewhere fails. */
async function importBox(e, name, providerName, p) {
  const key = `${e.box}/${providerName}`;
  for (;;) {
    const decision = withState(e, (s) => {
      if (s.boxes[key]?.imported) return 'done';
      const holder = s.importing[key];
      if (holder === process.pid) return 'wait';
      if (holder && alive(holder)) return 'busy';
      s.importing[key] = process.pid;
      return 'mine';
    });
    if (decision === 'done') return;
    if (decision === 'busy') throw new VagrantError('Vagrant::Errors::VagrantError', p.importFailure(e.box));
    if (decision === 'wait') {
      await sleep(10);
      checkpoint();
      continue;
    }
    try {
      if (providerName === 'libvirt') say(name, 'Uploading base box image as volume into Libvirt storage...');
      else {
        say(name, 'Preparing master VM for linked clones...');
        detail(name, 'This is a one time operation. Once the master VM is prepared,');
        detail(name, 'it will be used as a base for linked clones, making the creation');
        detail(name, 'of new VMs take milliseconds on a modern system.');
        say(name, `Importing base box '${e.box}'...`);
      }
      await sleep(Number(env.FAKE_VAGRANT_BOX_IMPORT_MS ?? 0));
      checkpoint();
      withState(e, (s) => {
        s.boxes[key] = { imported: true, by: name, pid: process.pid };
      });
      log({ event: 'box-imported', box: e.box, provider: providerName, machine: name });
      return;
    } finally {
      withState(e, (s) => {
        if (s.importing[key] === process.pid) delete s.importing[key];
      });
    }
  }
}

// Commands that need no Vagrantfile

function version() {
  process.stdout.write(`Vagrant ${env.FAKE_VAGRANT_VERSION ?? '2.3.4'}\n`);
}

function pluginList() {
  const file = env.FAKE_VAGRANT_PLUGINS_FILE;
  const spec = file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : (env.FAKE_VAGRANT_PLUGINS ?? 'vagrant-libvirt:0.11.2:system');
  const plugins = spec.split(',').filter(Boolean).map((p) => p.split(':'));
  if (plugins.length === 0) return out('No plugins installed.');
  for (const [name, v, scope = 'global'] of plugins) {
    out(`${name} (${v}, ${scope})`);
    if (machineReadable) {
      record('', 'plugin-name', name);
      record(name, 'plugin-version', `${v}, ${scope}`);
    }
  }
}

function boxList() {
  const file = env.FAKE_VAGRANT_STATE;
  const state = file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  const boxes = Object.keys(state.boxes ?? {})
    .filter((k) => state.boxes[k].imported)
    .map((k) => {
      const i = k.lastIndexOf('/');
      return { name: k.slice(0, i), provider: k.slice(i + 1), version: '0' };
    })
    .sort((a, b) => (a.name + a.provider < b.name + b.provider ? -1 : 1));
  if (boxes.length === 0) {
    if (machineReadable) record('', 'ui', 'warn', 'There are no installed boxes! Use `vagrant box add` to add some.');
    else process.stderr.write('There are no installed boxes! Use `vagrant box add` to add some.\n');
    return;
  }
  const width = Math.max(...boxes.map((b) => b.name.length));
  for (const b of boxes) {
    out(`${b.name.padEnd(width)} (${b.provider}, ${b.version})`);
    if (machineReadable) {
      record('', 'box-name', b.name);
      record('', 'box-provider', b.provider);
      record('', 'box-version', b.version);
    }
  }
}

async function main() {
  const words = args.filter((a) => a !== '--machine-readable');
  const [cmd, ...rest] = words;
  try {
    if (cmd === '--version' || cmd === '-v' || cmd === 'version') return version();
    if (cmd === 'plugin' && rest[0] === 'list') return pluginList();
    if (cmd === 'box' && rest[0] === 'list') return boxList();
    const handler = Object.hasOwn(commands, cmd ?? '') ? commands[cmd] : undefined;
    if (!handler) {
      process.stderr.write(`fake vagrant: unsupported command: ${args.join(' ')}\n`);
      process.exit(1);
    }
    await handler(loadEnvironment(), rest);
  } catch (err) {
    if (err instanceof VagrantError) fail(err);
    throw err;
  }
}

await main();
