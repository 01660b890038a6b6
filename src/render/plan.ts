/** A resolved lab → the files that make it (pure: a local fleetd's contents come through readFleetd). */
import { gzipSync } from 'node:zlib';
import { UsageError } from '../errors.js';
import type { Lab, Machine, Provisioning } from '../lab/types.js';
import { buildCloudConfig, serializeCloudConfig } from './cloudconfig.js';
import { buildIgnition, serializeIgnition, type IgnitionExtras } from './ignition.js';
import type { DockerTlsMaterial } from './docker-tls.js';
import { ignitionPath, userDataPath } from './layout.js';
import { matchboxGroup, matchboxProfile, MATCHBOX_DIRS } from './matchbox.js';
import { provisioningFor, type DockerServerTls, type Target } from './provision.js';
import { renderVagrantfile } from './vagrantfile.js';

export type { Target } from './provision.js';

export interface PlannedFile {
  /** Relative to the output directory. */
  path: string;
  kind: 'vagrantfile' | 'user-data' | 'ignition' | 'matchbox-profile' | 'matchbox-group';
  machine?: string;
  content: string;
}

export interface RenderPlan {
  target: Target;
  provisioning: Provisioning;
  files: PlannedFile[];
}

export interface PlanOptions {
  target: Target;
  version: string;
  /** matchbox's HTTP endpoint (--matchbox-url), for --target matchbox. */
  matchboxUrl?: string | undefined;
  /**
   * Reads the lab's local fleetd (fleet.localFile): Ignition carries it, gzipped, so it is called
   * only when a machine's Ignition needs it (never for Vagrant or cloud-config, which upload or
   * download it).
   */
  readFleetd?: ((path: string) => Uint8Array) | undefined;
  /**
   * The public half of the lab's own SSH key (`ssh/id_ed25519.pub` beside the files), given to user
   * core by every Ignition config: needed whenever the lab is provisioned with Ignition.
   */
  labPublicKey?: string | undefined;
  /** The lab's Docker TLS material (`docker-certs/` beside the files): needed when the lab's Docker has TLS. */
  dockerTls?: DockerTlsMaterial | undefined;
}

/**
 * What planLab refuses before it writes anything (a combination that cannot boot, matchbox without
 * its URL or the machines' MACs): callers with side effects to do first (the lab's key) ask here.
 */
export function checkPlan(lab: Lab, opts: Pick<PlanOptions, 'target' | 'matchboxUrl'>): Provisioning {
  const provisioning = provisioningFor(lab, opts.target);
  if (opts.target === 'matchbox') {
    if (opts.matchboxUrl === undefined) {
      throw new UsageError('--target matchbox needs --matchbox-url: the address machines reach matchbox’s HTTP endpoint at', {
        hint: 'e.g. --matchbox-url http://matchbox.example:8080',
      });
    }
    const missing = lab.machines.filter((m) => !m.macGiven).map((m) => m.name);
    if (missing.length > 0) {
      throw new UsageError(`matchbox selects machines by MAC address, and ${missing.length === 1 ? 'this machine has' : 'these machines have'} none: ${missing.join(', ')}`, {
        hint: 'give each machine’s MAC with --macs FILE ("machine MAC" lines) or the lab file’s macs:',
      });
    }
  }
  return provisioning;
}

export function planLab(lab: Lab, opts: PlanOptions): RenderPlan {
  const provisioning = checkPlan(lab, opts);
  const files: PlannedFile[] = [];
  if (opts.target === 'vagrant') {
    files.push({ path: 'Vagrantfile', kind: 'vagrantfile', content: renderVagrantfile(lab, { version: opts.version, ignition: provisioning === 'ignition' }) });
  }
  const extras: IgnitionExtras = {};
  if (provisioning === 'ignition') {
    if (opts.labPublicKey === undefined) throw new TypeError('planLab: the lab’s own public key is needed for Ignition');
    extras.labPublicKey = opts.labPublicKey;
    if (lab.fleet.localFile !== undefined && lab.machines.some((m) => m.fleet)) {
      if (opts.readFleetd === undefined) throw new TypeError(`planLab: the contents of ${lab.fleet.localFile} are needed for Ignition`);
      extras.fleetdGzip = gzipSync(opts.readFleetd(lab.fleet.localFile), { level: 9 });
    }
  }
  for (const m of lab.machines) files.push(...machineFiles(lab, m, provisioning, opts, extras));
  return { target: opts.target, provisioning, files };
}

/** The machines whose Docker API is served with TLS (each gets its own server certificate). */
export function dockerTlsMachines(lab: Lab): { machine: string; ip: string }[] {
  return lab.docker.tls ? lab.machines.filter((m) => m.dockerTcp).map((m) => ({ machine: m.name, ip: m.ip })) : [];
}

function machineFiles(lab: Lab, m: Machine, provisioning: Provisioning, opts: PlanOptions, extras: IgnitionExtras): PlannedFile[] {
  let tls: DockerServerTls | undefined;
  if (m.dockerTcp && lab.docker.tls) {
    const server = opts.dockerTls?.servers[m.name];
    if (opts.dockerTls === undefined || server === undefined) throw new TypeError(`planLab: the Docker TLS certificate of ${m.name} is needed`);
    tls = { ca: opts.dockerTls.ca, server };
  }
  if (provisioning === 'cloud-config') {
    return [{ path: userDataPath(m.name), kind: 'user-data', machine: m.name, content: serializeCloudConfig(buildCloudConfig(lab, m, opts.target, tls)) }];
  }
  const ignition: PlannedFile = { path: ignitionPath(m.name), kind: 'ignition', machine: m.name, content: serializeIgnition(buildIgnition(lab, m, opts.target, extras, tls)) };
  if (opts.target !== 'matchbox') return [ignition];
  return [
    { path: `${MATCHBOX_DIRS.profiles}/${m.name}.json`, kind: 'matchbox-profile', machine: m.name, content: json(matchboxProfile(lab, m, opts.matchboxUrl!)) },
    { path: `${MATCHBOX_DIRS.groups}/${m.name}.json`, kind: 'matchbox-group', machine: m.name, content: json(matchboxGroup(lab, m)) },
    ignition,
  ];
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';
