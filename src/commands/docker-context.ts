/**
 * `cclab docker-context [NAME] [--unset] [--json]`: a docker context `cclab-<lab>` pointing at the
 * lab's Docker API (with the lab's certificates when it has TLS), made or updated through the
 * docker CLI; `--unset` removes it (`cclab down` does too). The context name goes to stdout, what
 * to do with it to stderr.
 */
import type { Context } from '../context.js';
import { NotFoundError } from '../errors.js';
import { contextName, execaDockerCli, removeContext, setContext, type DockerCli } from '../docker/context.js';
import { readManifest } from '../home/manifest.js';
import { dockerCertPath, labDir } from '../home/paths.js';
import { defaultLab, type LifecycleDeps } from '../pipeline/lifecycle.js';

export interface DockerContextOptions {
  name?: string | undefined;
  unset: boolean;
  json: boolean;
}

export async function run(opts: DockerContextOptions, ctx: Context, deps: { cli?: DockerCli; lifecycle?: LifecycleDeps } = {}): Promise<void> {
  const cli = deps.cli ?? execaDockerCli(ctx.env);
  let name = opts.name;
  if (name === undefined) {
    const { labDeps } = await import('./deps.js');
    name = (await defaultLab((deps.lifecycle ?? labDeps(ctx)).store, 'docker-context')).name;
  }
  const dir = labDir(ctx.env, name);
  const manifest = await readManifest(dir);
  const context = contextName(name);
  if (opts.unset) {
    const removed = await removeContext(cli, name);
    ctx.io.err(removed ? `Removed the docker context ${context}.\n` : `There was no docker context ${context}.\n`);
    ctx.io.out(opts.json ? JSON.stringify({ context, action: removed ? 'removed' : 'absent' }) + '\n' : `${context}\n`);
    return;
  }
  const docker = manifest.docker;
  if (docker === undefined) {
    throw new NotFoundError(`lab ${name} has no Docker endpoint${manifest.lab.machines.some((m) => m.dockerTcp) ? ' yet (its port is known once it is up)' : ''}`, {
      hint: manifest.lab.machines.some((m) => m.dockerTcp) ? `resume it with \`cclab up ${name}\`` : 'use the laptop architecture, or a cluster with --docker-tcp',
    });
  }
  const action = await setContext(cli, name, { host: docker.endpoint, certDir: docker.tls ? dockerCertPath(dir) : undefined });
  ctx.io.err(
    `${action === 'created' ? 'Created' : 'Updated'} the docker context ${context} (${docker.endpoint}${docker.tls ? ', TLS with the lab’s certificates' : ', plain TCP'}).\n` +
      `Use it with \`docker --context ${context} ps\`, or \`docker context use ${context}\`.\n`,
  );
  ctx.io.out(opts.json ? JSON.stringify({ context, action, host: docker.endpoint, tls: docker.tls === true }) + '\n' : `${context}\n`);
}
