/** `cclab ssh`, `cclab ssh-config`, `cclab logs`. */
import type { Context } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { Manifest } from '../home/manifest.js';
import type { OsName } from '../lab/types.js';
import { defaultLab, requireLab, type LifecycleDeps } from '../pipeline/lifecycle.js';
import { formatSshConfig } from '../vagrant/ssh.js';
import { labDeps } from './deps.js';

/** The machine asked for (NotFoundError naming the lab's machines when it has none such), else the first. */
export function machineOf(m: Manifest, machine: string | undefined): string {
  const name = machine ?? m.lab.machines[0]!.name;
  if (!m.lab.machines.some((x) => x.name === name)) {
    throw new NotFoundError(`lab ${m.name} has no machine ${name}`, { hint: `its machines: ${m.lab.machines.map((x) => x.name).join(', ')}` });
  }
  return name;
}

/** Resolves with the remote command's exit status (the CLI exits with it). */
export async function ssh(
  opts: { name?: string | undefined; machine?: string | undefined; command: string[] },
  ctx: Context,
  deps: LifecycleDeps = labDeps(ctx),
): Promise<number> {
  const m = opts.name ? await requireLab(deps.store, opts.name) : await defaultLab(deps.store, 'ssh');
  const machine = machineOf(m, opts.machine);
  return deps.vagrant.ssh(deps.store.dir(m.name), machine, opts.command.length > 0 ? opts.command : undefined);
}

export async function sshConfig(opts: { name?: string | undefined }, ctx: Context, deps: LifecycleDeps = labDeps(ctx)): Promise<void> {
  const m = opts.name ? await requireLab(deps.store, opts.name) : await defaultLab(deps.store, 'ssh-config');
  const hosts = await deps.vagrant.sshConfig(deps.store.dir(m.name));
  ctx.io.out(formatSshConfig(hosts, m.name));
}

/** Short unit names people type, per OS. */
export function unitFor(os: OsName, unit: string): string[] {
  const table: Record<string, Record<OsName, string[]>> = {
    etcd: { flatcar: ['etcd-member.service'], coreos: ['etcd2.service'] },
    fleet: { flatcar: ['fleet.service', 'fleet-install.service'], coreos: ['fleet.service'] },
    docker: { flatcar: ['docker.service', 'docker-tcp.socket', 'enable-docker-tcp.service'], coreos: ['docker.service', 'docker-tcp.socket', 'enable-docker-tcp.service'] },
    'cloud-init': { flatcar: ['user-cloudinit@*', 'coreos-cloudinit*'], coreos: ['user-cloudinit@*', 'coreos-cloudinit*'] },
  };
  const known = table[unit]?.[os];
  if (known) return known;
  if (!/^[A-Za-z0-9@._*:\\-]+$/.test(unit)) throw new UsageError(`"${unit}" is not a unit name`, { hint: `use etcd, fleet, docker, cloud-init or a systemd unit name` });
  return [unit];
}

export async function logs(
  opts: { name: string; machine: string; unit?: string | undefined; lines: number; follow: boolean },
  ctx: Context,
  deps: LifecycleDeps = labDeps(ctx),
): Promise<number> {
  const m = await requireLab(deps.store, opts.name);
  const machine = machineOf(m, opts.machine);
  const argv = ['journalctl', '--no-pager', '-n', String(opts.lines)];
  if (opts.follow) argv.push('-f');
  if (opts.unit) for (const u of unitFor(m.os, opts.unit)) argv.push('-u', u);
  else argv.push('-b');
  return deps.vagrant.ssh(deps.store.dir(m.name), machine, ['sudo', ...argv]);
}
