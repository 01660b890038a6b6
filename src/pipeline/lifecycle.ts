/** `down`, `halt`, `status`, `ls`: the rest of a lab's life, over the injected store and driver. */
import type { Context } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { Manifest } from '../home/manifest.js';
import type { MachineStatus, VagrantDriver } from '../vagrant/driver.js';
import type { LabStore } from './store.js';

export interface LifecycleDeps {
  store: LabStore;
  vagrant: VagrantDriver;
  now?: () => Date;
}

export async function requireLab(store: LabStore, name: string): Promise<Manifest> {
  const m = await store.read(name);
  if (!m) {
    const names = (await store.list()).map((l) => l.name);
    throw new NotFoundError(`there is no lab named ${name}`, {
      hint: names.length > 0 ? `existing labs: ${names.join(', ')}` : 'no labs yet: create one with `cclab up laptop` (or small, dev, production)',
    });
  }
  return m;
}

/** The lab to act on when no name is given: the only one, or an error naming the choices. */
export async function defaultLab(store: LabStore, command: string): Promise<Manifest> {
  const labs = await store.list();
  if (labs.length === 1) return labs[0]!;
  if (labs.length === 0) throw new NotFoundError('there are no labs', { hint: 'create one with `cclab up laptop` (or small, dev, production)' });
  throw new UsageError(`several labs exist (${labs.map((l) => l.name).join(', ')}); name one: cclab ${command} NAME`);
}

/**
 * `vagrant destroy -f`, then the lab directory goes (unless keepFiles). Works on partial labs and on
 * labs whose VMs are already gone: the directory is removed even when Vagrant finds nothing.
 */
export async function downLab(name: string, opts: { keepFiles: boolean }, deps: LifecycleDeps, ctx: Context): Promise<void> {
  const release = await deps.store.lock(name, 'cclab down');
  try {
    const m = await requireLab(deps.store, name);
    const now = (deps.now ?? (() => new Date()))().toISOString();
    await deps.store.write({ ...m, state: 'destroying', updatedAt: now });
    // Without a Vagrantfile (a first `up` stopped right after writing the manifest) Vagrant has
    // no project to destroy, and no machine can have been created.
    if (await deps.store.hasFile(name, 'Vagrantfile')) {
      ctx.io.err(`Destroying the ${m.machines.length} machine${m.machines.length === 1 ? '' : 's'} of ${name}…\n`);
      await deps.vagrant.destroy(deps.store.dir(name), undefined, { signal: ctx.signal, onLine: (l) => ctx.io.err(`  ${l}\n`) });
    }
    if (opts.keepFiles) {
      await deps.store.write({
        ...m,
        state: 'created',
        updatedAt: now,
        machines: m.machines.map((x) => ({ ...x, state: 'not_created' })),
        docker: undefined,
      });
      ctx.io.err(`Lab ${name} destroyed; its files are kept in ${deps.store.dir(name)}\n`);
    }
  } finally {
    await release();
  }
  if (!opts.keepFiles) {
    await deps.store.remove(name);
    ctx.io.err(`Lab ${name} destroyed and removed.\n`);
  }
}

export async function haltLab(name: string, deps: LifecycleDeps, ctx: Context): Promise<void> {
  const release = await deps.store.lock(name, 'cclab halt');
  try {
    const m = await requireLab(deps.store, name);
    ctx.io.err(`Halting ${name}…\n`);
    await deps.vagrant.halt(deps.store.dir(name), undefined, { signal: ctx.signal, onLine: (l) => ctx.io.err(`  ${l}\n`) });
    const states = await deps.vagrant.status(deps.store.dir(name)).catch((): MachineStatus[] => []);
    await deps.store.write({
      ...m,
      state: 'halted',
      updatedAt: (deps.now ?? (() => new Date()))().toISOString(),
      machines: m.machines.map((x) => ({ ...x, state: states.find((s) => s.name === x.name)?.state ?? 'poweroff' })),
    });
    ctx.io.err(`Lab ${name} halted; resume it with \`cclab up ${name}\`.\n`);
  } finally {
    await release();
  }
}

/** The lab's state summarised from its machines' Vagrant states. */
export function summariseState(states: (string | undefined)[]): string {
  if (states.length === 0) return 'empty';
  if (states.every((s) => s === 'running')) return 'running';
  if (states.every((s) => s === 'not_created' || s === undefined)) return 'not created';
  if (states.every((s) => s === 'poweroff' || s === 'shutoff' || s === 'saved')) return 'halted';
  return 'partial';
}
