/** `cclab check NAME`: the lab's health checks, with direct SSH for loopback-only proxies. */
import type { Context } from '../context.js';
import { defaultLab, requireLab, type LifecycleDeps } from '../pipeline/lifecycle.js';
import { checkLab } from './check.js';
import { withLabRemote } from '../health/lab.js';
import { labDeps, sshOpener } from './deps.js';
import { dockerCertPath } from '../home/paths.js';
import { poweredOff } from '../pipeline/experiments.js';

export async function checkNamedLab(opts: { name?: string | undefined; json: boolean; timeoutMs: number }, ctx: Context, deps: LifecycleDeps = labDeps(ctx)): Promise<void> {
  const m = opts.name ? await requireLab(deps.store, opts.name) : await defaultLab(deps.store, 'check');
  const off = poweredOff(m);
  await withLabRemote(m.lab, sshOpener(deps, ctx.env, Object.keys(off)), (remote) =>
    checkLab(m.lab, { timeoutMs: opts.timeoutMs, dockerEndpoint: m.docker?.endpoint, dockerCertDir: m.docker?.tls ? dockerCertPath(deps.store.dir(m.name)) : undefined, remote, json: opts.json, poweredOff: off }, ctx),
  );
}
