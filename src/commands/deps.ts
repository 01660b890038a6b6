/** The real side effects behind the lifecycle commands, built on demand. */
import type { Context } from '../context.js';
import type { Lab } from '../lab/types.js';
import { homeStore } from '../pipeline/home-store.js';
import { realProbes } from '../pipeline/probes.js';
import type { LabCheckOptions, OpenRemote } from '../health/lab.js';
import type { LabHealth } from '../health/types.js';
import type { LabStore } from '../pipeline/store.js';
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

/** Direct SSH to the lab's machines, from one `vagrant ssh-config` of the lab. */
export function sshOpener(deps: LabDeps, env: Record<string, string | undefined>): OpenRemote {
  return async (lab) => DirectSsh.create(await deps.vagrant.sshConfig(deps.store.dir(lab.name)), { env });
}

/** The health step of `cclab up`. */
export function healthFor(deps: LabDeps, env: Record<string, string | undefined>) {
  return async (lab: Lab, opts: LabCheckOptions): Promise<LabHealth> => {
    const { labHealth, withLabRemote } = await import('../health/lab.js');
    return withLabRemote(lab, sshOpener(deps, env), (remote) => labHealth(lab, opts, { remote }));
  };
}
