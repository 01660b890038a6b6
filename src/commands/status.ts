/** `cclab status` and `cclab ls`. */
import type { Context } from '../context.js';
import type { Manifest } from '../home/manifest.js';
import { lockHeld } from '../home/lock.js';
import { defaultLab, requireLab, shownState, summariseState, type LifecycleDeps } from '../pipeline/lifecycle.js';
import type { MachineStatus } from '../vagrant/driver.js';
import type { LabHealth } from '../health/types.js';
import { labDeps, sshOpener } from './deps.js';
import { dockerCertPath } from '../home/paths.js';
import { join } from 'node:path';
import { provisioningFor } from '../render/provision.js';
import { LAB_KEY_PATH } from '../render/layout.js';

export async function ls(opts: { json: boolean }, ctx: Context, deps: LifecycleDeps = labDeps(ctx)): Promise<void> {
  const entries = await deps.store.entries();
  const rows = entries.map((e) => {
    const l = e.manifest;
    if (!l) {
      return { name: e.name, architecture: null, machines: null, state: 'broken', os: null, provider: null, subnet: null, docker: null, snapshots: null, error: e.error ? { message: e.error.message, hint: e.error.hint ?? null } : null };
    }
    return {
      name: l.name,
      architecture: l.architecture,
      machines: l.machines.length,
      state: shownState(l, e.locked),
      os: l.os,
      provider: l.provider,
      subnet: l.lab.subnet.cidr,
      docker: l.docker?.endpoint ?? null,
      snapshots: (l.snapshots ?? []).map((x) => x.name),
    };
  });
  if (opts.json) {
    ctx.io.out(JSON.stringify({ labs: rows }, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) {
    ctx.io.err('No labs. Create one with `cclab up laptop` (or small, dev, production).\n');
    return;
  }
  const table = [
    ['NAME', 'ARCHITECTURE', 'MACHINES', 'STATE', 'OS', 'PROVIDER', 'SUBNET', 'DOCKER'],
    ...rows.map((r) => [r.name, r.architecture ?? '-', r.machines === null ? '-' : String(r.machines), r.state, r.os ?? '-', r.provider ?? '-', r.subnet ?? '-', r.docker ?? '-']),
  ];
  ctx.io.out(formatTable(table));
  for (const e of entries) {
    if (!e.error) continue;
    ctx.io.err(`\nlab ${e.name} is broken: ${e.error.message}\n`);
    ctx.io.err(`  hint: ${e.error.hint ? `${e.error.hint}; ` : ''}\`cclab down ${e.name}\` destroys its machines and removes it\n`);
  }
}

export async function status(
  opts: { name?: string | undefined; json: boolean; health: boolean; timeoutMs: number },
  ctx: Context,
  deps: LifecycleDeps = labDeps(ctx),
): Promise<void> {
  const m: Manifest = opts.name ? await requireLab(deps.store, opts.name) : await defaultLab(deps.store, 'status');
  const states = await deps.vagrant.status(deps.store.dir(m.name)).catch((e: Error): MachineStatus[] => {
    ctx.io.err(`warning: vagrant status failed: ${e.message.split('\n')[0]}\n`);
    return [];
  });
  const machines = m.lab.machines.map((x) => ({
    name: x.name,
    role: x.role,
    ip: x.ip,
    etcd: x.etcd,
    state: states.find((s) => s.name === x.name)?.state ?? 'unknown',
    killedAt: m.machines.find((y) => y.name === x.name)?.killedAt ?? null,
  }));
  // A machine `cclab kill` powered off that is running again was started outside cclab: no longer killed.
  for (const x of machines) if (x.state === 'running') x.killedAt = null;
  const off = Object.fromEntries(machines.filter((x) => x.killedAt !== null).map((x) => [x.name, x.killedAt!]));
  const state = states.length > 0 ? summariseState(machines.map((x) => x.state)) : shownState(m, await lockHeld(deps.store.dir(m.name)));
  let health: LabHealth | undefined;
  if (opts.health && machines.some((x) => x.state === 'running')) {
    const { labHealth, withLabRemote } = await import('../health/lab.js');
    health = await withLabRemote(
      m.lab,
      sshOpener(deps, ctx.env, Object.keys(off)),
      (remote) => labHealth(m.lab, { dockerEndpoint: m.docker?.endpoint, dockerCertDir: m.docker?.tls ? dockerCertPath(deps.store.dir(m.name)) : undefined, timeoutMs: opts.timeoutMs, signal: ctx.signal, poweredOff: off }, { remote }),
      { optional: true },
    );
  }
  // Ignition labs log in with their own key; cloud-config labs with the insecure key their box is built for.
  const provisioning = provisioningFor(m.lab, 'vagrant');
  const sshKey = provisioning === 'ignition' ? join(deps.store.dir(m.name), LAB_KEY_PATH) : null;
  if (opts.json) {
    ctx.io.out(
      JSON.stringify(
        { name: m.name, architecture: m.architecture, state, os: m.os, provider: m.provider, box: m.box, provisioning, sshKey, subnet: m.lab.subnet.cidr, docker: m.docker ?? null, machines, snapshots: m.snapshots ?? [], lastError: m.lastError ?? null, health: health?.json ?? null },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const out = [
    `Lab ${m.name}: ${m.architecture}, ${state} (${m.os} ${m.lab.channel}, ${m.provider}, box ${m.box}, subnet ${m.lab.subnet.cidr})`,
    sshKey !== null
      ? `Provisioned with Ignition (QEMU fw_cfg); SSH as core with the lab’s own key ${sshKey}`
      : 'Provisioned with cloud-config; SSH with Vagrant’s insecure key, which the box is built for',
    '',
  ];
  out.push(formatTable([['MACHINE', 'ROLE', 'ADDRESS', 'ETCD', 'STATE'], ...machines.map((x) => [x.name, x.role, x.ip, x.etcd, x.killedAt ? `${x.state} (killed at ${x.killedAt})` : x.state])]).trimEnd());
  if (Object.keys(off).length > 0) out.push('', `Powered off by \`cclab kill\`: ${Object.keys(off).join(', ')}; \`cclab up ${m.name}\` brings ${Object.keys(off).length === 1 ? 'it' : 'them'} back`);
  if (m.snapshots && m.snapshots.length > 0) out.push('', `Snapshots: ${m.snapshots.map((x) => `${x.name} (${x.createdAt})`).join(', ')}`);
  if (m.docker) out.push('', `Docker API: ${m.docker.endpoint} (eval $(cclab docker-env ${m.name}))`);
  if (m.lastError) out.push('', `Last error (${m.lastError.at}): ${m.lastError.message.split('\n')[0]}`);
  if (health) out.push('', health.text.trimEnd());
  else if (opts.health) out.push('', 'Health: not checked (no machine is running)');
  ctx.io.out(out.join('\n') + '\n');
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
