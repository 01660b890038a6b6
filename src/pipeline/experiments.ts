/**
 * The guide's experiments on a lab, over the injected store and driver: `kill` pulls the plug on
 * machines (a hard power-off, recorded as the user's act), `snapshot` saves, restores, lists and
 * deletes a snapshot of every machine of the lab as one unit.
 */
import { orderly, type Context } from '../context.js';
import { CommandError, NotFoundError, UsageError } from '../errors.js';
import type { LabSnapshot, Manifest } from '../home/manifest.js';
import { dockerCertPath } from '../home/paths.js';
import type { LabCheckOptions } from '../health/lab.js';
import type { LabHealth } from '../health/types.js';
import type { Lab } from '../lab/types.js';
import type { MachineStatus } from '../vagrant/driver.js';
import { lockExisting, requireLab, summariseState, vagrantLines, type LifecycleDeps } from './lifecycle.js';

/** Snapshot names reach Vagrant's argv and the provider's own names (libvirt, VirtualBox): kept plain. */
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME.test(name)) {
    throw new UsageError(`${JSON.stringify(name)} is not a snapshot name`, {
      hint: 'use letters, digits, dots, dashes and underscores (at most 63, starting with a letter or digit), e.g. base or before-upgrade',
    });
  }
}

/** The named machines, checked against the lab; every unknown name at once. */
function machinesOf(m: Manifest, names: string[], command: string): string[] {
  if (names.length === 0) throw new UsageError(`name the machines: cclab ${command} ${m.name} MACHINE…`, { hint: `its machines: ${m.machines.map((x) => x.name).join(', ')}` });
  const unknown = names.filter((n) => !m.machines.some((x) => x.name === n));
  if (unknown.length > 0) {
    throw new NotFoundError(`lab ${m.name} has no machine ${unknown.join(', ')}`, { hint: `its machines: ${m.machines.map((x) => x.name).join(', ')}` });
  }
  return [...new Set(names)];
}

const isOff = (state: string | undefined) => state === 'poweroff' || state === 'shutoff' || state === 'saved' || state === 'aborted';

/** The manifest after Vagrant reported `states`: each machine's state, and the lab's. */
function withStates(m: Manifest, states: MachineStatus[], now: string, change: (x: Manifest['machines'][number]) => Manifest['machines'][number] = (x) => x): Manifest {
  const machines = m.machines.map((x) => change({ ...x, state: states.find((s) => s.name === x.name)?.state ?? x.state }));
  const summary = summariseState(machines.map((x) => x.state));
  return { ...m, machines, state: summary === 'running' ? 'running' : summary === 'halted' ? 'halted' : 'partial', updatedAt: now };
}

/**
 * `cclab kill NAME MACHINE…`: a hard power-off through the provider (`vagrant halt --force`: no
 * clean shutdown, as when the plug is pulled). The manifest records when, so `status` and `check`
 * can say the machine is down on purpose; `cclab up NAME` brings it back.
 */
export async function killMachines(name: string, names: string[], deps: LifecycleDeps, ctx: Context): Promise<string[]> {
  return underLock(name, 'cclab kill', deps, ctx, async (m, dir) => {
    const machines = machinesOf(m, names, 'kill');
    const before = await deps.vagrant.status(dir, machines);
    const notRunning = before.filter((s) => s.state !== 'running');
    if (notRunning.length > 0) {
      throw new UsageError(`${notRunning.map((s) => `${s.name} is ${s.state}`).join(', ')}: only a running machine can be killed`, {
        hint: `\`cclab up ${name}\` starts every machine of the lab`,
      });
    }
    ctx.io.err(`Pulling the plug on ${machines.join(', ')}…\n`);
    await deps.vagrant.halt(dir, machines, { force: true, signal: ctx.signal, onLine: vagrantLines(ctx) });
    const now = (deps.now ?? (() => new Date()))().toISOString();
    const after = await deps.vagrant.status(dir).catch((): MachineStatus[] => []);
    await deps.store.write(withStates(m, after, now, (x) => (machines.includes(x.name) ? { ...x, state: x.state === 'running' ? 'poweroff' : x.state, killedAt: now } : x)));
    ctx.io.err(
      `${machines.join(', ')} ${machines.length === 1 ? 'is' : 'are'} powered off (no clean shutdown).\n` +
        `  What the cluster makes of it: cclab check ${name}\n  Bring ${machines.length === 1 ? 'it' : 'them'} back: cclab up ${name}\n`,
    );
    return machines;
  });
}

/** The lab's created machines and the snapshots Vagrant lists for each. */
async function snapshotsOnMachines(m: Manifest, dir: string, deps: LifecycleDeps): Promise<{ created: string[]; found: Map<string, string[]> }> {
  const states = await deps.vagrant.status(dir).catch((): MachineStatus[] => []);
  const created = m.machines.filter((x) => (states.find((s) => s.name === x.name)?.state ?? 'not_created') !== 'not_created').map((x) => x.name);
  return { created, found: created.length > 0 ? await deps.vagrant.snapshotList(dir, created) : new Map<string, string[]>() };
}

/** Runs `work` on lab `name` holding its lock, as orderly work (a signal lets it finish its step). */
async function underLock<T>(name: string, command: string, deps: LifecycleDeps, ctx: Context, work: (m: Manifest, dir: string) => Promise<T>): Promise<T> {
  const release = await lockExisting(deps.store, name, command);
  return orderly(ctx, async () => {
    try {
      return await work(await requireLab(deps.store, name), deps.store.dir(name));
    } finally {
      await release();
    }
  });
}

/** The machines `cclab kill` powered off and that are still off: name → when. */
export function poweredOff(m: Manifest): Record<string, string> {
  return Object.fromEntries(m.machines.filter((x) => x.killedAt !== undefined && isOff(x.state)).map((x) => [x.name, x.killedAt!]));
}

export interface SnapshotDeps extends LifecycleDeps {
  /** The lab's health after a restore (in the CLI: the same checks as `cclab check`). */
  health?: (lab: Lab, opts: LabCheckOptions) => Promise<LabHealth>;
}

/** Each machine of the lab that Vagrant has created (a snapshot needs a machine to be taken of), with its state. */
async function createdMachines(m: Manifest, dir: string, deps: LifecycleDeps): Promise<{ name: string; state: string }[]> {
  const states = await deps.vagrant.status(dir);
  const stateOf = (x: string) => states.find((s) => s.name === x)?.state ?? 'not_created';
  const missing = m.machines.filter((x) => stateOf(x.name) === 'not_created');
  if (missing.length > 0) {
    throw new UsageError(`${missing.map((x) => x.name).join(', ')} of lab ${m.name} ${missing.length === 1 ? 'is' : 'are'} not created: a snapshot holds every machine of the lab`, {
      hint: `\`cclab up ${m.name}\` creates them`,
    });
  }
  return m.machines.map((x) => ({ name: x.name, state: stateOf(x.name) }));
}

/** Vagrant's states of a suspended machine: libvirt's paused domain, VirtualBox's paused or saved VM. */
const isSuspended = (state: string) => state === 'paused' || state === 'saved';

/**
 * `cclab snapshot NAME save SNAPSHOT`: every machine, in one `vagrant snapshot save`. When more
 * than one machine runs, they are suspended first and resumed after, so the snapshot is one
 * moment of the whole cluster: taken one machine after another while the others run on, a
 * member's disk and memory can hold raft entries its leader's snapshot has not, and etcd refuses
 * to go on from such a restore. A save that fails on one machine removes the snapshot from the
 * machines it was taken of, so a snapshot exists on every machine of the lab or on none.
 */
export async function saveSnapshot(name: string, snapshot: string, deps: LifecycleDeps, ctx: Context): Promise<LabSnapshot> {
  checkSnapshotName(snapshot);
  return underLock(name, 'cclab snapshot save', deps, ctx, async (m, dir) => {
    if ((m.snapshots ?? []).some((s) => s.name === snapshot)) {
      throw new UsageError(`lab ${name} already has a snapshot ${snapshot}`, { hint: `delete it first (\`cclab snapshot ${name} delete ${snapshot}\`) or pick another name` });
    }
    const states = await createdMachines(m, dir, deps);
    const machines = states.map((s) => s.name);
    const found = await deps.vagrant.snapshotList(dir, machines);
    const stray = machines.filter((x) => found.get(x)?.includes(snapshot));
    if (stray.length > 0) {
      throw new UsageError(`${stray.join(', ')} already ${stray.length === 1 ? 'has' : 'have'} a snapshot named ${snapshot} that cclab did not take`, {
        hint: `pick another name, or remove it with \`vagrant snapshot delete ${snapshot}\` in ${dir}`,
      });
    }
    const running = states.filter((s) => s.state === 'running').map((s) => s.name);
    const pause = running.length > 1 ? running : [];
    const lines = { onLine: vagrantLines(ctx) };
    let failure: unknown;
    let saved = false;
    try {
      if (pause.length > 0) {
        ctx.io.err(`Suspending ${pause.join(', ')}, so the snapshot holds one moment of the whole cluster…\n`);
        await deps.vagrant.suspend(dir, pause, { signal: ctx.signal, ...lines });
      }
      ctx.io.err(`Saving snapshot ${snapshot} of ${machines.join(', ')}…\n`);
      // Every machine of the lab is created (above): one `vagrant snapshot save` takes them all.
      await deps.vagrant.snapshotSave(dir, undefined, snapshot, { signal: ctx.signal, ...lines });
      saved = true;
    } catch (e) {
      const undone = await undoPartialSave(dir, machines, snapshot, deps, ctx);
      failure = undone ? withHint(e, `no machine keeps a part of snapshot ${snapshot}`) : e;
    }
    if (pause.length > 0) {
      // Not under the user's signal: a machine left suspended is down for every check and tool.
      ctx.io.err(`Resuming ${pause.join(', ')}…\n`);
      try {
        await deps.vagrant.resume(dir, pause, lines);
      } catch (e) {
        if (saved) failure = withHint(e, `snapshot ${snapshot} was saved, but machines may still be suspended: \`cclab up ${name}\` resumes them`);
        else ctx.io.err(`warning: ${pause.join(', ')} may still be suspended (${(e as Error).message.split('\n')[0]}); \`cclab up ${name}\` resumes them\n`);
      }
    }
    if (!saved) throw failure;
    const taken: LabSnapshot = { name: snapshot, createdAt: (deps.now ?? (() => new Date()))().toISOString(), machines };
    await deps.store.write({ ...m, snapshots: [...(m.snapshots ?? []), taken], updatedAt: taken.createdAt });
    if (failure !== undefined) throw failure;
    ctx.io.err(`Snapshot ${snapshot} of lab ${name} saved (${machines.length} machine${machines.length === 1 ? '' : 's'}); go back to it with \`cclab snapshot ${name} restore ${snapshot}\`.\n`);
    return taken;
  });
}

/**
 * After a failed save: the snapshot goes from the machines that have it. Says what it did and
 * resolves with whether nothing is left; never throws.
 */
async function undoPartialSave(dir: string, machines: string[], snapshot: string, deps: LifecycleDeps, ctx: Context): Promise<boolean> {
  try {
    const found = await deps.vagrant.snapshotList(dir, machines);
    const made = machines.filter((x) => found.get(x)?.includes(snapshot));
    if (made.length > 0) {
      ctx.io.err(`The save failed; removing snapshot ${snapshot} from ${made.join(', ')}, which had it…\n`);
      await deleteFrom(dir, made, machines, snapshot, deps, ctx, undefined);
    }
    return true;
  } catch (e) {
    ctx.io.err(`warning: could not remove the parts of snapshot ${snapshot} already taken (${(e as Error).message.split('\n')[0]}); \`cclab snapshot NAME list\` shows them\n`);
    return false;
  }
}

/**
 * `vagrant snapshot delete` of `snapshot` on `having`: one process for the whole lab when every
 * machine (`all`) has it, else one per machine (Vagrant takes one machine name or none).
 */
async function deleteFrom(dir: string, having: string[], all: string[], snapshot: string, deps: LifecycleDeps, ctx: Context, signal: AbortSignal | undefined): Promise<void> {
  const run = { ...(signal && { signal }), onLine: vagrantLines(ctx) };
  if (all.every((x) => having.includes(x))) return deps.vagrant.snapshotDelete(dir, undefined, snapshot, run);
  for (const machine of having) await deps.vagrant.snapshotDelete(dir, machine, snapshot, run);
}

/** A failed Vagrant command's error with a word put before its hint. */
function withHint(e: unknown, first: string): unknown {
  if (!(e instanceof CommandError)) return e;
  return new CommandError(
    e.message,
    { command: e.command, exitStatus: e.exitStatus, output: e.outputTail, machine: e.machine },
    { hint: e.hint ? `${first}; ${e.hint}` : first, cause: e },
  );
}

/**
 * `cclab snapshot NAME restore SNAPSHOT`: every machine back to it (`vagrant snapshot restore`,
 * no provisioning), the ones that come back suspended resumed together, then the lab's health
 * check. Every machine must have it before any is touched.
 */
export async function restoreSnapshot(name: string, snapshot: string, opts: { timeoutMs: number }, deps: SnapshotDeps, ctx: Context): Promise<LabHealth | undefined> {
  checkSnapshotName(snapshot);
  const m = await underLock(name, 'cclab snapshot restore', deps, ctx, async (m, dir) => {
    const machines = (await createdMachines(m, dir, deps)).map((s) => s.name);
    const found = await deps.vagrant.snapshotList(dir, machines);
    const lacking = machines.filter((x) => !found.get(x)?.includes(snapshot));
    if (lacking.length > 0) {
      const known = (m.snapshots ?? []).map((s) => s.name);
      throw new NotFoundError(
        lacking.length === machines.length ? `lab ${name} has no snapshot ${snapshot}` : `${lacking.join(', ')} of lab ${name} ${lacking.length === 1 ? 'does' : 'do'} not have snapshot ${snapshot}: nothing was restored`,
        { hint: known.length > 0 ? `its snapshots: ${known.join(', ')}` : `take one with \`cclab snapshot ${name} save SNAPSHOT\`` },
      );
    }
    ctx.io.err(`Restoring snapshot ${snapshot} on ${machines.join(', ')}…\n`);
    const lines = { onLine: vagrantLines(ctx) };
    await deps.vagrant.snapshotRestore(dir, undefined, snapshot, { signal: ctx.signal, ...lines });
    // A snapshot taken with its machines suspended comes back suspended (libvirt): every machine
    // is back at that moment before any goes on, and then they go on together.
    let states = await deps.vagrant.status(dir);
    const suspended = states.filter((s) => machines.includes(s.name) && isSuspended(s.state)).map((s) => s.name);
    if (suspended.length > 0) {
      ctx.io.err(`Resuming ${suspended.join(', ')}…\n`);
      await deps.vagrant.resume(dir, suspended, lines).catch((e: unknown) => {
        throw withHint(e, `every machine is back at snapshot ${snapshot}, but some may still be suspended: \`cclab up ${name}\` resumes them`);
      });
      // Resumed without error: running (no need to ask Vagrant again, one more Ruby start).
      states = states.map((s) => (suspended.includes(s.name) ? { ...s, state: 'running' } : s));
    }
    const now = (deps.now ?? (() => new Date()))().toISOString();
    const next = withStates(m, states, now, ({ killedAt: _, ...x }) => x);
    await deps.store.write(next);
    ctx.io.err(`Lab ${name} is back at snapshot ${snapshot}.\n`);
    return next;
  });
  if (!deps.health) return undefined;
  ctx.io.err('Checking health…\n');
  return deps.health(m.lab, {
    timeoutMs: opts.timeoutMs,
    signal: ctx.signal,
    dockerEndpoint: m.docker?.endpoint,
    dockerCertDir: m.docker?.tls ? dockerCertPath(deps.store.dir(name)) : undefined,
  });
}

export interface SnapshotListing {
  name: string;
  createdAt: string | null;
  /** Machines that have it now (Vagrant's list). */
  machines: string[];
  /** Machines of the lab that do not (a snapshot made outside cclab, or a machine recreated since). */
  missing: string[];
  /** Taken with `cclab snapshot save` (recorded in the manifest). */
  cclab: boolean;
}

/** `cclab snapshot NAME list`: the manifest's snapshots, checked against what Vagrant lists. */
export async function listSnapshots(name: string, deps: LifecycleDeps): Promise<SnapshotListing[]> {
  const m = await requireLab(deps.store, name);
  const { found } = await snapshotsOnMachines(m, deps.store.dir(name), deps);
  const names = [...(m.snapshots ?? []).map((s) => s.name)];
  for (const list of found.values()) for (const s of list) if (!names.includes(s)) names.push(s);
  return names.map((s) => {
    const recorded = (m.snapshots ?? []).find((x) => x.name === s);
    const has = m.machines.map((x) => x.name).filter((x) => found.get(x)?.includes(s));
    return { name: s, createdAt: recorded?.createdAt ?? null, machines: has, missing: m.machines.map((x) => x.name).filter((x) => !has.includes(x)), cclab: recorded !== undefined };
  });
}

/** `cclab snapshot NAME delete SNAPSHOT`: from every machine that has it, then from the manifest. */
export async function deleteSnapshot(name: string, snapshot: string, deps: LifecycleDeps, ctx: Context): Promise<void> {
  checkSnapshotName(snapshot);
  await underLock(name, 'cclab snapshot delete', deps, ctx, async (m, dir) => {
    const { created, found } = await snapshotsOnMachines(m, dir, deps);
    const having = created.filter((x) => found.get(x)?.includes(snapshot));
    const recorded = (m.snapshots ?? []).some((s) => s.name === snapshot);
    if (having.length === 0 && !recorded) {
      const known = (m.snapshots ?? []).map((s) => s.name);
      throw new NotFoundError(`lab ${name} has no snapshot ${snapshot}`, { hint: known.length > 0 ? `its snapshots: ${known.join(', ')}` : 'it has no snapshots' });
    }
    if (having.length > 0) {
      ctx.io.err(`Deleting snapshot ${snapshot} of ${having.join(', ')}…\n`);
      try {
        await deleteFrom(dir, having, m.machines.map((x) => x.name), snapshot, deps, ctx, ctx.signal);
      } catch (e) {
        throw withHint(e, 'run the delete again: it removes what is left');
      }
    }
    await deps.store.write({ ...m, snapshots: (m.snapshots ?? []).filter((s) => s.name !== snapshot), updatedAt: (deps.now ?? (() => new Date()))().toISOString() });
    ctx.io.err(`Snapshot ${snapshot} of lab ${name} deleted.\n`);
  });
}
