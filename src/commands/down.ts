/** `cclab down` and `cclab halt`. */
import type { Context } from '../context.js';
import { PreflightError, UsageError } from '../errors.js';
import type { DockerCli } from '../docker/context.js';
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
  for (const name of names) {
    await downLab(name, { keepFiles: opts.keepFiles }, deps, ctx);
    await forgetDockerContext(name, ctx, deps.dockerCli);
  }
}

/**
 * Best effort: the lab's docker context (`cclab docker-context`) goes with its machines, when the
 * docker CLI is there to remove it. Nothing fails `down` here; a failure is a warning.
 */
async function forgetDockerContext(name: string, ctx: Context, cli: DockerCli | undefined): Promise<void> {
  try {
    const { execaDockerCli, removeContext, contextName } = await import('../docker/context.js');
    if (await removeContext(cli ?? execaDockerCli(ctx.env), name)) ctx.io.err(`Removed the docker context ${contextName(name)}.\n`);
  } catch (e) {
    if (e instanceof PreflightError) return; // no docker CLI: no context to remove
    ctx.io.err(`warning: could not remove the docker context cclab-${name}: ${(e as Error).message}\n`);
  }
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
