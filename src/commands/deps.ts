/** The real side effects behind the lifecycle commands, built on demand. */
import type { Context } from '../context.js';
import type { Lab } from '../lab/types.js';
import { homeStore } from '../pipeline/home-store.js';
import { realProbes } from '../pipeline/probes.js';
import type { HealthOutcome } from '../pipeline/up.js';
import type { LabStore } from '../pipeline/store.js';
import type { RemoteExec } from '../transport.js';
import { createVagrantDriver, type VagrantDriver } from '../vagrant/driver.js';
import { DirectSsh } from '../vagrant/ssh.js';

export interface LabDeps {
  store: LabStore;
  vagrant: VagrantDriver;
}

export function labDeps(ctx: Context): LabDeps {
  return {
    store: homeStore(ctx.env, (m) => ctx.io.err(`note: ${m}\n`)),
    vagrant: createVagrantDriver({ env: ctx.env }),
  };
}

export function probesFor(deps: LabDeps, ctx: Context) {
  return realProbes(deps.vagrant, ctx.env);
}

/** Direct SSH to the lab's machines (one `vagrant ssh-config` per lab), only when a check needs it. */
async function remoteFor(
  lab: Lab,
  deps: LabDeps,
  env: Record<string, string | undefined>,
): Promise<(RemoteExec & { close(): Promise<void> }) | undefined> {
  if (!lab.machines.some((m) => m.etcd === 'proxy' && m.etcdListen === 'loopback')) return undefined;
  const hosts = await deps.vagrant.sshConfig(deps.store.dir(lab.name));
  return DirectSsh.create(hosts, { env });
}

/**
 * Runs `fn` with direct SSH to the lab's machines when its checks need it, and closes it after.
 * `optional`: a lab whose SSH data cannot be read (machines not all running) gets none, and the
 * checks that need it are reported as not checked.
 */
export async function withLabRemote<T>(
  lab: Lab,
  deps: LabDeps,
  env: Record<string, string | undefined>,
  fn: (remote: RemoteExec | undefined) => Promise<T>,
  opts: { optional?: boolean } = {},
): Promise<T> {
  const opening = remoteFor(lab, deps, env);
  const remote = opts.optional ? await opening.catch(() => undefined) : await opening;
  try {
    return await fn(remote);
  } finally {
    await remote?.close();
  }
}

/** The health step of `cclab up`. */
export function healthFor(deps: LabDeps, env: Record<string, string | undefined>) {
  return async (lab: Lab, opts: { dockerEndpoint: string | undefined; timeoutMs: number; signal: AbortSignal }): Promise<HealthOutcome> => {
    const { labHealth } = await import('./check.js');
    return withLabRemote(lab, deps, env, (remote) => labHealth(lab, { ...opts, remote }));
  };
}
