/** `cclab up`: create or resume a lab, boot it, check it, say what to do next. */
import type { Context } from '../context.js';
import { PreflightError, UnhealthyError, UsageError } from '../errors.js';
import type { CheckGroup } from '../health/types.js';
import type { Lab } from '../lab/types.js';
import { overlaps, parseCidr } from '../lab/net.js';
import { ARCHITECTURES } from '../lab/types.js';
import { memoProbes } from '../pipeline/preflight.js';
import { formatTimings, UpTimeline } from '../pipeline/timings.js';
import type { UpDeps, UpRequest, UpResult, UpTarget } from '../pipeline/up.js';
import { version } from '../version.js';
import type { BoxAddOptions, BoxAddResult } from '../box/add.js';
import { boxAddCommand, flatcarBoxName } from '../box/names.js';
import { providerRecord } from '../providers/index.js';
import { startPreflightQueries } from '../vagrant/head-start.js';
import type { Probes } from '../pipeline/preflight.js';
import type { LabInputOptions } from './lab-input.js';

/** How to boot: the pipeline's own settings, passed through unchanged. */
type BootSettings = Pick<UpRequest, 'recreate' | 'parallel' | 'wait' | 'timeoutMs' | 'verbose'>;

export interface UpOptions extends LabInputOptions, BootSettings {
  /** An architecture, or the name of an existing lab to resume. */
  target?: string | undefined;
  /** Whether any lab option flag was given (resuming by name takes none). */
  labOptionsGiven: boolean;
  /** Print the result as one JSON document. */
  json: boolean;
  /** Print where the time went (Vagrant's phases per machine, services healthy, cclab's share) on stderr. */
  timings?: boolean;
  /** Add Flatcar's box when a lab needs it and it is missing (`cclab box add`); --no-download refuses instead. */
  download?: boolean;
}

/** What `up` runs to add a missing Flatcar box (the real `cclab box add` unless a test injects one). */
export type AddBox = (opts: BoxAddOptions, ctx: Context) => Promise<BoxAddResult>;

export async function run(opts: UpOptions, ctx: Context, injected?: Partial<UpDeps> & { addBox?: AddBox }): Promise<UpResult> {
  const timeline = injected?.timeline ?? UpTimeline.sinceProcessStart();
  // Vagrant's two preflight questions start first (the real probes below adopt them), before the
  // driver and everything else `up` needs are loaded; the timeline counts them from now.
  if (injected?.probes === undefined) void startPreflightQueries(ctx.env).then(timeline.vagrantCall());
  // The driver next, then the lab model, rendering and progress modules, while Vagrant answers.
  const { healthFor, hostDetection, labDeps, probesFor } = await import('./deps.js');
  const made = labDeps(ctx);
  const base = { ...made, vagrant: timeline.timed(made.vagrant) };
  const hostProbes = injected?.probes ?? probesFor(base, ctx);
  let probes = memoProbes(hostProbes);
  probes.vagrantVersion().catch(() => undefined);
  probes.boxes().catch(() => undefined);
  const [{ prepareLab }, { upLab }] = await Promise.all([import('./lab-input.js'), import('../pipeline/up.js')]);
  const detect = hostDetection(probes);

  const isArchitecture = opts.target !== undefined && (ARCHITECTURES as readonly string[]).includes(opts.target);
  if (isArchitecture || opts.config) {
    // A new lab on Flatcar's own libvirt image needs the box `cclab box add` makes: add it first,
    // outside every lock (a download takes minutes), as Vagrant adds a missing box from box_url.
    const { lab } = await prepareLab({ ...opts, architecture: opts.config ? undefined : opts.target, detect }, ctx);
    if (await addMissingFlatcarBox(lab, probes, opts.download !== false, injected?.addBox, ctx)) probes = memoProbes(hostProbes);
  }
  const deps: UpDeps = {
    store: injected?.store ?? base.store,
    vagrant: injected?.vagrant ? timeline.timed(injected.vagrant) : base.vagrant,
    probes,
    timeline,
    ...(injected?.libvirtHost && { libvirtHost: injected.libvirtHost }),
    health: injected?.health ?? healthFor({ store: injected?.store ?? base.store, vagrant: injected?.vagrant ?? base.vagrant }, ctx.env),
    version: injected?.version ?? version(),
    ...(injected?.now ? { now: injected.now } : {}),
  };

  const common = { recreate: opts.recreate, parallel: opts.parallel, wait: opts.wait, timeoutMs: opts.timeoutMs, verbose: opts.verbose };
  let result: UpResult;
  try {
    if (opts.target !== undefined && !isArchitecture && !opts.config) {
      // `cclab up NAME`: resume an existing lab exactly as it was made (upLab checks it exists).
      result = await upLab({ ...common, target: { kind: 'resume', name: opts.target, optionsGiven: opts.labOptionsGiven } }, deps, ctx);
    } else {
      // The subnet is chosen, and checked against every other lab, under a lock that covers all
      // labs; upLab releases it once this lab's manifest (which claims the subnet) is written.
      const releasePlacement = (await deps.store.lockPlacement?.()) ?? undefined;
      let target: UpTarget;
      try {
        const labs = await deps.store.list();
        const { lab, warnings, notes } = await prepareLab({ ...opts, architecture: opts.config ? undefined : opts.target, detect }, ctx, (name) => ({
          taken: labs.filter((l) => l.name !== name).map((l) => l.lab.subnet.cidr),
          subnet: labs.find((l) => l.name === name)?.lab.subnet.cidr,
        }));
        for (const n of notes) ctx.io.err(`${n}\n`);
        // Before anything is written: a format the provider cannot boot is refused up front.
        const { provisioningFor } = await import('../render/provision.js');
        provisioningFor(lab, 'vagrant');
        const clash = labs.find((l) => l.name !== lab.name && subnetsOverlap(l.lab.subnet.cidr, lab.subnet.cidr));
        if (clash) {
          throw new PreflightError([
            {
              check: 'subnet free of other labs',
              message: `${lab.subnet.cidr} overlaps ${clash.lab.subnet.cidr} of lab ${clash.name}: their machines would share addresses`,
              fix: `choose another --subnet, or leave it out and cclab picks a free one (\`cclab ls\` shows every lab's subnet)`,
            },
          ]);
        }
        // A lab named like an architecture (`cclab up dev --workers 3` makes lab dev): `cclab up dev`
        // without lab options resumes it as it was made, as the resume hints promise.
        const resumeIfExists = isArchitecture && !opts.config && !opts.labOptionsGiven && !opts.recreate && lab.name === opts.target;
        target = { kind: 'create', lab, warnings, resumeIfExists, placed: releasePlacement };
      } catch (e) {
        await releasePlacement?.();
        throw e;
      }
      result = await upLab({ ...common, target }, deps, ctx);
    }
  } catch (e) {
    // Where a failed up spent its time is worth as much as a good one's (a boot that hung).
    if (opts.timings) ctx.io.err(formatTimings(timeline.result()));
    throw e;
  }
  printSummary(result, opts.json, ctx);
  if (opts.timings) ctx.io.err(formatTimings(result.timings));
  if (result.health && !result.health.healthy) {
    throw new UnhealthyError(`lab ${result.manifest.name} is up but not healthy`, { hint: unhealthyHint(result.manifest.lab, result.manifest.name, result.health.failedGroups) });
  }
  return result;
}

/**
 * Adds Flatcar's box for a lab that uses Flatcar's own image on a provider whose box cclab makes
 * (libvirt), when it is not installed. Resolves true when a box was added. With downloads refused
 * (--no-download) the missing box is left to preflight, whose failure names the command.
 */
async function addMissingFlatcarBox(lab: Lab, probes: Probes, download: boolean, addBox: AddBox | undefined, ctx: Context): Promise<boolean> {
  const record = providerRecord(lab.provider);
  if (record.addFlatcarBox === undefined || lab.os !== 'flatcar' || lab.box.name !== flatcarBoxName(lab.channel) || lab.box.url !== undefined) return false;
  const boxes = await probes.boxes().catch(() => undefined);
  if (boxes === undefined || boxes.some((b) => b.name === lab.box.name && b.provider === lab.provider)) return false;
  if (!download) return false;
  ctx.io.err(`The box ${lab.box.name} (${lab.provider}) is not installed: adding Flatcar’s ${lab.channel} image, as \`${boxAddCommand(lab.channel)}\` does (--no-download refuses)…\n`);
  const add = addBox ?? (await import('./box.js')).addWithRealTools;
  // A pinned release is added as such; a constraint (`>= 4230.0.0`) takes the current release.
  const release = lab.box.version !== undefined && /^\d+\.\d+\.\d+$/.test(lab.box.version) ? lab.box.version : undefined;
  const result = await add({ os: 'flatcar', channel: lab.channel, provider: 'libvirt', version: release, force: false }, ctx);
  ctx.io.err(`Box ${result.name} ${result.version} ${result.action === 'unchanged' ? 'was already there' : 'added'}.\n`);
  return true;
}

/**
 * Where to look when `up` ends unhealthy: the journal of the service that failed, on a machine
 * that runs it (a laptop has no etcd: its Docker is what can fail).
 */
export function unhealthyHint(lab: Lab, name: string, failed: readonly CheckGroup[] | undefined): string {
  const member = lab.machines.find((m) => m.etcd === 'member');
  const proxy = lab.machines.find((m) => m.etcd === 'proxy');
  const fleet = lab.machines.find((m) => m.fleet);
  const docker = lab.machines.find((m) => m.dockerTcp);
  const where: Record<CheckGroup, [string, string] | undefined> = {
    etcd: member && [member.name, 'etcd'],
    'etcd-proxy': proxy && [proxy.name, 'etcd'],
    fleet: fleet && [fleet.name, 'fleet'],
    docker: docker && [docker.name, 'docker'],
  };
  const groups: CheckGroup[] = failed && failed.length > 0 ? [...failed] : ['etcd', 'fleet', 'docker'];
  const logs = [...new Set(groups.flatMap((g) => (where[g] ? [`\`cclab logs ${name} ${where[g]![0]} ${where[g]![1]}\``] : [])))];
  const closer = logs.length > 0 ? `look closer with ${logs.slice(0, 2).join(' or ')}, ` : '';
  return `see the failed checks above; ${closer}or check again later with \`cclab check ${name}\``;
}

function printSummary({ manifest, health, timings }: UpResult, json: boolean, ctx: Context): void {
  if (json) {
    ctx.io.out(
      JSON.stringify({ lab: manifest.name, state: manifest.state, architecture: manifest.architecture, machines: manifest.machines, docker: manifest.docker ?? null, health: health?.json ?? null, timings }, null, 2) + '\n',
    );
    return;
  }
  const lab = manifest.lab;
  const out: string[] = [];
  out.push(`Lab ${manifest.name} is up: ${lab.architecture}, ${lab.machines.length} machine${lab.machines.length === 1 ? '' : 's'}, ${lab.os} ${lab.channel} on ${lab.provider}`);
  const width = Math.max(...manifest.machines.map((m) => m.name.length));
  for (const m of manifest.machines) out.push(`  ${m.name.padEnd(width)}  ${m.role.padEnd(8)}  ${m.ip.padEnd(15)}  ${m.state ?? ''}`);
  if (manifest.docker) out.push(`  Docker API: ${manifest.docker.endpoint} (${manifest.docker.machine})`);
  if (health) out.push('', health.text.trimEnd());
  out.push('', 'Next:');
  if (manifest.docker) out.push(`  eval $(cclab docker-env ${manifest.name})   # point docker at the lab`);
  out.push(`  cclab ssh ${manifest.name} ${lab.machines[0]!.name}`, `  cclab status ${manifest.name}`, `  cclab down ${manifest.name}`);
  ctx.io.out(out.join('\n') + '\n');
}

function subnetsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return typeof x !== 'string' && typeof y !== 'string' && overlaps(x, y);
}
