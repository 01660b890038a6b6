/** `down`, `halt`, `status`, `ls`: the rest of a lab's life, over the injected store and driver. */
import type { DockerCli } from '../docker/context.js';
import { orderly, type Context } from '../context.js';
import { LabBusyError, NotFoundError, UsageError } from '../errors.js';
import { CorruptManifestError } from '../errors.js';
import type { Manifest } from '../home/manifest.js';
import type { MachineStatus, VagrantDriver } from '../vagrant/driver.js';
import type { LabStore } from './store.js';
import type { LibvirtHostFiles } from './libvirt-host.js';
import { remoteIgnitionDir, remoteLibvirtOf } from '../providers/libvirt-uri.js';

export interface LifecycleDeps {
  store: LabStore;
  vagrant: VagrantDriver;
  now?: () => Date;
  /** The docker CLI, for the lab's docker context (`down` removes it); default: `docker` on PATH. */
  dockerCli?: DockerCli;
  /** A remote libvirt host's files (`down` removes the lab's Ignition configs there); default: over ssh. */
  libvirtHost?: LibvirtHostFiles;
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

/**
 * The lock of a lab that must already exist. Another command holding the lock of a lab that does
 * not exist (two `down nosuch` at once: each takes the lock of the empty directory it makes) is no
 * reason to call the lab busy: that is reported as "no lab named …", as it would be a moment later.
 */
export async function lockExisting(store: LabStore, name: string, command: string, opts?: Parameters<LabStore['lock']>[2]): Promise<() => Promise<void>> {
  try {
    return await store.lock(name, command, opts);
  } catch (e) {
    if (e instanceof LabBusyError && (await store.read(name).catch(() => null)) === undefined && !(await store.hasFile(name, 'Vagrantfile').catch(() => true))) {
      await requireLab(store, name);
    }
    throw e;
  }
}

/** The lab to act on when no name is given: the only one, or an error naming the choices. */
/** Vagrant's output lines, indented under the line cclab printed for the step (stderr). */
export function vagrantLines(ctx: Context): (line: string) => void {
  return (l) => ctx.io.err(`  ${l}\n`);
}

export async function defaultLab(store: LabStore, command: string): Promise<Manifest> {
  const labs = await store.list();
  if (labs.length === 1) return labs[0]!;
  if (labs.length === 0) throw new NotFoundError('there are no labs', { hint: 'create one with `cclab up laptop` (or small, dev, production)' });
  throw new UsageError(`several labs exist (${labs.map((l) => l.name).join(', ')}); name one: cclab ${command} NAME`);
}

/**
 * `vagrant destroy -f`, then the lab directory goes (unless keepFiles). Works on partial labs, on
 * labs whose VMs are already gone, on broken labs (a lab.json that cannot be read: its Vagrantfile
 * still knows the machines) and on a full disk (nothing needs to be written to destroy). The lab's
 * files are deleted while its lock is held, so no `up` can take the lab over half-deleted.
 */
export async function downLab(name: string, opts: { keepFiles: boolean }, deps: LifecycleDeps, ctx: Context): Promise<void> {
  const release = await lockExisting(deps.store, name, 'cclab down', { evenIfFull: (w) => ctx.io.err(`warning: ${w}\n`) });
  await orderly(ctx, async () => {
    try {
      let m: Manifest | undefined;
      try {
        m = await requireLab(deps.store, name);
      } catch (e) {
        if (!(e instanceof CorruptManifestError)) throw e;
        ctx.io.err(`warning: ${e.message}; taking the lab down from its Vagrantfile\n`);
      }
      const now = (deps.now ?? (() => new Date()))().toISOString();
      if (m) {
        // Best effort: on a full or read-only disk the lab is destroyed all the same.
        await deps.store.write({ ...m, state: 'destroying', updatedAt: now }).catch((e: unknown) => {
          ctx.io.err(`warning: could not record that lab ${name} is being destroyed (${(e as Error).message}); destroying it anyway\n`);
        });
      }
      // Without a Vagrantfile (a first `up` stopped right after writing the manifest) Vagrant has
      // no project to destroy, and no machine can have been created.
      if (await deps.store.hasFile(name, 'Vagrantfile')) {
        const count = m ? `the ${m.machines.length} machine${m.machines.length === 1 ? '' : 's'}` : 'the machines';
        ctx.io.err(`Destroying ${count} of ${name}…\n`);
        await deps.vagrant.destroy(deps.store.dir(name), undefined, { signal: ctx.signal, onLine: vagrantLines(ctx) });
      }
      // The Ignition configs cclab copied to a remote libvirt host go with the machines.
      const remote = m && remoteLibvirtOf(m.lab);
      if (remote) {
        const host = deps.libvirtHost ?? (await import('./libvirt-host.js')).sshLibvirtHost({ env: ctx.env });
        await host.remove(remote, name, ctx.signal).catch((e: unknown) => {
          ctx.io.err(`warning: ${(e as Error).message}; remove ${remoteIgnitionDir(name)} on ${remote.host} by hand\n`);
        });
      }
      if (opts.keepFiles) {
        if (m) {
          await deps.store.write({
            ...m,
            state: 'created',
            updatedAt: now,
            machines: m.machines.map((x) => ({ ...x, state: 'not_created' })),
            docker: undefined,
          });
        }
        ctx.io.err(`Lab ${name} destroyed; its files are kept in ${deps.store.dir(name)}\n`);
        return;
      }
      await deps.store.remove(name);
      ctx.io.err(`Lab ${name} destroyed and removed.\n`);
    } finally {
      await release();
    }
  });
}

export async function haltLab(name: string, deps: LifecycleDeps, ctx: Context): Promise<void> {
  const release = await lockExisting(deps.store, name, 'cclab halt');
  await orderly(ctx, async () => {
    try {
      const m = await requireLab(deps.store, name);
      ctx.io.err(`Halting ${name}…\n`);
      await deps.vagrant.halt(deps.store.dir(name), undefined, { signal: ctx.signal, onLine: vagrantLines(ctx) });
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
  });
}

/**
 * The state to show for a lab: a manifest left `booting` or `destroying` by a process that is gone
 * (killed, or a second Ctrl-C) is really partial.
 */
export function shownState(m: Manifest, locked: boolean): string {
  if (!locked && (m.state === 'booting' || m.state === 'destroying')) return 'partial';
  return m.state;
}

/** The lab's state summarised from its machines' Vagrant states. */
export function summariseState(states: (string | undefined)[]): string {
  if (states.length === 0) return 'empty';
  if (states.every((s) => s === 'running')) return 'running';
  if (states.every((s) => s === 'not_created' || s === undefined)) return 'not created';
  if (states.every((s) => s === 'poweroff' || s === 'shutoff' || s === 'saved')) return 'halted';
  return 'partial';
}
