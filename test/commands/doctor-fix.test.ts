/**
 * `cclab doctor --fix`: the plan printed first (snapshot), nothing run without a yes, the commands
 * run in order after one, the checks asked again afterwards, a failing command named with its
 * output; in-process with the host injected, and through the CLI with the real runner and fake
 * package tools (apt-get, dpkg-query, the libvirt daemons) on PATH.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { run as doctor, type FixDeps } from '../../src/commands/doctor.js';
import { memoryIo, type Context } from '../../src/context.js';
import { CommandError, PreflightError, UsageError } from '../../src/errors.js';
import type { HostSetupFacts } from '../../src/pipeline/host-fix.js';
import type { Probes } from '../../src/pipeline/preflight.js';
import { cliHome, ensureBuilt } from '../helpers/cli.js';

/** A host with Vagrant but no libvirt plugin until the fix has run. */
function host(state: { fixed: boolean }): Probes {
  return {
    vagrantVersion: async () => '2.3.4',
    providerUsable: async (p) =>
      p === 'libvirt' && state.fixed ? { ok: true, detail: 'vagrant-libvirt 0.11.2; libvirt answers' } : { ok: false, detail: p === 'libvirt' ? 'the Vagrant plugin vagrant-libvirt is not installed' : `${p} is not installed` },
    boxes: async () => [{ name: 'cclab-test/debian', provider: 'libvirt' }],
    vboxNetworksConf: async () => undefined,
    interfaces: async () => [],
    portFree: async () => true,
  };
}

const FACTS: HostSetupFacts = {
  platform: 'linux',
  arch: 'x64',
  os: { id: 'ubuntu', idLike: ['debian'], name: 'Ubuntu 24.04.1 LTS' },
  root: false,
  sudo: true,
  systemd: true,
  packages: { vagrant: true },
  libvirt: 'absent',
  user: { name: 'ada', inLibvirtGroup: false },
};

function setup(opts: { answer?: string; failAt?: number } = {}) {
  const state = { fixed: false };
  const ran: string[][] = [];
  const io = memoryIo();
  const ctx: Context = {
    io,
    env: { PATH: process.env.PATH ?? '', CCLAB_HOME: '/nonexistent/cclab-home' },
    cwd: process.cwd(),
    signal: new AbortController().signal,
    ...(opts.answer !== undefined && { ask: async () => opts.answer! }),
  };
  const fix: FixDeps = {
    facts: async () => FACTS,
    run: async (argv) => {
      ran.push(argv);
      if (opts.failAt === ran.length) throw new CommandError(`\`${argv.join(' ')}\` exited with 100`, { command: argv, exitStatus: 100, output: 'E: Unable to locate package vagrant-libvirt\n' });
      if (ran.length === 4) state.fixed = true;
    },
  };
  const go = (extra: { yes?: boolean; json?: boolean } = {}) =>
    doctor({ architecture: 'laptop', overrides: { provider: 'libvirt', box: { name: 'cclab-test/debian' }, libvirt: { driver: 'qemu' } }, json: false, fix: true, ...extra }, ctx, host(state), fix);
  return { io, ran, go };
}

t.test('the plan, as printed before anything runs', async (t) => {
  const s = setup({ answer: 'n' });
  await t.rejects(s.go(), PreflightError, 'declined: the host still fails its checks');
  t.same(s.ran, [], 'nothing ran');
  t.match(s.io.stderr, 'Nothing was changed.');
  t.matchSnapshot(s.io.stdout, 'doctor --fix on Ubuntu through sudo, libvirt missing');
});

t.test('a yes runs the commands in order, then the checks again', async (t) => {
  const s = setup({ answer: 'y' });
  await s.go();
  t.same(s.ran.map((a) => a.join(' ')), [
    'sudo apt-get update',
    'sudo apt-get install -y vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base',
    'sudo systemctl enable --now libvirtd',
    'sudo usermod --append --groups libvirt ada',
  ]);
  t.match(s.io.stderr, /^\[1\/4\] sudo apt-get update$/m, 'each command announced on stderr');
  t.match(s.io.stdout, /After the fixes:\n(.*\n)*✓ provider libvirt: vagrant-libvirt 0\.11\.2; libvirt answers/);
  t.match(s.io.stdout, /note: ada is in the libvirt group from the next login on/);
});

t.test('no terminal to ask on and no --yes: refused before anything runs; --yes runs without asking', async (t) => {
  const s = setup();
  await t.rejects(s.go(), UsageError);
  await s.go().catch((e: UsageError) => t.match(e.hint, /run it again with --yes/));
  t.same(s.ran, []);
  const y = setup();
  await y.go({ yes: true });
  t.equal(y.ran.length, 4);
});

t.test('a command that fails stops the rest and is named with its output', async (t) => {
  const s = setup({ failAt: 2 });
  const e = await s.go({ yes: true }).catch((x: unknown) => x);
  t.type(e, CommandError);
  t.match((e as CommandError).outputTail, 'Unable to locate package');
  t.equal(s.ran.length, 2, 'nothing after it ran');
});

t.test('--json: the plan, what ran and the checks after, in one document', async (t) => {
  const s = setup();
  await s.go({ yes: true, json: true });
  const doc = JSON.parse(s.io.stdout);
  t.equal(doc.ok, true);
  t.equal(doc.fix.steps.length, 4);
  t.same(doc.fix.ran[0], 'sudo apt-get update');
  t.equal(doc.fix.before.find((c: { check: string }) => c.check === 'provider libvirt').ok, false);
  t.equal(doc.checks.find((c: { check: string }) => c.check === 'provider libvirt').ok, true);
});

// ------------------------------------------------------------------------------------------
// Through the CLI: this host's own /etc/os-release, the real runner, fake package tools.

const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
const debianLike = /^ID(_LIKE)?=.*\b(debian|ubuntu)\b/m.test(osRelease);

t.test('cclab doctor --fix --yes on this Debian host, with the package tools faked', { skip: debianLike ? false : 'this host is not Debian or Ubuntu' }, async (t) => {
  await ensureBuilt();
  const lab = cliHome(t);
  const bin = lab.fake.binDir;
  const log = path.join(lab.fake.dir, 'host-commands.log');
  const plugins = path.join(lab.fake.dir, 'plugins');
  // What ran, without the package queries of the fact gathering.
  const ran = () => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('dpkg-query'));
  const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`, { mode: 0o755 });
  tool('dpkg-query', 'echo "unknown ok not-installed"');
  for (const name of ['systemctl', 'virtlogd', 'libvirtd', 'usermod']) tool(name, 'exit 0');
  const env = { FAKE_VAGRANT_PLUGINS: '', FAKE_VAGRANT_PLUGINS_FILE: plugins, USER: 'root' };
  const args = ['doctor', 'laptop', '--provider', 'libvirt', '--libvirt-driver', 'qemu', '--box', 'cclab-test/debian', '--fix'];
  // libvirt answers once "installed" (the plugin file written by apt-get below), and the box is there.
  fs.writeFileSync(path.join(bin, 'virsh'), `#!/bin/sh\n[ -f "${plugins}" ] || { echo "error: failed to connect to the hypervisor" >&2; exit 1; }\necho "Running hypervisor: QEMU 7.2.0"\n`, { mode: 0o755 });
  fs.writeFileSync(lab.fake.stateFile, JSON.stringify({ boxes: { 'cclab-test/debian/libvirt': { imported: true } } }));

  // apt-get fails: named, with its output, and nothing after it runs.
  tool('apt-get', 'case "$1" in install) echo "E: Unable to locate package vagrant-libvirt" >&2; exit 100 ;; esac');
  const failed = await lab.run([...args, '--yes'], { env });
  t.equal(failed.code, 5, 'a failed command exits 5', { stderr: failed.stderr });
  t.match(failed.stderr, /error: `apt-get install -y vagrant vagrant-libvirt .*` exited with 100/);
  t.match(failed.stderr, /E: Unable to locate package vagrant-libvirt/);
  t.same(ran().slice(-1), ['apt-get install -y vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base'], 'nothing after it ran');

  // Without a terminal and without --yes: the plan, then a refusal; nothing runs.
  fs.writeFileSync(log, '');
  const asked = await lab.run(args, { env });
  t.equal(asked.code, 2);
  t.match(asked.stdout, /doctor --fix would run:\n  1\. apt-get update\n/);
  t.match(asked.stderr, /hint: run it again with --yes/);
  t.same(ran(), [], 'nothing ran');

  // --yes: apt installs the plugin; the checks pass afterwards.
  tool('apt-get', `case "$1" in install) echo vagrant-libvirt:0.11.2:system > "${plugins}" ;; esac`);
  const r = await lab.run([...args, '--yes'], { env });
  t.equal(r.code, 0, 'fixed', { stdout: r.stdout, stderr: r.stderr });
  const systemd = fs.existsSync('/run/systemd/system');
  t.same(ran(), [
    'apt-get update',
    'apt-get install -y vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base',
    ...(systemd ? ['systemctl enable --now libvirtd'] : ['virtlogd --daemon', 'libvirtd --daemon']),
  ]);
  t.match(r.stdout, /✗ provider libvirt: the Vagrant plugin vagrant-libvirt is not installed/);
  t.match(r.stdout, /After the fixes:\n(.*\n)*✓ provider libvirt: vagrant-libvirt 0\.11\.2/);
  t.match(r.stderr, /^\[2\/\d\] apt-get install -y /m);

  const bad = await lab.run(['doctor', 'laptop', '--yes']);
  t.equal(bad.code, 2, '--yes without --fix is a usage error');
  t.match(bad.stderr, /--yes goes with --fix/);
});

t.test('a provider the host chose is chosen again after the fixes: libvirt, set up just now', async (t) => {
  const state = { fixed: false };
  const probes: Probes = {
    ...host(state),
    providerUsable: async (p) => (p === 'libvirt' && state.fixed ? { ok: true, detail: 'vagrant-libvirt 0.11.2; libvirt answers' } : { ok: false, detail: `${p} is not installed` }),
    boxes: async () => [{ name: 'cclab-test/debian', provider: 'libvirt' }, { name: 'cclab-test/debian', provider: 'virtualbox' }],
  };
  const io = memoryIo();
  const ctx: Context = { io, env: { PATH: process.env.PATH ?? '', CCLAB_HOME: '/nonexistent/cclab-home' }, cwd: process.cwd(), signal: new AbortController().signal };
  const ran: string[][] = [];
  const fix: FixDeps = {
    facts: async () => ({ ...FACTS, root: true, user: undefined, packages: {} }),
    run: async (argv) => {
      ran.push(argv);
      if (argv[0] === 'systemctl') state.fixed = true; // libvirtd answers from now on
    },
  };
  await doctor({ architecture: 'laptop', overrides: { box: { name: 'cclab-test/debian' } }, json: false, fix: true, yes: true }, ctx, probes, fix);
  t.match(io.stdout, /^Using provider virtualbox, no provider is usable here/m, 'before: nothing usable, VirtualBox tried');
  t.match(io.stdout, /apt-get install -y vagrant vagrant-libvirt libvirt-daemon-system/, 'libvirt is what --fix installs');
  t.match(io.stdout, /After the fixes \(provider libvirt now\):\nUsing provider libvirt, the first usable here/);
  t.match(io.stdout, /✓ provider libvirt: vagrant-libvirt 0\.11\.2/);
  t.equal(ran.length, 3);
});
