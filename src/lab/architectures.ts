/**
 * The four architectures of the CoreOS "cluster architectures" guide as data: how many machines of
 * each kind, what each kind runs, and why the limits are what they are (the guide's reasoning,
 * quoted back to the user when a value is out of range).
 */
import type { Architecture, EtcdRole, Role } from './types.js';

export interface CountRule {
  min: number;
  max: number;
  default: number;
  /** Said when a value is refused. */
  why: string;
}

export interface MachineKind {
  /** Machine name prefix: `${prefix}-01`. */
  prefix: string;
  role: Role;
  etcd: EtcdRole;
  etcdListen: 'all' | 'loopback' | 'none';
  fleet: boolean;
  /** fleet metadata role, where the guide gives one. */
  fleetRole: string | undefined;
  /** Which update group option applies (production). */
  updateGroup: 'services' | 'workers' | undefined;
  locksmith: boolean;
}

export interface ArchitectureRules {
  summary: string;
  /** The machines that carry etcd membership (count option: --members / --services). */
  members: (CountRule & { kind: MachineKind; option: 'members' | 'services' }) | undefined;
  /** Machines that use the members (count option: --workers). */
  workers: (CountRule & { kind: MachineKind }) | undefined;
  /** A fixed single machine (laptop). */
  single: MachineKind | undefined;
  /** Docker TCP on every machine regardless of options. */
  dockerAlways: boolean;
  /** Production renders coreos.update / locksmith sections. */
  updates: boolean;
}

const none = { updateGroup: undefined, locksmith: false } as const;

export const ARCHITECTURE_RULES: Record<Architecture, ArchitectureRules> = {
  laptop: {
    summary: 'one Container Linux VM whose Docker API is reachable from the host on tcp://127.0.0.1:2375',
    members: undefined,
    workers: undefined,
    single: { prefix: 'core', role: 'docker', etcd: 'none', etcdListen: 'none', fleet: false, fleetRole: undefined, ...none },
    dockerAlways: true,
    updates: false,
  },
  small: {
    summary: '3–9 machines, every one an etcd member running fleet',
    members: {
      option: 'members',
      min: 3,
      max: 9,
      default: 3,
      why:
        'the guide sizes a small cluster at 3–9 machines with etcd on all of them: 3 is the fewest members ' +
        'that survive a failure, and past 9 every etcd write waits on too many members; for more machines use ' +
        'the production architecture (3–5 etcd members plus any number of workers)',
      kind: { prefix: 'core', role: 'member', etcd: 'member', etcdListen: 'all', fleet: true, fleetRole: undefined, ...none },
    },
    workers: undefined,
    single: undefined,
    dockerAlways: false,
    updates: false,
  },
  dev: {
    summary: 'one etcd server and any number of workers reaching it through a local etcd proxy',
    members: {
      option: 'members',
      min: 1,
      max: 1,
      default: 1,
      why:
        'the dev/test architecture runs exactly one etcd server (no discovery, no quorum to bootstrap); ' +
        'for several etcd members use the small or production architecture',
      kind: { prefix: 'etcd', role: 'etcd', etcd: 'member', etcdListen: 'all', fleet: true, fleetRole: 'etcd', ...none },
    },
    workers: {
      min: 1,
      max: 150,
      default: 2,
      why: 'the dev/test architecture needs at least one worker; the upper bound is what one /24 lab subnet holds from .101',
      kind: { prefix: 'worker', role: 'worker', etcd: 'proxy', etcdListen: 'loopback', fleet: true, fleetRole: 'worker', ...none },
    },
    single: undefined,
    dockerAlways: false,
    updates: false,
  },
  production: {
    summary: '3–5 central-services machines (etcd members) and any number of workers using local etcd proxies',
    members: {
      option: 'services',
      min: 3,
      max: 5,
      default: 3,
      why:
        'the guide sets aside 3–5 central-services machines: at least 3 so etcd keeps quorum through a failure, ' +
        'at most 5 because every extra member slows each write; add capacity as workers instead',
      kind: {
        prefix: 'services',
        role: 'services',
        etcd: 'member',
        etcdListen: 'all',
        fleet: true,
        fleetRole: 'services',
        updateGroup: 'services',
        locksmith: false,
      },
    },
    workers: {
      min: 1,
      max: 65000,
      default: 2,
      why: 'the production architecture has at least one worker; a large worker count needs a --subnet large enough to hold it',
      kind: {
        prefix: 'worker',
        role: 'worker',
        etcd: 'proxy',
        etcdListen: 'all',
        fleet: true,
        fleetRole: 'worker',
        updateGroup: 'workers',
        locksmith: true,
      },
    },
    single: undefined,
    dockerAlways: false,
    updates: true,
  },
};

/** `core-01`, `worker-12`, `worker-100`: two digits at least, so names sort in `vagrant status`. */
export function machineName(prefix: string, index: number): string {
  return `${prefix}-${String(index + 1).padStart(2, '0')}`;
}

/** The names of a lab's machines, in the order they are built (single, members, workers). */
export function machineNames(architecture: Architecture, counts: { members: number; workers: number }): string[] {
  const rules = ARCHITECTURE_RULES[architecture];
  const names: string[] = [];
  if (rules.single) names.push(machineName(rules.single.prefix, 0));
  if (rules.members) for (let i = 0; i < counts.members; i++) names.push(machineName(rules.members.kind.prefix, i));
  if (rules.workers) for (let i = 0; i < counts.workers; i++) names.push(machineName(rules.workers.kind.prefix, i));
  return names;
}
