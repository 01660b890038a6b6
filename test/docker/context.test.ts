/**
 * `cclab docker-context`: a docker context made, updated and removed with the real docker CLI
 * (DOCKER_CONFIG in a temporary directory), used by `docker --context` against a real dockerd with
 * TLS run as a lab machine runs it; `cclab down` removes it too.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run } from '../../src/commands/docker-context.js';
import { down } from '../../src/commands/down.js';
import { memoryIo, type Context } from '../../src/context.js';
import { createArgs, dockerEndpointFlag, execaDockerCli, removeArgs } from '../../src/docker/context.js';
import { NotFoundError, UsageError } from '../../src/errors.js';
import { ensureDockerCerts } from '../../src/home/docker-certs.js';
import { homeStore } from '../../src/pipeline/home-store.js';
import type { LifecycleDeps } from '../../src/pipeline/lifecycle.js';
import { startLabTlsDockerd } from '../helpers/dockerd.js';
import { addLab, makeManifest, tlsManifest } from '../helpers/lab-home.js';
import { requireBinaries } from '../helpers/ports.js';

const exec = promisify(execFile);

t.test('the docker CLI’s arguments (pure)', async (t) => {
  t.same(createArgs('laptop', { host: 'tcp://127.0.0.1:2376', certDir: '/l/docker-certs' }, false), [
    'context',
    'create',
    '--description',
    'cclab lab laptop',
    '--docker',
    'host=tcp://127.0.0.1:2376,ca=/l/docker-certs/ca.pem,cert=/l/docker-certs/cert.pem,key=/l/docker-certs/key.pem',
    'cclab-laptop',
  ]);
  t.equal(createArgs('laptop', { host: 'tcp://127.0.0.1:2375', certDir: undefined }, true)[1], 'update');
  t.equal(dockerEndpointFlag({ host: 'tcp://127.0.0.1:2375', certDir: undefined }), 'host=tcp://127.0.0.1:2375');
  t.same(removeArgs('dev'), ['context', 'rm', '--force', 'cclab-dev']);
  t.throws(() => dockerEndpointFlag({ host: 'tcp://127.0.0.1:1', certDir: '/a,b' }), UsageError, 'a comma would split the CSV field');
});

if (requireBinaries(t, ['docker', 'dockerd', 'containerd', 'systemd-socket-activate'])) {
  const home = await mkdtemp(join(tmpdir(), 'cclab-ctx-home-'));
  const dockerConfig = await mkdtemp(join(tmpdir(), 'cclab-ctx-config-'));
  t.teardown(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(dockerConfig, { recursive: true, force: true });
  });
  const labDir = join(home, 'labs', 'laptop');
  const { dockerd } = await startLabTlsDockerd(t, labDir);
  await addLab(home, tlsManifest('laptop', dockerd.port));
  const env = { PATH: process.env.PATH, HOME: home, CCLAB_HOME: home, DOCKER_CONFIG: dockerConfig };
  const context = (): { ctx: Context; io: ReturnType<typeof memoryIo> } => {
    const io = memoryIo();
    return { io, ctx: { io, env, cwd: home, signal: new AbortController().signal } };
  };
  const docker = (...args: string[]) => exec('docker', args, { env });

  t.test('created, then used by docker --context over TLS, then updated', async (t) => {
    const { io, ctx } = context();
    await run({ name: 'laptop', unset: false, json: false }, ctx);
    t.equal(io.stdout, 'cclab-laptop\n');
    t.match(io.stderr, /^Created the docker context cclab-laptop \(tcp:\/\/127\.0\.0\.1:\d+, TLS with the lab’s certificates\)\.\nUse it with `docker --context cclab-laptop ps`/);
    const inspect = JSON.parse((await docker('context', 'inspect', 'cclab-laptop')).stdout)[0];
    t.equal(inspect.Endpoints.docker.Host, dockerd.endpoint);
    t.equal(inspect.Metadata.Description, 'cclab lab laptop');
    t.equal(inspect.Endpoints.docker.SkipTLSVerify, false);
    const version = await docker('--context', 'cclab-laptop', 'version', '--format', '{{.Server.Version}}');
    t.match(version.stdout, /^\d+\.\d+/, 'the real docker CLI reaches dockerd through the context');

    const again = context();
    await run({ name: 'laptop', unset: false, json: true }, again.ctx);
    t.same(JSON.parse(again.io.stdout), { context: 'cclab-laptop', action: 'updated', host: dockerd.endpoint, tls: true });
  });

  t.test('--unset removes it (also when it is the current context)', async (t) => {
    await docker('context', 'use', 'cclab-laptop');
    const { io, ctx } = context();
    await run({ name: 'laptop', unset: true, json: true }, ctx);
    t.same(JSON.parse(io.stdout), { context: 'cclab-laptop', action: 'removed' });
    const ls = (await docker('context', 'ls', '--format', '{{.Name}}')).stdout;
    t.notMatch(ls, /cclab-laptop/);
    const second = context();
    await run({ name: 'laptop', unset: true, json: false }, second.ctx);
    t.match(second.io.stderr, /There was no docker context cclab-laptop/);
  });

  t.test('a lab without Docker, or none of that name', async (t) => {
    await addLab(home, makeManifest('dev', 'dev'));
    const { ctx } = context();
    await t.rejects(run({ name: 'dev', unset: false, json: false }, ctx), NotFoundError);
    await t.rejects(run({ name: 'nope', unset: false, json: false }, ctx), NotFoundError);
  });

  t.test('cclab down removes the lab’s context', async (t) => {
    await addLab(home, tlsManifest('gone', dockerd.port));
    await ensureDockerCerts(join(home, 'labs', 'gone'), 'gone', [{ machine: 'core-01', ip: '192.168.57.101' }]);
    await run({ name: 'gone', unset: false, json: false }, context().ctx);
    t.match((await docker('context', 'ls', '--format', '{{.Name}}')).stdout, /cclab-gone/);
    const { io, ctx } = context();
    const fakeVagrant = { destroy: async () => undefined } as unknown as LifecycleDeps['vagrant'];
    await down({ name: 'gone', all: false, keepFiles: false }, ctx, { store: homeStore(env), vagrant: fakeVagrant, dockerCli: execaDockerCli(env) });
    t.match(io.stderr, /Removed the docker context cclab-gone\./);
    t.notMatch((await docker('context', 'ls', '--format', '{{.Name}}')).stdout, /cclab-gone/);
  });
}
