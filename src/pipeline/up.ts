/**
 * `cclab up`, top to bottom: lock → existing lab? (one read: resume / refuse / recreate) → preflight →
 * write the lab (manifest first) → boot → read the Docker port back → health → summary.
 * Every side effect goes through the injected deps; failures leave a manifest that says what
 * happened and how to go on.
 */
import { orderly, type Context } from '../context.js';
import { InterruptedError, PreflightError, UsageError, CommandError } from '../errors.js';
import type { Manifest } from '../home/manifest.js';
import { IGNITION_DIR, USER_DATA_DIR } from '../render/layout.js';
import { dockerCertPath } from '../home/paths.js';
import type { LabKeyMaker } from '../home/lab-key.js';
import { labSecrets } from '../home/lab-secrets.js';
import type { DockerCertsMaker } from '../home/docker-certs.js';
import { provisioningFor } from '../render/provision.js';
import { readFileSync } from 'node:fs';
import type { HealthReport, LabHealth } from '../health/types.js';
import { ARCHITECTURE_RULES } from '../lab/architectures.js';
import { LAB_OPTIONS, type LabOption } from '../lab/options.js';
import { ARCHITECTURES, type Lab } from '../lab/types.js';
import { planLab } from '../render/plan.js';
import type { VagrantDriver } from '../vagrant/driver.js';
import { providerRecord } from '../providers/index.js';
import { planBoot, runBootPlan } from './boot.js';
import { UpTimeline, type UpTimings } from './timings.js';
import type { LibvirtHostFiles } from './libvirt-host.js';
import { remoteIgnitionDir, remoteLibvirtOf } from '../providers/libvirt-uri.js';
import { machineOfLine } from '../vagrant/parse.js';
import type { PreflightCheck } from '../providers/types.js';
import { runPreflight, type Probes } from './preflight.js';
import { liveProgress, taskList } from './progress.js';
import { printable } from '../terminal/printable.js';
import type { LabStore } from './store.js';

/** What `up` checks on this lab, in words: "etcd, fleet and Docker", "Docker". */
export function checkedServices(lab: Lab): string {
  const names = [
    ...(lab.etcd.members.length > 0 ? ['etcd'] : []),
    ...(lab.machines.some((m) => m.fleet) ? ['fleet'] : []),
    ...(lab.machines.some((m) => m.dockerTcp) ? ['Docker'] : []),
  ];
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

export interface UpDeps {
  store: LabStore;
  vagrant: VagrantDriver;
  probes: Probes;
  /** Runs the lab's health checks (etcd, proxies, fleet, Docker) until healthy or the deadline. */
  health: (
    lab: Lab,
    opts: { dockerEndpoint: string | undefined; dockerCertDir: string | undefined; timeoutMs: number; signal: AbortSignal; onProgress?: (report: HealthReport) => void },
  ) => Promise<LabHealth>;
  version: string;
  now?: () => Date;
  /** Makes or finds the lab's own SSH key pair (Ignition labs); default: ssh-keygen in the lab directory. */
  labKey?: LabKeyMaker;
  /** Makes or finds the lab's Docker TLS certificates; default: made in the lab directory's docker-certs/. */
  dockerCerts?: DockerCertsMaker;
  /** Records where the time goes (the CLI's starts with the process); default: one from upLab's start. */
  timeline?: UpTimeline;
  /** A remote libvirt host's files (the Ignition configs QEMU opens there); default: over ssh. */
  libvirtHost?: LibvirtHostFiles;
}

/**
 * Which lab `cclab up` works on. Whether it exists, and so whether it is resumed, is decided by
 * upLab under the lab's lock, from one read of its manifest.
 */
export type UpTarget =
  /** `cclab up NAME`: the existing lab NAME exactly as it was made; lab options are refused. */
  | { kind: 'resume'; name: string; optionsGiven: boolean }
  /**
   * A lab built from options. `resumeIfExists`: `cclab up dev` without options resumes an existing
   * lab of that name as it was made instead. `placed` releases the lock under which the lab's
   * subnet was chosen (see LabStore.lockPlacement): called once the manifest that claims the
   * subnet is written, or when up ends before that.
   */
  | { kind: 'create'; lab: Lab; warnings: string[]; resumeIfExists: boolean; placed?: (() => Promise<void>) | undefined };

export interface UpRequest {
  target: UpTarget;
  recreate: boolean;
  parallel: number;
  wait: boolean;
  timeoutMs: number;
  verbose: boolean;
}

export interface UpResult {
  manifest: Manifest;
  health: LabHealth | undefined;
  /** Where the time went: Vagrant's phases per machine, each service's first healthy moment, cclab's own share. */
  timings: UpTimings;
}

/**
 * Differences between two labs, as `option: old → new` lines named as the user gives them
 * (`--workers: 2 → 3`, `--subnet: …`; `spec.libvirt.cpuMode` for a lab-file field without a flag).
 * A difference no option explains (a lab built by another cclab version) is listed by its field in
 * the lab model instead, so a change is never hidden.
 */
export function labDifferences(saved: Lab, wanted: Lab): string[] {
  const a = optionValues(saved);
  const b = optionValues(wanted);
  const byOption = diff(a, b);
  if (byOption.length > 0) return byOption;
  const view = (lab: Lab) => ({ ...lab, machines: lab.machines.map((m) => `${m.name}@${m.ip}`).join(',') });
  return diff(flatten(view(saved)), flatten(view(wanted)));
}

function diff(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => a[k] !== b[k]).map((k) => `${k}: ${a[k] ?? '(none)'} → ${b[k] ?? '(none)'}`);
}

/** The name a lab option goes by: its flag, or its lab-file field when it has no flag. */
function optionLabel(key: string): string {
  const o = (LAB_OPTIONS as readonly LabOption[]).find((x) => x.key === key);
  return o?.flag ? `--${o.flag.name}` : `spec.${key}`;
}

/** A lab's value of each option (by option label, JSON text), read back from the lab model. */
function optionValues(lab: Lab): Record<string, string> {
  const rules = ARCHITECTURE_RULES[lab.architecture];
  const count = (role: string | undefined) => lab.machines.filter((m) => m.role === role).length;
  const groupOf = (role: string | undefined) => lab.machines.find((m) => m.role === role)?.updateGroup;
  const keyShown = (k: string) => k.trim().split(/\s+/).slice(2).join(' ') || `${k.slice(0, 24)}…`;
  const values: Record<string, unknown> = {
    architecture: lab.architecture,
    os: lab.os,
    channel: lab.channel,
    provider: lab.provider,
    provisioning: lab.provisioning,
    ...(rules.members && { [rules.members.option]: count(rules.members.kind.role) }),
    ...(rules.workers && { workers: count(rules.workers.kind.role) }),
    subnet: lab.subnet.cidr,
    gateway: lab.subnet.gateway,
    dns: lab.dns.join(','),
    metadata: Object.entries(lab.userMetadata).map(([k, v]) => `${k}=${v}`).join(',') || undefined,
    'box.name': lab.box.name,
    'box.version': lab.box.version,
    'box.url': lab.box.url,
    'update.group': lab.update.group,
    ...(rules.members?.kind.updateGroup && { 'update.servicesGroup': groupOf(rules.members.kind.role) }),
    ...(rules.workers?.kind.updateGroup && { 'update.workersGroup': groupOf(rules.workers.kind.role) }),
    'update.server': lab.update.server,
    'update.rebootStrategy': lab.update.rebootStrategy,
    discovery: lab.etcd.discovery,
    'etcd.version': lab.etcd.imageTag,
    macs: lab.machines.filter((m) => m.macGiven).map((m) => `${m.name}=${m.mac}`).join(',') || undefined,
    'fleet.url': lab.fleet.url,
    'fleet.sha256': lab.fleet.sha256,
    'fleet.localFile': lab.fleet.localFile,
    sshKeys: lab.sshAuthorizedKeys.length > 0 ? lab.sshAuthorizedKeys.map(keyShown).join(', ') : undefined,
    'libvirt.driver': lab.libvirt.driver,
    'libvirt.cpuMode': lab.libvirt.cpuMode,
    'libvirt.cpuModel': lab.libvirt.cpuModel,
    'libvirt.managementNetwork': lab.libvirt.managementNetwork,
    'libvirt.uri': lab.libvirt.uri,
    memory: lab.memory,
    cpus: lab.cpus,
    dockerTcp: lab.machines.some((m) => m.dockerTcp),
    'docker.tls': lab.machines.some((m) => m.dockerTcp) ? lab.docker.tls : undefined,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key === 'architecture' ? 'architecture' : optionLabel(key)] = JSON.stringify(value);
  return out;
}

function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) out[prefix] = JSON.stringify(value);
  return out;
}

export function dockerMachine(lab: Lab) {
  return lab.machines.find((m) => m.dockerTcp);
}

export async function upLab(req: UpRequest, deps: UpDeps, ctx: Context): Promise<UpResult> {
  const now = deps.now ?? (() => new Date());
  const timeline = deps.timeline ?? UpTimeline.sinceProcessStart();
  const target = req.target;
  const name = target.kind === 'resume' ? target.name : target.lab.name;
  let placed = target.kind === 'create' ? target.placed : undefined;
  const releasePlacement = async () => {
    const p = placed;
    placed = undefined;
    await p?.();
  };
  let release: () => Promise<void>;
  try {
    release = await deps.store.lock(name, 'cclab up');
  } catch (e) {
    await releasePlacement();
    throw e;
  }
  // From here on a signal is handled in order: Vagrant is stopped and the manifest says where
  // the lab stands before the command ends.
  return orderly(ctx, async () => {
    try {
      let manifest = await deps.store.read(name);
      const resume = target.kind === 'resume' || (target.resumeIfExists && manifest !== undefined);
      if (target.kind === 'resume') {
        if (!manifest) {
          throw new UsageError(`"${name}" is neither an architecture (${ARCHITECTURES.join(', ')}) nor an existing lab`, {
            hint: 'create a lab with `cclab up dev` (or laptop, small, production); `cclab ls` lists existing labs',
          });
        }
        if (target.optionsGiven) {
          throw new UsageError(`\`cclab up ${name}\` resumes the lab as it was made and takes no lab options`, {
            hint: `to change it: cclab up ${manifest.architecture} --name ${name} [options] --recreate`,
          });
        }
      }
      // A resumed lab keeps its subnet: nothing to place.
      if (resume) await releasePlacement();
      let lab = target.kind === 'create' && !resume ? target.lab : manifest!.lab;
      if (manifest && target.kind === 'create' && !resume) {
        const diff = labDifferences(manifest.lab, target.lab);
        if (diff.length > 0 && !req.recreate) {
          throw new UsageError(`lab ${name} exists with different options:\n${diff.map((d) => `  ${d}`).join('\n')}`, {
            hint: `resume it as it is with \`cclab up ${name}\`, replace it with \`--recreate\`, or choose another --name`,
          });
        }
        if (diff.length > 0 && req.recreate) {
          ctx.io.err(`Recreating lab ${name}: destroying its machines first…\n`);
          manifest = { ...manifest, state: 'destroying', updatedAt: now().toISOString() };
          await deps.store.write(manifest);
          await deps.vagrant.destroy(deps.store.dir(name), undefined, { signal: ctx.signal });
          manifest = undefined;
        }
      }
      if (manifest) lab = manifest.lab;
      if (target.kind === 'create' && !resume) for (const w of target.warnings) ctx.io.err(`warning: ${w}\n`);

      const dir = deps.store.dir(name);
      // Which machines exist already (resume): those need no box import, port or network checks.
      const states = manifest ? await deps.vagrant.status(dir).catch(() => []) : [];
      const created = new Set(states.filter((s) => s.state !== 'not_created').map((s) => s.name));
      const running = new Set(states.filter((s) => s.state === 'running').map((s) => s.name));

      // Preflight, before any live rendering starts.
      const checks = await runPreflight(lab, deps.probes, { existing: created.size > 0, labDir: dir });
      printPreflight(checks, ctx);
      const failed = checks.filter((c) => !c.ok);
      if (failed.length > 0) throw new PreflightError(failed.map((c) => ({ check: c.check, message: c.message, fix: c.fix ?? '' })));

      // The manifest exists before the first VM does, so a lab is never lost track of.
      const createdAt = manifest?.createdAt ?? now().toISOString();
      const saved = manifest;
      const current: Manifest = {
        schemaVersion: 1,
        name,
        architecture: lab.architecture,
        os: lab.os,
        provider: lab.provider,
        box: lab.box.name,
        cclabVersion: deps.version,
        createdAt,
        updatedAt: now().toISOString(),
        state: 'booting',
        lab,
        machines: lab.machines.map((m) => ({ name: m.name, role: m.role, ip: m.ip, state: running.has(m.name) ? 'running' : created.has(m.name) ? 'created' : 'not_created' })),
        docker: saved?.docker,
      };
      manifest = current;
      await deps.store.write(current);
      await releasePlacement();
      // The lab's SSH key (Ignition) and Docker certificates (TLS): made once, kept with the lab.
      const { labPublicKey, dockerTls } = await labSecrets(lab, dir, provisioningFor(lab, 'vagrant'), { labKey: deps.labKey, dockerCerts: deps.dockerCerts });
      const files = planLab(lab, { target: 'vagrant', version: deps.version, labPublicKey, dockerTls, readFleetd: (path) => readFileSync(path) }).files;
      for (const f of files) await deps.store.writeFile(name, f.path, f.content);
      // A lab recreated with fewer machines must not keep the old machines' configs.
      for (const d of [USER_DATA_DIR, IGNITION_DIR]) {
        for (const stale of await deps.store.prune(name, d, files.map((f) => f.path))) ctx.io.err(`Removed ${stale} (no such machine now).\n`);
      }
      // On another libvirt host, QEMU opens each machine's Ignition file there: copy them first.
      const remote = remoteLibvirtOf(lab);
      const ignitionFiles = files.filter((f) => f.path.startsWith(`${IGNITION_DIR}/`));
      if (remote && ignitionFiles.length > 0) {
        ctx.io.err(`Copying ${ignitionFiles.length} Ignition config${ignitionFiles.length === 1 ? '' : 's'} to ${remote.host}:${remoteIgnitionDir(name)}…\n`);
        const host = deps.libvirtHost ?? (await import('./libvirt-host.js')).sshLibvirtHost({ env: ctx.env });
        await host.put(remote, name, ignitionFiles.map((f) => ({ name: f.path.slice(IGNITION_DIR.length + 1), content: f.content })), ctx.signal);
      }

      const toBoot = lab.machines.map((m) => m.name).filter((m) => !running.has(m));
      try {
        if (toBoot.length > 0) await boot(lab, toBoot, created, req, deps, ctx, timeline);
        else ctx.io.err(lab.machines.length === 1 ? `The machine of ${name} is already running.\n` : `All ${lab.machines.length} machines of ${name} are already running.\n`);
      } catch (e) {
        // Best effort: the failure itself is what the user needs to hear about, even when the
        // manifest cannot be written (a full disk); the lab then shows as partial anyway.
        await markFailed({ ...current, lastUp: timeline.result() }, e, deps, now).catch((w: unknown) => ctx.io.err(`warning: could not record the failure in the manifest: ${(w as Error).message}\n`));
        throw withResumeHint(e, name);
      }

      // The Docker port Vagrant really forwarded (auto_correct may have moved it).
      const dm = dockerMachine(lab);
      if (dm) {
        const ports = await deps.vagrant.port(dir, dm.name).catch(() => undefined);
        const host = ports?.find((p) => p.guest === lab.docker.guestPort)?.host ?? dm.dockerHostPort!;
        current.docker = { machine: dm.name, guestPort: lab.docker.guestPort, hostPort: host, endpoint: `tcp://127.0.0.1:${host}`, ...(lab.docker.tls && { tls: true }) };
      }
      // Every machine was running or has just come up without error: no need to ask Vagrant again
      // (one more Ruby start, a second or more).
      current.machines = current.machines.map((m) => ({ ...m, state: 'running' }));
      current.state = 'running';
      delete current.lastError;
      current.updatedAt = now().toISOString();
      await deps.store.write(current);

      let health: LabHealth | undefined;
      if (req.wait) {
        ctx.io.err(`Checking ${checkedServices(lab)} (up to ${Math.round(req.timeoutMs / 1000)} s)…\n`);
        timeline.healthStarted();
        health = await deps.health(lab, {
          dockerEndpoint: current.docker?.endpoint,
          dockerCertDir: current.docker?.tls ? dockerCertPath(dir) : undefined,
          timeoutMs: req.timeoutMs,
          signal: ctx.signal,
          onProgress: (report) => timeline.judged(report),
        });
        timeline.healthEnded(health.healthy);
      }
      // Where this up spent its time stays with the lab (`lastUp` in lab.json).
      const timings = timeline.result();
      current.lastUp = timings;
      await deps.store.write(current);
      return { manifest: current, health, timings };
    } finally {
      await releasePlacement();
      await release();
    }
  });
}

async function boot(lab: Lab, toBoot: string[], created: Set<string>, req: UpRequest, deps: UpDeps, ctx: Context, timeline: UpTimeline): Promise<void> {
  const dir = deps.store.dir(lab.name);
  const plan = planBoot(toBoot, lab.provider, req.parallel, created);
  const names = lab.machines.map((m) => m.name);
  // One progress task per machine, fed by the lines of whichever process boots it.
  const outputs = new Map<string, (line: string) => void>();
  const done = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void }>();
  for (const m of toBoot) {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    done.set(m, { promise, resolve, reject });
  }
  // The rest may start once the first machine has done the shared work (box import, networks).
  let releaseRest!: () => void;
  const sharedWorkDone = new Promise<void>((resolve) => (releaseRest = resolve));
  const onLine = (line: string) => {
    const m = machineOfLine(line, names);
    if (!m) return;
    if (m === plan.first?.machines[0] && providerRecord(lab.provider).sharedWorkDone.test(line)) releaseRest();
    const text = line.replace(/^(?:==> |\s+)[^:]+: /, '').trim();
    if (line.startsWith('==> ')) timeline.line(m, text);
    // Without --verbose, only Vagrant's step lines (`==> m: …`) are shown.
    if (req.verbose || line.startsWith('==> ')) outputs.get(m)?.(text);
  };
  const runStep = async (step: { machines: string[]; parallel: boolean }) => {
    const ended = timeline.booting(step.machines);
    try {
      await deps.vagrant.up(dir, { machines: step.machines, provider: lab.provider, parallel: step.parallel, signal: ctx.signal, onLine });
      ended(true);
      for (const m of step.machines) done.get(m)!.resolve();
    } catch (e) {
      ended(false);
      const err = e instanceof CommandError && step.machines.length === 1 && !e.machine
        ? new CommandError(e.message, { command: e.command, exitStatus: e.exitStatus, output: e.outputTail, machine: step.machines[0] }, { hint: e.hint })
        : e;
      for (const m of step.machines) done.get(m)!.reject(err);
      throw err;
    }
  };
  const orchestration = runBootPlan(plan, runStep, sharedWorkDone, ctx.signal);
  orchestration.catch(() => undefined);

  const live = liveProgress(ctx, { verbose: req.verbose });
  const list = taskList<object>(
    ctx,
    toBoot.map((m) => ({
      title: `${m} (${lab.machines.find((x) => x.name === m)!.ip})`,
      task: async (_c, task) => {
        // The live renderer shows each task's line under it; plain output needs the machine's name.
        outputs.set(m, (line) => {
          // Live output goes to the terminal without passing through ctx.io: made printable here.
          task.output = live ? printable(line) : `${m}: ${line}`;
        });
        await done.get(m)!.promise;
        task.title = `${m} (${lab.machines.find((x) => x.name === m)!.ip}) is up`;
      },
    })),
    { verbose: req.verbose, concurrent: true },
  );
  ctx.io.err(`Booting ${toBoot.length} machine${toBoot.length === 1 ? '' : 's'} of ${lab.name} with ${lab.provider}…\n`);
  await Promise.all([orchestration, list.run().catch(() => undefined)]);
}

async function markFailed(manifest: Manifest, e: unknown, deps: UpDeps, now: () => Date): Promise<Manifest> {
  const states = await deps.vagrant.status(deps.store.dir(manifest.name)).catch(() => []);
  const m: Manifest = {
    ...manifest,
    state: 'partial',
    updatedAt: now().toISOString(),
    machines: manifest.machines.map((x) => ({ ...x, state: states.find((s) => s.name === x.name)?.state ?? x.state })),
    lastError: {
      message: e instanceof Error ? e.message : String(e),
      command: e instanceof CommandError ? e.command : undefined,
      machine: e instanceof CommandError ? e.machine : undefined,
      at: now().toISOString(),
    },
  };
  await deps.store.write(m);
  return m;
}

function withResumeHint(e: unknown, name: string): unknown {
  const next = `the lab is kept (state: partial): resume with \`cclab up ${name}\`, or remove it with \`cclab down ${name}\``;
  if (e instanceof InterruptedError) return new InterruptedError(`interrupted while booting lab ${name}`, { hint: next });
  if (e instanceof CommandError) {
    return new CommandError(
      `${e.machine ? `machine ${e.machine} of lab ${name}` : `lab ${name}`} failed to come up`,
      { command: e.command, exitStatus: e.exitStatus, output: e.outputTail, machine: e.machine },
      { hint: e.hint ? `${e.hint}; ${next}` : next },
    );
  }
  return e;
}

export function printPreflight(checks: PreflightCheck[], ctx: Context): void {
  // Failures are listed by the PreflightError that follows; here only notes and the tally.
  for (const c of checks) if (c.ok && c.note) ctx.io.err(`! ${c.check}: ${c.message}\n`);
  if (checks.every((c) => c.ok)) ctx.io.err(`✓ preflight: ${checks.length} checks passed\n`);
}
