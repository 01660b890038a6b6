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
import type { Probes } from '../pipeline/preflight.js';
import { chooseLibvirtDriver, chooseProvider, type Usability } from '../providers/choose.js';
import { PROVIDERS, type Provider } from '../lab/types.js';
import type { HostDetection } from './lab-input.js';

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

/**
 * Direct SSH to the lab's machines, from one `vagrant ssh-config` of the lab. `except`: machines
 * known to be off (`cclab kill`), which Vagrant cannot give an SSH config for.
 */
export function sshOpener(deps: LabDeps, env: Record<string, string | undefined>, except: string[] = []): OpenRemote {
  return async (lab) => {
    const machines = except.length > 0 ? lab.machines.map((m) => m.name).filter((m) => !except.includes(m)) : [];
    return DirectSsh.create(await deps.vagrant.sshConfig(deps.store.dir(lab.name), machines), { env });
  };
}

/** The health step of `cclab up`. */
export function healthFor(deps: LabDeps, env: Record<string, string | undefined>) {
  return async (lab: Lab, opts: LabCheckOptions): Promise<LabHealth> => {
    const { labHealth, withLabRemote } = await import('../health/lab.js');
    return withLabRemote(lab, sshOpener(deps, env), (remote) => labHealth(lab, opts, { remote }));
  };
}

/**
 * The host's answers for `up` and `doctor`: providers are asked in order until one is usable (a
 * usable VirtualBox answers in milliseconds; libvirt's probe asks Vagrant for its plugins).
 */
export function hostDetection(probes: Probes): HostDetection {
  // Each question is asked once per command, however often the lab is prepared.
  const once = <T>(f: () => Promise<T>): (() => Promise<T>) => {
    let p: Promise<T> | undefined;
    return () => (p ??= f());
  };
  const found: HostDetection = {
    async provider() {
      const usable = {} as Record<Provider, Usability | undefined>;
      for (const p of PROVIDERS) {
        usable[p] = await probes.providerUsable(p).catch((e: unknown) => ({ ok: false, detail: (e as Error).message }));
        if (usable[p]!.ok) break;
      }
      return chooseProvider(usable);
    },
    async libvirtDriver() {
      // Probes that cannot tell (a test's) leave KVM, the default, in place.
      return chooseLibvirtDriver(probes.kvmFacts ? await probes.kvmFacts() : { devKvm: true, kvmCapabilities: 'yes' });
    },
  };
  return { provider: once(found.provider), libvirtDriver: once(found.libvirtDriver) };
}
