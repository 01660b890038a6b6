/** `cclab down` and `cclab halt`. */
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { defaultLab, downLab, haltLab, type LifecycleDeps } from '../pipeline/lifecycle.js';
import { labDeps } from './deps.js';

export async function down(opts: { name?: string | undefined; all: boolean; keepFiles: boolean }, ctx: Context, deps: LifecycleDeps = labDeps(ctx)): Promise<void> {
  if (opts.all && opts.name) throw new UsageError('give a lab name or --all, not both');
  // Broken labs (an unreadable lab.json) are labs too: `down --all` and `down` take them down.
  const names = opts.all ? (await deps.store.entries()).map((l) => l.name) : [opts.name ?? (await onlyLab(deps))];
  if (names.length === 0) {
    ctx.io.err('No labs to take down.\n');
    return;
  }
  for (const name of names) await downLab(name, { keepFiles: opts.keepFiles }, deps, ctx);
}

async function onlyLab(deps: LifecycleDeps): Promise<string> {
  const entries = await deps.store.entries();
  if (entries.length === 1) return entries[0]!.name;
  return (await defaultLab(deps.store, 'down')).name;
}

export async function halt(opts: { name?: string | undefined }, ctx: Context, deps: LifecycleDeps = labDeps(ctx)): Promise<void> {
  const name = opts.name ?? (await defaultLab(deps.store, 'halt')).name;
  await haltLab(name, deps, ctx);
}
