/**
 * `cclab docker-env` for a lab whose Docker API has TLS, against a real dockerd on 127.0.0.1 run
 * as a lab machine runs it (socket-activated `-H fd://`, cclab's daemon.json, the server
 * certificate cclab made for the lab): the lines eval'd by bash drive the real docker CLI; a client
 * certificate of another lab's CA is refused; the plain socket's output says it is unauthenticated.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run } from '../../src/commands/docker-env.js';
import { memoryIo, type Context } from '../../src/context.js';
import { ensureDockerCerts, serverCertFile, serverKeyFile } from '../../src/home/docker-certs.js';
import { dockerCertPath } from '../../src/home/paths.js';
import { startLabTlsDockerd } from '../helpers/dockerd.js';
import { addLab, makeManifest, tlsManifest } from '../helpers/lab-home.js';
import { requireBinaries } from '../helpers/ports.js';

const exec = promisify(execFile);

if (requireBinaries(t, ['dockerd', 'containerd', 'docker', 'systemd-socket-activate', 'bash'])) {
  const home = await mkdtemp(join(tmpdir(), 'cclab-tls-home-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const labDir = join(home, 'labs', 'laptop');
  const { dockerd, certs } = await startLabTlsDockerd(t, labDir);
  await addLab(home, tlsManifest('laptop', dockerd.port));

  async function dockerEnv(name: string, extra: Partial<Parameters<typeof run>[0]> = {}) {
    const io = memoryIo();
    const ctx: Context = { io, env: { CCLAB_HOME: home, SHELL: '/bin/bash' }, cwd: home, signal: new AbortController().signal };
    await run({ name, unset: false, json: false, ...extra }, ctx);
    return { stdout: io.stdout, stderr: io.stderr };
  }

  t.test('docker-machine’s variables, in its order, with the lab’s certificate directory', async (t) => {
    const { stdout, stderr } = await dockerEnv('laptop');
    t.equal(
      stdout,
      'export DOCKER_TLS_VERIFY="1"\n' +
        `export DOCKER_HOST="tcp://127.0.0.1:${dockerd.port}"\n` +
        `export DOCKER_CERT_PATH="${certs}"\n` +
        'export CCLAB_ACTIVE_DOCKERD="laptop"\n' +
        '# Run this command to configure your shell:\n# eval $(cclab docker-env laptop)\n',
    );
    t.equal(stderr, '');
    t.same(JSON.parse((await dockerEnv('laptop', { json: true })).stdout), {
      DOCKER_TLS_VERIFY: '1',
      DOCKER_HOST: `tcp://127.0.0.1:${dockerd.port}`,
      DOCKER_CERT_PATH: certs,
      CCLAB_ACTIVE_DOCKERD: 'laptop',
    });
  });

  t.test('the certificates: directory 0700, keys 0600, the names docker-machine uses', async (t) => {
    t.equal((await stat(certs)).mode & 0o777, 0o700);
    for (const f of ['key.pem', serverKeyFile('core-01')]) t.equal((await stat(join(certs, f))).mode & 0o777, 0o600, f);
    for (const f of ['ca.pem', 'cert.pem', serverCertFile('core-01')]) t.equal((await stat(join(certs, f))).mode & 0o777, 0o644, f);
  });

  t.test('bash evals the lines and the real docker CLI talks TLS to dockerd', async (t) => {
    const { stdout } = await dockerEnv('laptop');
    const script = `eval "$1"; docker version --format '{{.Server.Version}}'; echo "active=$CCLAB_ACTIVE_DOCKERD"`;
    const r = await exec('bash', ['-c', script, 'bash', stdout], { env: { PATH: process.env.PATH, HOME: home } });
    t.match(r.stdout, /^\d+\.\d+\.\d+\S*\nactive=laptop\n$/);
    // eval $(…) unquoted, as the hint says: the same output joined into one line.
    const joined = await exec('bash', ['-c', `eval $(printf '%s' "$1"); docker info --format '{{.ServerVersion}}'`, 'bash', stdout], {
      env: { PATH: process.env.PATH, HOME: home },
    });
    t.match(joined.stdout, /^\d+\.\d+/);
  });

  t.test('the same socket without a client certificate, or plain HTTP, is refused', async (t) => {
    const noCert = await exec('docker', ['--host', dockerd.endpoint, 'version', '--format', '{{.Server.Version}}'], {
      env: { PATH: process.env.PATH, HOME: home },
    }).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    t.ok(noCert, 'docker without TLS fails');
    t.match(noCert?.stderr, /HTTP request to an HTTPS server|malformed HTTP response|certificate/i);
  });

  t.test('a client certificate of another lab’s CA is refused by dockerd', async (t) => {
    const otherDir = await mkdtemp(join(tmpdir(), 'cclab-other-lab-'));
    t.teardown(() => rm(otherDir, { recursive: true, force: true }));
    await ensureDockerCerts(otherDir, 'other', [{ machine: 'core-01', ip: '192.168.58.101' }]);
    const other = dockerCertPath(otherDir);
    // The other lab's client certificate, trusting this lab's server: dockerd refuses the client.
    const mixed = join(otherDir, 'mixed');
    await exec('mkdir', ['-m', '700', mixed]);
    await exec('cp', [join(certs, 'ca.pem'), join(other, 'cert.pem'), join(other, 'key.pem'), mixed]);
    const env = { PATH: process.env.PATH, HOME: home, DOCKER_TLS_VERIFY: '1', DOCKER_HOST: dockerd.endpoint };
    const refused = await exec('docker', ['version', '--format', '{{.Server.Version}}'], { env: { ...env, DOCKER_CERT_PATH: mixed } }).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    t.ok(refused, 'dockerd refuses a client certificate of another CA');
    t.match(refused?.stderr, /bad certificate|certificate required|unknown certificate authority|tls/i);
    // The other lab's whole directory: the docker CLI refuses this lab's server (another CA).
    const wrongServer = await exec('docker', ['version'], { env: { ...env, DOCKER_CERT_PATH: other } }).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    t.ok(wrongServer);
    t.match(wrongServer?.stderr, /certificate signed by unknown authority|x509/i);
  });

  t.test('a lab with the plain socket: the TLS variables unset, a warning in the output’s comment', async (t) => {
    await addLab(home, makeManifest('plain', 'laptop'));
    const { stdout } = await dockerEnv('plain');
    t.equal(
      stdout,
      'unset DOCKER_TLS_VERIFY;\nunset DOCKER_CERT_PATH;\nexport DOCKER_HOST="tcp://127.0.0.1:23750"\nexport CCLAB_ACTIVE_DOCKERD="plain"\n' +
        '# Warning: the Docker API of lab plain is plain TCP without authentication, docker.tls is false\n' +
        '# Run this command to configure your shell:\n# eval $(cclab docker-env plain)\n',
    );
  });

  t.test('--unset clears every variable and the marker', async (t) => {
    const set = (await dockerEnv('laptop')).stdout;
    const unset = (await dockerEnv('laptop', { unset: true })).stdout;
    const r = await exec('bash', ['-c', 'eval "$1"; eval "$2"; env | grep -E "^(DOCKER_|CCLAB_)" || true', 'bash', set, unset], {
      env: { PATH: process.env.PATH, HOME: home },
    });
    t.equal(r.stdout, '');
  });
}
