/**
 * `cclab docker-env [NAME] [--shell SHELL] [--unset] [--json]`: print the shell commands that
 * point the Docker CLI at a lab's Docker API: DOCKER_TLS_VERIFY=1, DOCKER_HOST=tcp://127.0.0.1:PORT
 * and DOCKER_CERT_PATH=<lab dir>/docker-certs for a lab with TLS (docker-machine's variables), or
 * DOCKER_HOST alone with the TLS variables unset for the plain socket; and CCLAB_ACTIVE_DOCKERD.
 * Reads the saved manifest only: it never starts Vagrant and never touches the network,
 * because people run it from shell start-up files. For the same reason it imports only node
 * built-ins and small local modules.
 *
 * Only the commands go to stdout; errors and warnings go to stderr, so `eval "$(…)"` stays safe.
 */
import type { Context } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import { listLabs, readManifest } from '../home/manifest.js';
import type { Manifest } from '../home/manifest.js';
import { dockerCertPath, labDir, labsRoot } from '../home/paths.js';
import {
  detectShell,
  dockerEnvChange,
  dockerUnsetChange,
  formatDockerEnv,
  formatDockerEnvJson,
  shellFor,
} from '../terminal/docker-env.js';
import type { Shell } from '../terminal/docker-env.js';

export interface DockerEnvOptions {
  /** Lab name; optional when exactly one lab exposes Docker. */
  name?: string | undefined;
  /** Shell syntax to print (unknown names: POSIX); auto-detected from the environment when absent. */
  shell?: string | undefined;
  /** Print commands that remove the variables instead (needs no lab). */
  unset: boolean;
  /** Print one JSON object instead of shell commands. */
  json: boolean;
  /** DOCKER_HOST=ssh://… through the machine's forwarded SSH port: ./docker-env-ssh.ts (loaded only then). */
  ssh?: boolean | undefined;
}

/** The shell to print for: --shell (unknown names: POSIX), else from the environment. */
export function shellOf(opts: Pick<DockerEnvOptions, 'shell'>, ctx: Context): Shell {
  if (opts.shell !== undefined && !/^[A-Za-z0-9._-]{1,32}$/.test(opts.shell)) {
    throw new UsageError(`"${opts.shell.slice(0, 40)}" is not a shell name (bash, zsh, fish, tcsh, powershell, cmd, none; any other name gets POSIX lines)`);
  }
  return opts.shell !== undefined ? shellFor(opts.shell) : detectShell(ctx.env);
}

export async function run(opts: DockerEnvOptions, ctx: Context): Promise<void> {
  const shell = shellOf(opts, ctx);

  if (opts.unset) {
    // `--unset NAME`: the lab must exist (a typo would otherwise pass unnoticed).
    if (opts.name !== undefined) await namedLab(opts.name, ctx);
    const change = dockerUnsetChange();
    ctx.io.out(
      opts.json ? formatDockerEnvJson(change) : formatDockerEnv({ shell, ...change, commandLine: hintCommand(opts, shell, undefined) }),
    );
    return;
  }

  const manifest = opts.name !== undefined ? await namedLab(opts.name, ctx) : await onlyDockerLab(ctx);
  const docker = manifest.docker;
  if (docker === undefined && manifest.lab.machines.some((m) => m.dockerTcp)) {
    // The lab has a Docker machine, but its forwarded port is read back only once it is up (an
    // interrupted or failed first `up`, or `down --keep-files`): resuming is the way, not rebuilding.
    throw new NotFoundError(`lab ${manifest.name} has not finished coming up: its Docker port is not known yet (state: ${manifest.state})`, {
      hint: `resume it with \`cclab up ${manifest.name}\`, then run this again`,
    });
  }
  if (docker === undefined) {
    throw new NotFoundError(`lab ${manifest.name} has no Docker endpoint`, {
      hint: `rebuild it with Docker exposed (\`cclab up ${manifest.architecture} --name ${manifest.name} --docker-tcp --recreate\`), or use the laptop architecture (\`cclab up laptop\`)`,
    });
  }
  if (manifest.state !== 'running' && manifest.state !== 'partial') {
    ctx.io.err(`warning: lab ${manifest.name} was ${manifest.state} when last seen: docker commands will fail until \`cclab up ${manifest.name}\`\n`);
  }
  // The plain socket: said in the output's own comment (where people look when they paste it).
  const note = docker.tls ? undefined : `Warning: the Docker API of lab ${manifest.name} is plain TCP without authentication, docker.tls is false`;
  const change = dockerEnvChange(docker.endpoint, manifest.name, docker.tls ? dockerCertPath(labDir(ctx.env, manifest.name)) : undefined);
  ctx.io.out(
    opts.json ? formatDockerEnvJson(change) : formatDockerEnv({ shell, ...change, commandLine: hintCommand(opts, shell, manifest.name), note }),
  );
}

export async function namedLab(name: string, ctx: Context): Promise<Manifest> {
  return readManifest(labDir(ctx.env, name));
}

/** Without NAME: the one lab that has a Docker endpoint. */
export async function onlyDockerLab(ctx: Context): Promise<Manifest> {
  const root = labsRoot(ctx.env);
  const labs = await listLabs(root);
  // Labs with a Docker machine count even before their port is known (an interrupted first `up`):
  // run() then says to resume it.
  const withDocker = labs.flatMap((l) => (l.manifest && (l.manifest.docker !== undefined || l.manifest.lab.machines.some((m) => m.dockerTcp)) ? [l.manifest] : []));
  const [first, second] = withDocker;
  if (first !== undefined && second === undefined) return first;
  if (first !== undefined) {
    const names = withDocker.map((m) => m.name);
    throw new UsageError(`several labs expose Docker: ${names.join(', ')}; name one: cclab docker-env ${first.name}`);
  }
  const broken = labs.filter((l) => l.error !== undefined).map((l) => l.name);
  throw new NotFoundError(labs.length === 0 ? `no labs in ${root}` : 'no lab exposes Docker', {
    hint:
      'create one with `cclab up laptop`, or `cclab up ARCHITECTURE --docker-tcp` for a cluster' +
      (broken.length > 0 ? `; these labs could not be read: ${broken.join(', ')}` : ''),
  });
}

/** The command line repeated in the usage hint. PowerShell and cmd cannot be detected reliably: name them. */
export function hintCommand(opts: DockerEnvOptions, shell: Shell, name: string | undefined): string {
  const words = ['cclab', 'docker-env'];
  if (opts.shell !== undefined || shell === 'powershell' || shell === 'cmd') words.push('--shell', opts.shell ?? shell);
  if (opts.unset) words.push('--unset');
  if (opts.ssh) words.push('--ssh');
  if (name !== undefined) words.push(name);
  return words.join(' ');
}
