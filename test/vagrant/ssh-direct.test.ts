/**
 * DirectSsh against a real OpenSSH server on 127.0.0.1 (started here, stopped by PID), with SSH
 * data in the format `vagrant ssh-config` prints; formatSshConfig checked by OpenSSH's own parser.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { CommandError, InterruptedError, NotFoundError } from '../../src/errors.js';
import { parseSshConfig } from '../../src/vagrant/parse.js';
import { DirectSsh, formatSshConfig, MAX_OUTPUT_BYTES } from '../../src/vagrant/ssh.js';
import { freePort } from '../helpers/process.mjs';
import { SSHD, startSshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/vagrant/${name}`, import.meta.url), 'utf8');

function missing(): string | false {
  if (fs.existsSync(SSHD)) return false;
  return process.env.CI === 'true' ? false : `${SSHD} is not installed (Debian: openssh-server)`;
}

/** `vagrant ssh-config` output (captured format) pointed at the test server. */
function vagrantSshConfig(port: number, user: string, key: string, closedPort: number): string {
  const [first, second] = fixture('ssh-config.stub-provider.txt').split('\n\n');
  const retarget = (block: string, p: number) =>
    block.replace(/Port \d+/, `Port ${p}`).replace(/User core/, `User ${user}`).replace(/IdentityFile .*/, `IdentityFile "${key}"`);
  return `${retarget(first!, port)}\n\n${retarget(second!, closedPort)}\n\n`;
}

const skip = missing();

t.test('DirectSsh runs commands over real SSH with the data of vagrant ssh-config', { skip }, async (t) => {
  const server = await startSshd(t);
  const closedPort = await freePort();
  const hosts = parseSshConfig(vagrantSshConfig(server.port, server.user, server.key, closedPort));
  t.same(hosts.map((h) => h.host), ['etcd-01', 'etcd-02']);
  const ssh = await DirectSsh.create(hosts, { env: { PATH: process.env.PATH, HOME: server.dir } });
  t.teardown(() => ssh.close());

  t.test('hostile words arrive unchanged', async (t) => {
    const words = ['', "it's", '$(touch /tmp/cclab-pwned)', '`id`', 'a b\nc', '*', '~', '; exit 9', '\\', 'é'];
    const r = await ssh.exec('etcd-01', ['printf', '%s\\0', ...words], 20_000);
    t.equal(r.exitCode, 0, r.stderr);
    t.same(r.stdout.split('\0').slice(0, -1), words);
    t.notOk(fs.existsSync('/tmp/cclab-pwned'));
  });

  t.test('the remote exit status and stderr come back', async (t) => {
    const r = await ssh.exec('etcd-01', ['sh', '-c', 'echo out; echo err >&2; exit 7'], 20_000);
    t.same(r, { exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  t.test('a machine that does not answer: CommandError with ssh\'s own message', async (t) => {
    const err = (await ssh.exec('etcd-02', ['true'], 20_000).catch((e: unknown) => e)) as CommandError;
    t.ok(err instanceof CommandError);
    t.equal(err.machine, 'etcd-02');
    t.equal(err.exitStatus, 255);
    t.match(err.outputTail, /Connection refused/, 'LogLevel FATAL from Vagrant is overridden so the reason shows');
    t.equal(err.command[0], 'ssh');
    t.match(err.hint, /is the machine running/);
  });

  t.test('timeout and abort', async (t) => {
    const timedOut = (await ssh.exec('etcd-01', ['sleep', '30'], 1500).catch((e: unknown) => e)) as CommandError;
    t.ok(timedOut instanceof CommandError);
    t.match(timedOut.message, /did not finish within 1500 ms/);
    const ac = new AbortController();
    const p = ssh.exec('etcd-01', ['sleep', '30'], 60_000, ac.signal);
    setTimeout(() => ac.abort(), 300);
    await t.rejects(p, InterruptedError);
  });

  t.test('output past MAX_OUTPUT_BYTES is not read: a CommandError saying so', async (t) => {
    const err = (await ssh.exec('etcd-01', ['head', '-c', String(MAX_OUTPUT_BYTES + 1), '/dev/zero'], 20_000).catch((e: unknown) => e)) as CommandError;
    t.type(err, CommandError);
    t.match(err.message, /printed more than 8 MiB; cclab stopped reading it/);
  });

  t.test('a machine without SSH data', async (t) => {
    await t.rejects(ssh.exec('worker-07', ['true'], 1000), NotFoundError);
  });
});

t.test('DirectSsh writes its config with mode 0600 and close() removes it', async (t) => {
  const hosts = parseSshConfig(fixture('ssh-config.stub-provider.txt'));
  const ssh = await DirectSsh.create(hosts, { env: { PATH: process.env.PATH } });
  t.equal(fs.statSync(ssh.configPath).mode & 0o777, 0o600);
  t.same(parseSshConfig(fs.readFileSync(ssh.configPath, 'utf8')), hosts, 'the file holds exactly the hosts it was given');
  t.same(ssh.argv('etcd-01', ['docker', 'ps', '-a'], 5000), [
    '-F', ssh.configPath, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', '-T', '--', 'etcd-01', 'docker ps -a',
  ]);
  await ssh.close();
  t.notOk(fs.existsSync(ssh.configPath));
});

t.test('formatSshConfig: <lab>-<machine> hosts that OpenSSH resolves to Vagrant\'s data', async (t) => {
  const hosts = parseSshConfig(fixture('ssh-config.stub-provider.txt'));
  const text = formatSshConfig(hosts, 'dev');
  t.equal(
    text.split('\n\n')[1],
    [
      'Host dev-etcd-01',
      '  HostName 127.0.0.1',
      '  User core',
      '  Port 2222',
      '  UserKnownHostsFile /dev/null',
      '  StrictHostKeyChecking no',
      '  PasswordAuthentication no',
      '  IdentitiesOnly yes',
      '  LogLevel FATAL',
      '  IdentityFile "/tmp/cclab-capture/vagrant home/insecure_private_key"',
    ].join('\n'),
  );
  t.notMatch(text, /^Host (etcd-01|etcd-02|worker-01)$/m, 'no bare machine names');
  t.same(
    parseSshConfig(text).map((h) => ({ ...h, host: h.host.replace(/^dev-/, '') })),
    hosts,
    'parses back to the same data',
  );

  // OpenSSH's own reading of the file (ssh -G resolves without connecting).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-sshcfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'config'), text);
  const { stdout } = await run('ssh', ['-G', '-F', path.join(dir, 'config'), 'dev-worker-01'], { encoding: 'utf8' });
  const resolved = new Map(stdout.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const));
  t.equal(resolved.get('hostname'), '127.0.0.1');
  t.equal(resolved.get('port'), '2201');
  t.equal(resolved.get('user'), 'core');
  t.equal(resolved.get('identityfile'), '/tmp/cclab-capture/vagrant home/insecure_private_key');
  t.equal(resolved.get('forwardagent'), 'yes');
  t.equal(resolved.get('stricthostkeychecking'), 'false');
  t.throws(() => formatSshConfig(hosts, 'my lab'), /cannot be an SSH Host name/);
});
