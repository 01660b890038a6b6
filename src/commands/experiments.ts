/** `cclab kill` and `cclab snapshot`: the guide's experiments (src/pipeline/experiments.ts). */
import type { Context } from '../context.js';
import { UnhealthyError, UsageError } from '../errors.js';
import { defaultLab } from '../pipeline/lifecycle.js';
import { deleteSnapshot, killMachines, listSnapshots, restoreSnapshot, saveSnapshot, type SnapshotDeps } from '../pipeline/experiments.js';
import { formatTable } from './status.js';
import { healthFor, labDeps } from './deps.js';

export async function kill(opts: { name: string; machines: string[] }, ctx: Context, deps: SnapshotDeps = labDeps(ctx)): Promise<void> {
  await killMachines(opts.name, opts.machines, deps, ctx);
}

export const SNAPSHOT_ACTIONS = ['save', 'restore', 'list', 'delete'] as const;
export type SnapshotAction = (typeof SNAPSHOT_ACTIONS)[number];

export async function snapshot(
  opts: { name?: string | undefined; action: SnapshotAction; snapshot?: string | undefined; json: boolean; timeoutMs: number },
  ctx: Context,
  given?: SnapshotDeps,
): Promise<void> {
  const deps: SnapshotDeps = given ?? (() => {
    const d = labDeps(ctx);
    const check = healthFor(d, ctx.env);
    return { ...d, health: check };
  })();
  const name = opts.name ?? (await defaultLab(deps.store, 'snapshot')).name;
  if (opts.action === 'list') {
    if (opts.snapshot !== undefined) throw new UsageError('snapshot list takes no snapshot name');
    const rows = await listSnapshots(name, deps);
    if (opts.json) {
      ctx.io.out(JSON.stringify({ lab: name, snapshots: rows }, null, 2) + '\n');
      return;
    }
    if (rows.length === 0) {
      ctx.io.err(`Lab ${name} has no snapshots; take one with \`cclab snapshot ${name} save SNAPSHOT\`.\n`);
      return;
    }
    ctx.io.out(
      formatTable([
        ['SNAPSHOT', 'TAKEN', 'MACHINES'],
        ...rows.map((r) => [r.name, r.createdAt ?? '(not by cclab)', r.missing.length === 0 ? `all ${r.machines.length}` : `${r.machines.join(', ') || 'none'} (missing on ${r.missing.join(', ')})`]),
      ]),
    );
    return;
  }
  if (opts.snapshot === undefined) throw new UsageError(`name the snapshot: cclab snapshot ${name} ${opts.action} SNAPSHOT`);
  if (opts.action === 'save') {
    const taken = await saveSnapshot(name, opts.snapshot, deps, ctx);
    if (opts.json) ctx.io.out(JSON.stringify({ lab: name, snapshot: taken }, null, 2) + '\n');
    return;
  }
  if (opts.action === 'delete') {
    await deleteSnapshot(name, opts.snapshot, deps, ctx);
    if (opts.json) ctx.io.out(JSON.stringify({ lab: name, deleted: opts.snapshot }, null, 2) + '\n');
    return;
  }
  const health = await restoreSnapshot(name, opts.snapshot, { timeoutMs: opts.timeoutMs }, deps, ctx);
  if (opts.json) ctx.io.out(JSON.stringify({ lab: name, restored: opts.snapshot, health: health?.json ?? null }, null, 2) + '\n');
  else if (health) ctx.io.out(health.text);
  if (health && !health.healthy) {
    throw new UnhealthyError(`lab ${name} is back at snapshot ${opts.snapshot} but not healthy`, { hint: `\`cclab check ${name}\` checks again; \`cclab status ${name}\` shows the machines` });
  }
}
