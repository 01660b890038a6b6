/**
 * The runner and driver against the real `vagrant` binary. Nothing here needs a hypervisor:
 * validation ignores the provider block, and running machines come from the provider that
 * test/fixtures/vagrant/Vagrantfile.stub-provider defines (Vagrant's own commands print them).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CommandError } from '../../src/errors.js';
import { createVagrantDriver, createVagrantRunner } from '../../src/vagrant/driver.js';
import { compareVersion, parseSshConfig, parseStatus } from '../../src/vagrant/parse.js';

function vagrantMissing(): string | false {
  try {
    execFileSync('vagrant', ['--version'], { stdio: 'ignore', env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
    return false;
  } catch {
    // CI must have it: fail there instead of skipping.
    return process.env.CI === 'true' ? false : 'vagrant is not installed';
  }
}
const skip = vagrantMissing();
const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/vagrant/${name}`, import.meta.url), 'utf8');

const MULTI = `Vagrant.configure("2") do |config|
  config.vm.box = "flatcar-stable"
  config.ssh.insert_key = false
  config.vm.provider :virtualbox do |vb|
    vb.memory = 1024
  end
  ["core-01", "core-02", "core-03"].each_with_index do |name, i|
    config.vm.define name do |c|
      c.vm.hostname = name
      c.vm.network :private_network, ip: "172.17.8.#{101 + i}"
    end
  end
end
`;

function tempDir(t: { teardown(fn: () => unknown): void }, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function realEnv(t: { teardown(fn: () => unknown): void }, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    VAGRANT_HOME: tempDir(t, 'cclab-vagrant-home-'),
    VAGRANT_BOX_UPDATE_CHECK_DISABLE: '1',
    ...extra,
  };
}

t.test('the runner runs the real `vagrant validate -p` on a multi-machine Vagrantfile', { skip }, async (t) => {
  const lab = tempDir(t, 'cclab-real-lab-');
  fs.writeFileSync(path.join(lab, 'Vagrantfile'), MULTI);
  const runner = createVagrantRunner({ env: realEnv(t, { VAGRANT_DEFAULT_PROVIDER: 'virtualbox' }) });
  const lines: string[] = [];
  const r = await runner.run(['validate', '-p'], { cwd: lab, onLine: (l) => lines.push(l) });
  t.equal(r.exitCode, 0, r.output);
  t.same(r.command, ['vagrant', 'validate', '-p']);
  t.same(lines, [
    '==> core-01: Ignoring provider config for validation...',
    '==> core-02: Ignoring provider config for validation...',
    '==> core-03: Ignoring provider config for validation...',
    'Vagrantfile validated successfully.',
  ]);
});

t.test('validate reports a misspelt core setting with Vagrant\'s message', { skip }, async (t) => {
  const lab = tempDir(t, 'cclab-real-lab-');
  fs.writeFileSync(path.join(lab, 'Vagrantfile'), MULTI.replace('c.vm.hostname = name', 'c.vm.hostnme = name'));
  const driver = createVagrantDriver({ env: realEnv(t, { VAGRANT_DEFAULT_PROVIDER: 'virtualbox' }) });
  const err = (await driver.validate(lab, { ignoreProvider: true }).catch((e: unknown) => e)) as CommandError;
  t.ok(err instanceof CommandError, 'CommandError');
  t.same(err.command, ['vagrant', 'validate', '-p']);
  t.equal(err.exitStatus, 1);
  t.match(err.outputTail, /The following settings shouldn't exist: hostnme/);
});

t.test('version, and box list of an empty Vagrant home', { skip }, async (t) => {
  const driver = createVagrantDriver({ env: realEnv(t) });
  const v = await driver.version();
  t.ok(compareVersion(v, { major: 2, minor: 2, patch: 5 }) >= 0, `Vagrant ${v.text} is at least 2.2.5`);
  t.same(await driver.boxList(), []);
});

t.test('status, ssh-config and port of running machines, printed by the real Vagrant', { skip }, async (t) => {
  const lab = tempDir(t, 'cclab-real-stub-');
  fs.copyFileSync(new URL('../fixtures/vagrant/Vagrantfile.stub-provider', import.meta.url), path.join(lab, 'Vagrantfile'));
  const env = realEnv(t, { VAGRANT_DEFAULT_PROVIDER: 'cclabstub' });
  const driver = createVagrantDriver({ env });
  const [status, hosts, ports, moved] = await Promise.all([
    driver.status(lab),
    driver.sshConfig(lab),
    driver.port(lab, 'etcd-01'),
    driver.port(lab, 'worker-01'),
  ]);
  // The captured fixtures still describe what this Vagrant prints.
  t.same(status, parseStatus(fixture('status-running.stub-provider.txt')));
  const key = path.join(env.VAGRANT_HOME!, 'insecure_private_key');
  const expected = parseSshConfig(fixture('ssh-config.stub-provider.txt')).map((h) => ({ ...h, identityFiles: [key] }));
  t.same(hosts, expected);
  t.same(ports, [
    { guest: 22, host: 2222 },
    { guest: 2375, host: 2375 },
  ]);
  t.same(moved, [
    { guest: 22, host: 2201 },
    { guest: 2375, host: 2377 },
  ]);

  const libvirtLike = createVagrantDriver({ env: { ...env, CCLAB_STUB_FLAVOUR: 'libvirt' } });
  t.equal(await libvirtLike.port(lab, 'etcd-01'), undefined, 'a provider without forwarded_ports: undefined, not an error');
});
