/**
 * `cclab env`, `cclab etcdctl` and `cclab fleetctl` with real things: a real etcd member on
 * 127.0.0.1 stands for the lab's etcd (the lab's manifest is pointed at it), `cclab env`'s lines
 * are eval'd in bash, zsh, fish and tcsh and the host's real etcdctl reaches etcd with them; the
 * passthroughs go through a real sshd on 127.0.0.1 (the fake vagrant's ssh-config names it), where
 * the real etcdctl runs. fleetctl cannot be obtained here: a stand-in on the session's PATH prints
 * what it was given, so the upload of unit files and the etcd driver settings are proven.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { cliHome, ensureBuilt } from '../helpers/cli.js';
import { startEtcdCluster } from '../helpers/etcd.js';
import { requireBinaries } from '../helpers/ports.js';
import { startSshd } from '../helpers/sshd.js';

const exec = promisify(execFile);
t.before(ensureBuilt);

if (requireBinaries(t, ['etcd', 'etcdctl', 'sshd', 'ssh', 'ssh-keygen', 'bash', 'zsh', 'fish', 'tcsh'])) {
  const etcd = await startEtcdCluster(t, ['etcd-01']);
  await etcd.waitHealthy();
  const url = etcd.clientUrls[0]!;
  const etcdctlPath = (await exec('sh', ['-c', 'command -v etcdctl'])).stdout.trim();
  const server = await startSshd(t, {
    extraConfig: (dir) => {
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      return [`SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`];
    },
  });
  const user = (await exec('id', ['-un'])).stdout.trim();
  // The fleetctl stand-in: what it was given, the unit file it was pointed at, and for `status` a
  // hop to "another machine" (the same sshd) with whatever key the forwarded agent holds.
  fs.writeFileSync(
    path.join(server.dir, 'bin', 'fleetctl'),
    [
      '#!/bin/sh',
      'echo "fleetctl $*"',
      'echo "driver=$FLEETCTL_DRIVER endpoint=$FLEETCTL_ENDPOINT strict=$FLEETCTL_STRICT_HOST_KEY_CHECKING"',
      'for a in "$@"; do if [ -f "$a" ]; then echo "--- $a"; cat "$a"; fi; done',
      'echo "agent-keys=$(ssh-add -l 2>/dev/null | grep -c .)"',
      `if [ "$1" = status ]; then ssh -o BatchMode=yes -o IdentitiesOnly=no -o IdentityFile=none -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p ${server.port} ${user}@127.0.0.1 echo hop-ok; fi`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const h = cliHome(t, { FAKE_VAGRANT_SSH_PORT: String(server.port), FAKE_VAGRANT_SSH_USER: user, FAKE_VAGRANT_SSH_KEY: server.key });
  const up = await h.run(['up', 'dev', '--workers', '1', '--no-wait']);
  t.equal(up.code, 0, 'the lab is up (fake vagrant)', { stderr: up.stderr });
  // The lab's member is the real etcd on 127.0.0.1 (no test traffic leaves loopback).
  const manifestFile = path.join(h.labDir('dev'), 'lab.json');
  const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  m.lab.etcd.members = m.lab.etcd.members.map((x: { clientUrl: string }) => ({ ...x, clientUrl: url }));
  fs.writeFileSync(manifestFile, JSON.stringify(m, null, 2));

  t.test('env: the lines for each shell, and the host’s etcdctl reaches etcd with them', async (t) => {
    const bash = await h.run(['env', 'dev', '--shell', 'bash']);
    t.equal(bash.code, 0, '', { stderr: bash.stderr });
    t.equal(
      bash.stdout,
      `unset FLEETCTL_TUNNEL;\nunset FLEETCTL_STRICT_HOST_KEY_CHECKING;\nexport ETCDCTL_API="3"\nexport ETCDCTL_ENDPOINTS="${url}"\nexport FLEETCTL_DRIVER="etcd"\nexport FLEETCTL_ENDPOINT="${url}"\n` +
        '# Run this command to configure your shell:\n# eval $(cclab env --shell bash dev)\n',
    );
    await exec(etcdctlPath, ['--endpoints', url, 'put', 'cclab-env', 'reached'], { env: { ETCDCTL_API: '3' } });
    const cases: [string, (lines: string) => string[]][] = [
      ['bash', (l) => ['-c', 'eval "$1"; etcdctl get cclab-env --print-value-only; echo "$FLEETCTL_DRIVER"', 'bash', l]],
      ['zsh', (l) => ['-c', 'eval "$1"; etcdctl get cclab-env --print-value-only; echo "$FLEETCTL_DRIVER"', 'zsh', l]],
      ['fish', (l) => ['-c', 'eval $argv[1]; etcdctl get cclab-env --print-value-only; echo $FLEETCTL_DRIVER', l]],
    ];
    for (const [shell, argv] of cases) {
      const lines = await h.run(['env', 'dev', '--shell', shell]);
      const r = await exec(shell, argv(lines.stdout), { env: { PATH: process.env.PATH } });
      t.equal(r.stdout, 'reached\netcd\n', `${shell}: eval, then etcdctl reads the key`);
    }
    const tcshLines = await h.run(['env', 'dev', '--shell', 'tcsh']);
    const file = path.join(h.fake.dir, 'env.tcsh');
    fs.writeFileSync(file, tcshLines.stdout);
    const tcsh = await exec('tcsh', ['-f', '-c', `source ${file}; etcdctl get cclab-env --print-value-only; echo $FLEETCTL_DRIVER`], { env: { PATH: process.env.PATH } });
    t.equal(tcsh.stdout, 'reached\netcd\n', 'tcsh: source, then etcdctl reads the key');

    const unset = await h.run(['env', '--unset', '--shell', 'bash']);
    t.match(unset.stdout, /^unset ETCDCTL_API;\nunset ETCDCTL_ENDPOINTS;\nunset FLEETCTL_DRIVER;\nunset FLEETCTL_ENDPOINT;\nunset FLEETCTL_TUNNEL;\nunset FLEETCTL_STRICT_HOST_KEY_CHECKING;\n/);
    const json = JSON.parse((await h.run(['env', 'dev', '--json'])).stdout);
    t.same(json, { ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: url, FLEETCTL_DRIVER: 'etcd', FLEETCTL_ENDPOINT: url, FLEETCTL_TUNNEL: null, FLEETCTL_STRICT_HOST_KEY_CHECKING: null });

    const tunnel = await h.run(['env', 'dev', '--tunnel', '--shell', 'bash']);
    t.equal(tunnel.code, 0, '', { stderr: tunnel.stderr });
    t.match(tunnel.stdout, new RegExp(`^export FLEETCTL_TUNNEL="127\\.0\\.0\\.1:${server.port}"$`, 'm'), 'the SSH address of the first fleet machine');
    t.match(tunnel.stdout, /^export FLEETCTL_STRICT_HOST_KEY_CHECKING="false"$/m);
    t.match(tunnel.stderr, new RegExp(`^note: fleetctl logs in through ssh-agent as ${user}: ssh-add "${server.key}"$`, 'm'));

    const laptop = await h.run(['up', 'laptop', '--no-wait']);
    t.equal(laptop.code, 0);
    const none = await h.run(['env', 'laptop']);
    t.equal(none.code, 8, 'a lab without etcd');
    t.match(none.stderr, /^error: lab laptop runs no etcd \(laptop\)$/m);
    t.equal(none.stdout, '');
    t.equal((await h.run(['down', 'laptop'])).code, 0);
  });

  t.test('etcdctl: run on a lab machine over SSH, with the lab’s endpoints; its exit status is cclab’s', async (t) => {
    const put = await h.run(['etcdctl', 'dev', '--', 'put', 'from-cclab', 'a value; with $pecial "chars"']);
    t.equal(put.code, 0, '', { stderr: put.stderr });
    t.equal(put.stdout, 'OK\n');
    const get = await exec(etcdctlPath, ['--endpoints', url, 'get', 'from-cclab', '--print-value-only'], { env: { ETCDCTL_API: '3' } });
    t.equal(get.stdout, 'a value; with $pecial "chars"\n', 'the words reached etcdctl unchanged');
    const list = await h.run(['etcdctl', 'dev', 'worker-01', '--', 'member', 'list']);
    t.equal(list.code, 0);
    t.match(list.stdout, /, started, etcd-01, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+/);
    const bad = await h.run(['etcdctl', 'dev', '--', 'no-such-command']);
    t.not(bad.code, 0, 'etcdctl’s failure is the exit status');
    t.match(bad.stderr, /unknown command "no-such-command"/);
    const nosuch = await h.run(['etcdctl', 'dev', 'worker-09', '--', 'member', 'list']);
    t.equal(nosuch.code, 8);
    t.match(nosuch.stderr, /^error: lab dev has no machine worker-09$/m);
  });

  t.test('fleetctl: unit files named on the host are uploaded and named by their path there; the etcd driver', async (t) => {
    const units = path.join(h.fake.dir, 'units');
    fs.mkdirSync(units);
    fs.writeFileSync(path.join(units, 'web@.service'), '[Service]\nExecStart=/bin/true\n');
    const r = await h.run(['fleetctl', 'dev', '--', 'start', path.join(units, 'web@.service'), 'other.service']);
    t.equal(r.code, 0, '', { stderr: r.stderr });
    t.match(r.stdout, /^fleetctl start \/tmp\/cclab-units\/web@\.service other\.service$/m, 'the host file is replaced by its uploaded copy; a unit name is left alone');
    t.match(r.stdout, new RegExp(`^driver=etcd endpoint=${url.replace(/\./g, '\\.')} strict=false$`, 'm'));
    t.match(r.stdout, /^agent-keys=0$/m, 'start needs no agent: none is forwarded');
    t.match(r.stdout, /^--- \/tmp\/cclab-units\/web@\.service\n\[Service\]\nExecStart=\/bin\/true\n/m, 'the uploaded file is the host’s');
    t.match(r.stderr, /Uploading .*web@\.service to etcd-01:\/tmp\/cclab-units\/web@\.service/);
    const status = await h.run(['fleetctl', 'dev', '--', 'status', 'web@1.service']);
    t.equal(status.code, 0, '', { stderr: status.stderr });
    t.match(status.stdout, /^agent-keys=1$/m, 'status: the lab key goes with it through a forwarded agent');
    t.match(status.stdout, /^hop-ok$/m, 'and it logs in to another machine with it');
    t.same(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('cclab-agent-')), [], 'the agent’s directory is gone');
    t.equal((await exec('sh', ['-c', 'pgrep -f "^ssh-agent -D -a" || true'])).stdout, '', 'no agent left running');
    fs.writeFileSync(path.join(units, 'bad.service'), '[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=true\nConflicts=web@*.service\n');
    const bad = await h.run(['fleetctl', 'dev', '--', 'start', path.join(units, 'bad.service')]);
    t.equal(bad.code, 2, 'a unit fleet would refuse is not uploaded');
    t.match(bad.stderr, /bad\.service breaks fleet's rules: Global cannot be used with Conflicts/);
    t.notOk(fs.existsSync('/tmp/cclab-units/bad.service'));
    fs.rmSync('/tmp/cclab-units', { recursive: true, force: true });
  });

  t.test('a killed machine is skipped: the tools run on the next one', async (t) => {
    t.equal((await h.run(['kill', 'dev', 'etcd-01'])).code, 0);
    const r = await h.run(['etcdctl', 'dev', '--', 'get', 'from-cclab', '--print-value-only']);
    t.equal(r.code, 0, '', { stderr: r.stderr });
    t.equal(r.stdout, 'a value; with $pecial "chars"\n');
    t.equal((await h.run(['down', 'dev'])).code, 0);
  });
}
