/**
 * `cclab docker-env --ssh [NAME]`: DOCKER_HOST=ssh://USER@127.0.0.1:PORT through the machine's
 * forwarded SSH port (`vagrant ssh-config`), and the lab's SSH config for the docker CLI
 * (src/terminal/docker-ssh.ts) written in the lab directory. A module of its own: it runs Vagrant,
 * which the plain docker-env (run from shell start-up files) never loads.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Context } from '../context.js';
import { NotFoundError } from '../errors.js';
import type { Manifest } from '../home/manifest.js';
import { labDir, labsRoot } from '../home/paths.js';
import { dockerEnvChange, formatDockerEnv, formatDockerEnvJson } from '../terminal/docker-env.js';
import { DOCKER_SSH_CONFIG, dockerSshConfig, dockerSshHost, includeLine } from '../terminal/docker-ssh.js';
import { hintCommand, namedLab, onlyDockerLab, shellOf, type DockerEnvOptions } from './docker-env.js';

/** The SSH data of a lab's machine (`vagrant ssh-config`); injected in tests. */
export type SshLookup = (labDirectory: string, machine: string) => Promise<{ user: string; port: number; identityFiles: string[] }>;

export async function runSsh(opts: DockerEnvOptions, ctx: Context, deps: { sshLookup?: SshLookup } = {}): Promise<void> {
  const shell = shellOf(opts, ctx);
  const manifest = opts.name !== undefined ? await namedLab(opts.name, ctx) : await onlyDockerLab(ctx);
  // SSH needs no Docker port: any machine of the lab runs Docker (the Docker machine if there is one).
  await printSsh({ ...opts, ssh: true }, ctx, manifest, shell, deps.sshLookup ?? vagrantSshLookup(ctx));
}

/** `--ssh`: the lab's SSH config for the docker CLI (written in the lab directory), then the lines. */
async function printSsh(opts: DockerEnvOptions, ctx: Context, manifest: Manifest, shell: ReturnType<typeof shellOf>, lookup: SshLookup): Promise<void> {
  const machine = manifest.docker?.machine ?? manifest.lab.machines.find((m) => m.dockerTcp)?.name ?? manifest.machines[0]!.name;
  const dir = labDir(ctx.env, manifest.name);
  const ssh = await lookup(dir, machine);
  const target = { lab: manifest.name, machine, ...ssh };
  const file = join(dir, DOCKER_SSH_CONFIG);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, dockerSshConfig(target), { mode: 0o600 });
  await chmod(file, 0o600);
  ctx.io.err(`The docker CLI reads SSH settings from ~/.ssh/config only: add this line at its top, once for every lab:\n  ${includeLine(labsRoot(ctx.env))}\n`);
  const change = dockerEnvChange(dockerSshHost(target), manifest.name);
  ctx.io.out(opts.json ? formatDockerEnvJson(change) : formatDockerEnv({ shell, ...change, commandLine: hintCommand(opts, shell, manifest.name) }));
}

/** `vagrant ssh-config` of the machine, through the Vagrant driver (loaded only for --ssh). */
function vagrantSshLookup(ctx: Context): SshLookup {
  return async (dir, machine) => {
    const { createVagrantDriver } = await import('../vagrant/driver.js');
    const [host] = await createVagrantDriver({ env: ctx.env }).sshConfig(dir, [machine]);
    if (host === undefined) throw new NotFoundError(`Vagrant has no SSH settings for ${machine}: is it running?`, { hint: 'start the lab with `cclab up NAME`' });
    return { user: host.user, port: host.port, identityFiles: host.identityFiles };
  };
}
