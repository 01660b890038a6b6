/**
 * `cclab env NAME`: the variables that point the host's etcdctl and fleetctl at a lab (in the
 * shells docker-env speaks); `cclab etcdctl NAME -- ARGS` and `cclab fleetctl NAME -- ARGS`: the
 * tools run on a lab machine over the lab's SSH, with the terminal passed through.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Context } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { Manifest } from '../home/manifest.js';
import { checkFleetUnit } from '../lab/fleet-unit.js';
import {
  clusterEnvChange,
  clusterUnsetChange,
  etcdEndpoints,
  hasFleet,
  isUnitFileName,
  remoteEtcdctl,
  remoteFleetctl,
  REMOTE_UNIT_DIR,
} from '../lab/cluster-tools.js';
import { defaultLab, requireLab, type LifecycleDeps } from '../pipeline/lifecycle.js';
import { poweredOff } from '../pipeline/experiments.js';
import { formatDockerEnv, formatDockerEnvJson } from '../terminal/docker-env.js';
import type { SshHost } from '../vagrant/parse.js';
import { DirectSsh } from '../vagrant/ssh.js';
import { shellOf } from './docker-env.js';
import { machineOf } from './ssh.js';
import { labDeps } from './deps.js';

/** A lab machine's terminal over SSH (injected in tests). */
export interface MachineShell {
  /** `forwardKey`: a private key offered to the machine through a forwarded agent of cclab's own. */
  interactive(machine: string, argv: string[], signal?: AbortSignal, opts?: { forwardKey?: string | undefined }): Promise<number>;
  /** The private key the machine is reached with. */
  keyOf(machine: string): string | undefined;
  upload(machine: string, from: string, to: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterToolDeps extends LifecycleDeps {
  /** SSH to these machines of the lab (in the CLI: one `vagrant ssh-config`, then direct ssh). */
  openShell?: (m: Manifest, machines: string[]) => Promise<MachineShell>;
  /** SSH settings of one machine, for FLEETCTL_TUNNEL. */
  sshHost?: (m: Manifest, machine: string) => Promise<SshHost>;
}

function withEtcd(m: Manifest, command: string): void {
  if (etcdEndpoints(m.lab).length === 0) {
    throw new NotFoundError(`lab ${m.name} runs no etcd (${m.architecture})`, { hint: `${command} needs a cluster: small, dev or production` });
  }
}

export async function env(
  opts: { name?: string | undefined; shell?: string | undefined; unset: boolean; json: boolean; tunnel: boolean },
  ctx: Context,
  deps: ClusterToolDeps = labDeps(ctx),
): Promise<void> {
  const shell = shellOf(opts, ctx);
  const words = ['cclab', 'env'];
  if (opts.shell !== undefined || shell === 'powershell' || shell === 'cmd') words.push('--shell', opts.shell ?? shell);
  if (opts.unset) words.push('--unset');
  if (opts.tunnel) words.push('--tunnel');
  if (opts.unset) {
    if (opts.name !== undefined) await requireLab(deps.store, opts.name);
    const change = clusterUnsetChange();
    ctx.io.out(opts.json ? formatDockerEnvJson(change) : formatDockerEnv({ shell, ...change, commandLine: [...words, ...(opts.name ? [opts.name] : [])].join(' ') }));
    return;
  }
  const m = opts.name !== undefined ? await requireLab(deps.store, opts.name) : await defaultLab(deps.store, 'env');
  withEtcd(m, 'cclab env');
  let tunnel: string | undefined;
  if (opts.tunnel) {
    if (!hasFleet(m.lab)) throw new UsageError(`lab ${m.name} runs no fleet: --tunnel is for fleetctl`);
    const off = poweredOff(m);
    const machine = m.lab.machines.find((x) => x.fleet && off[x.name] === undefined);
    if (machine === undefined) throw new NotFoundError(`no fleet machine of lab ${m.name} is running`, { hint: `\`cclab up ${m.name}\`` });
    const host = await (deps.sshHost ?? vagrantSshHost(deps))(m, machine.name);
    tunnel = `${host.hostName}:${host.port}`;
    // fleetctl authenticates through ssh-agent only.
    const key = host.identityFiles[0];
    if (key !== undefined) ctx.io.err(`note: fleetctl logs in through ssh-agent as ${host.user}: ssh-add ${JSON.stringify(key)}\n`);
  }
  const change = clusterEnvChange(m.lab, tunnel);
  ctx.io.out(opts.json ? formatDockerEnvJson(change) : formatDockerEnv({ shell, ...change, commandLine: [...words, m.name].join(' ') }));
}

function vagrantSshHost(deps: LifecycleDeps) {
  return async (m: Manifest, machine: string): Promise<SshHost> => {
    const [host] = await deps.vagrant.sshConfig(deps.store.dir(m.name), [machine]);
    if (host === undefined) throw new NotFoundError(`Vagrant gave no SSH settings for ${machine} of lab ${m.name}`, { hint: `is it running? \`cclab status ${m.name}\`` });
    return host;
  };
}

function vagrantShell(deps: LifecycleDeps, ctx: Context) {
  return async (m: Manifest, machines: string[]): Promise<MachineShell> => DirectSsh.create(await deps.vagrant.sshConfig(deps.store.dir(m.name), machines), { env: ctx.env });
}

/** The machine to run on: the one asked for, else the first running machine that has the tool's service. */
function pickMachine(m: Manifest, asked: string | undefined, wants: (x: Manifest['lab']['machines'][number]) => boolean, tool: string): string {
  if (asked !== undefined) return machineOf(m, asked);
  const off = poweredOff(m);
  const found = m.lab.machines.find((x) => wants(x) && off[x.name] === undefined);
  if (found === undefined) throw new NotFoundError(`no machine of lab ${m.name} can run ${tool} now`, { hint: `\`cclab status ${m.name}\` shows which machines run` });
  return found.name;
}

export async function etcdctl(
  opts: { name: string; machine?: string | undefined; args: string[] },
  ctx: Context,
  deps: ClusterToolDeps = labDeps(ctx),
): Promise<number> {
  const m = await requireLab(deps.store, opts.name);
  withEtcd(m, 'cclab etcdctl');
  const machine = pickMachine(m, opts.machine, (x) => x.etcd !== 'none', 'etcdctl');
  return onMachine(m, machine, deps, ctx, (shell) => shell.interactive(machine, remoteEtcdctl(m.lab, opts.args), ctx.signal));
}

/** Runs `work` with SSH to one machine of the lab, closed after. */
async function onMachine<T>(m: Manifest, machine: string, deps: ClusterToolDeps, ctx: Context, work: (shell: MachineShell) => Promise<T>): Promise<T> {
  const shell = await (deps.openShell ?? vagrantShell(deps, ctx))(m, [machine]);
  try {
    return await work(shell);
  } finally {
    await shell.close();
  }
}

/** fleetctl commands that SSH from the machine they run on to another one. */
const FLEETCTL_SSH_COMMANDS = new Set(['status', 'journal', 'ssh']);

/**
 * fleetctl on a fleet machine. Unit files named on the command line that exist on the host are
 * uploaded first (to /tmp/cclab-units, keeping their names, which fleet takes the unit name from).
 */
export async function fleetctl(
  opts: { name: string; machine?: string | undefined; args: string[] },
  ctx: Context,
  deps: ClusterToolDeps = labDeps(ctx),
): Promise<number> {
  const m = await requireLab(deps.store, opts.name);
  withEtcd(m, 'cclab fleetctl');
  if (!hasFleet(m.lab)) throw new NotFoundError(`lab ${m.name} runs no fleet`, { hint: 'fleet runs on the small, dev and production architectures' });
  const machine = pickMachine(m, opts.machine, (x) => x.fleet, 'fleetctl');
  const uploads: { from: string; to: string }[] = [];
  const args = opts.args.map((word) => {
    if (!isUnitFileName(word)) return word;
    const from = resolve(ctx.cwd, word);
    if (!existsSync(from) || !statSync(from).isFile()) return word;
    const name = basename(from);
    if (!/^[A-Za-z0-9@._:-]+$/.test(name)) throw new UsageError(`${JSON.stringify(name)} is not a unit file name fleet accepts`);
    const problems = checkFleetUnit(readFileSync(from, 'utf8'));
    if (problems.length > 0) throw new UsageError(`${word} breaks fleet's rules: ${problems.join('; ')}`, { hint: 'fleet would refuse it (or silently ignore those lines); fix the [X-Fleet] section' });
    const to = `${REMOTE_UNIT_DIR}/${name}`;
    uploads.push({ from, to });
    return to;
  });
  return onMachine(m, machine, deps, ctx, async (shell) => {
    for (const u of uploads) {
      ctx.io.err(`Uploading ${u.from} to ${machine}:${u.to}\n`);
      await shell.upload(machine, u.from, u.to, ctx.signal);
    }
    // fleetctl status, journal and ssh go on from this machine to the unit's: the lab's key goes
    // with them through a forwarded agent (every machine of a lab takes the same key).
    const hops = FLEETCTL_SSH_COMMANDS.has(args.find((a) => !a.startsWith('-')) ?? '');
    return shell.interactive(machine, remoteFleetctl(m.lab, args), ctx.signal, { forwardKey: hops ? shell.keyOf(machine) : undefined });
  });
}
