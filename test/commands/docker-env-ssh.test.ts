/**
 * `cclab docker-env --ssh` with real things: an OpenSSH server on 127.0.0.1 (started here, stopped
 * by PID) whose sessions find a `docker` that reaches a real dockerd's unix socket, the lab's SSH
 * config written by cclab, and the real docker CLI with DOCKER_HOST=ssh://… running
 * `ssh … docker system dial-stdio`. OpenSSH reads ~/.ssh/config from the passwd home directory
 * (not $HOME), so the docker CLI runs in a private mount namespace (`unshare -m`) where a test
 * directory is mounted over that home: the host's own SSH configuration is never touched.
 */
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runSsh } from '../../src/commands/docker-env-ssh.js';
import { memoryIo, type Context } from '../../src/context.js';
import { dockerSshConfig, DOCKER_SSH_CONFIG, includeLine } from '../../src/terminal/docker-ssh.js';
import { startDockerd } from '../helpers/dockerd.js';
import { addLab, makeManifest } from '../helpers/lab-home.js';
import { requireBinaries } from '../helpers/ports.js';
import { startSshd } from '../helpers/sshd.js';

const exec = promisify(execFile);

const uid = process.getuid?.() ?? -1;
if (uid !== 0) {
  t.test('docker over SSH', async (t) => {
    if (process.env.CI === 'true') t.fail('these tests need root (a private mount namespace for the SSH client’s home)');
    else t.plan(0, 'skipped: needs root');
  });
} else if (requireBinaries(t, ['sshd', 'ssh', 'ssh-keygen', 'docker', 'dockerd', 'containerd', 'unshare'])) {
  const dockerd = await startDockerd(t);
  const docker = execFileSync('sh', ['-c', 'command -v docker']).toString().trim();
  // The remote side: a `docker` first on the session's PATH that talks to the test dockerd.
  const server = await startSshd(t, {
    keyName: 'lab key',
    extraConfig: (serverDir) => {
      const bin = path.join(serverDir, 'bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\nexec ${docker} -H unix://${dockerd.socket} "$@"\n`, { mode: 0o755 });
      return [`SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`];
    },
  });
  const { dir, port } = server;

  const home = path.join(dir, 'cclab');
  await addLab(home, makeManifest('laptop', 'laptop'));
  const user = os.userInfo().username;
  let askedFor = '';
  const io = memoryIo();
  const ctx: Context = { io, env: { CCLAB_HOME: home, SHELL: '/bin/bash' }, cwd: home, signal: new AbortController().signal };
  await runSsh({ name: 'laptop', unset: false, json: false }, ctx, {
    sshLookup: async (_dir, machine) => {
      askedFor = machine;
      return { user, port, identityFiles: [path.join(dir, 'lab key')] };
    },
  });

  t.test('the lines: DOCKER_HOST=ssh://…, TLS variables unset, the marker', async (t) => {
    t.equal(askedFor, 'core-01', 'the SSH settings of the Docker machine');
    t.equal(
      io.stdout,
      `unset DOCKER_TLS_VERIFY;\nunset DOCKER_CERT_PATH;\nexport DOCKER_HOST="ssh://${user}@127.0.0.1:${port}"\nexport CCLAB_ACTIVE_DOCKERD="laptop"\n` +
        '# Run this command to configure your shell:\n# eval $(cclab docker-env --ssh laptop)\n',
    );
    t.match(io.stderr, new RegExp(`add this line at its top, once for every lab:\\n  Include "${home}/labs/\\*/ssh/docker-ssh\\.conf"\\n`));
    const file = path.join(home, 'labs', 'laptop', DOCKER_SSH_CONFIG);
    t.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  t.test('the real docker CLI drives dockerd through ssh … docker system dial-stdio', async (t) => {
    // The SSH client's home in a private mount namespace: a ~/.ssh/config with the Include line.
    const fakeHome = path.join(dir, 'home');
    fs.mkdirSync(path.join(fakeHome, '.ssh'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(fakeHome, '.ssh', 'config'), `${includeLine(path.join(home, 'labs'))}\n`, { mode: 0o600 });
    const realHome = os.userInfo().homedir;
    const script = `mount --bind "$1" "$2" && eval "$3" && docker version --format '{{.Server.Version}}' && docker info --format '{{.Name}}'`;
    const r = await exec('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script, 'bash', fakeHome, realHome, io.stdout], {
      env: { PATH: process.env.PATH, HOME: fakeHome, DOCKER_CONFIG: path.join(dir, 'docker-config') },
      timeout: 60_000,
    });
    const [version, name] = r.stdout.trim().split('\n');
    t.match(version, /^\d+\.\d+/, 'docker version answered over SSH');
    t.ok(name, 'docker info answered over SSH');
  });
}

t.test('the SSH config text (pure)', async (t) => {
  const text = dockerSshConfig({ lab: 'laptop', machine: 'core-01', user: 'core', port: 2222, identityFiles: ['/home/me/.vagrant.d/insecure private key'] });
  t.equal(
    text,
    '# cclab lab laptop: SSH to core-01 for DOCKER_HOST=ssh://core@127.0.0.1:2222 (cclab docker-env --ssh).\n' +
      '# Written by cclab; removed with the lab by `cclab down`.\n' +
      'Match host 127.0.0.1 user core exec "test %p = 2222"\n' +
      '  IdentityFile "/home/me/.vagrant.d/insecure private key"\n' +
      '  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n',
  );
  t.throws(() => dockerSshConfig({ lab: 'x', machine: 'm', user: 'core', port: 1, identityFiles: ['/a"b'] }), TypeError);
  t.throws(() => dockerSshConfig({ lab: 'x', machine: 'm', user: 'core; rm', port: 1, identityFiles: [] }), TypeError);
  t.equal(includeLine('/h/labs'), 'Include "/h/labs/*/ssh/docker-ssh.conf"');
});
