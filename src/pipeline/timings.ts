/**
 * Where a `cclab up` spends its time, from the lines Vagrant prints and the moments cclab itself
 * sees (a `vagrant` process starting and ending, a machine up, each service first healthy). Pure:
 * the clock is passed in. Times are milliseconds since the cclab process started.
 *
 * Phases of a machine, each from the first line that opens it (Vagrant 2.3.4 and vagrant-libvirt
 * 0.11 wording) to the line that opens the next, or to the end of its `vagrant up`:
 *   box        importing the box (the first machine of a box only)
 *   create     the VM or domain made from it (clone, disk image, networks, forwarded ports)
 *   boot       from power-on until SSH answers
 *   configure  Vagrant's guest configuration over SSH (hostname, network interfaces)
 *   provision  the provisioners: user-data delivered and applied
 * Before its first line a machine waits (for the first machine's shared work, or a free slot).
 */
import type { CheckGroup, HealthReport } from '../health/types.js';

export const PHASES = ['box', 'create', 'boot', 'configure', 'provision'] as const;
export type Phase = (typeof PHASES)[number];

const PHASE_LINES: [RegExp, Phase][] = [
  [/^(Importing base box|Uploading base box image as volume|Preparing master VM)/, 'box'],
  [/^(Creating image \(snapshot of base box volume\)|Creating domain with the following settings|Cloning VM|Creating shared folders metadata)/, 'create'],
  [/^(Starting domain\.|Booting VM\.\.\.|Resuming domain|Resuming suspended VM)/, 'boot'],
  [/^(Machine booted and ready!|Setting hostname\.\.\.|Configuring and enabling network interfaces)/, 'configure'],
  [/^Running provisioner: /, 'provision'],
];

/** The phase a line of Vagrant's output (its machine prefix removed) opens, if any. */
export function phaseOfLine(text: string): Phase | undefined {
  return PHASE_LINES.find(([re]) => re.test(text))?.[1];
}

export interface PhaseSpan {
  phase: Phase;
  startMs: number;
  endMs: number;
}

export interface MachineTimings {
  name: string;
  /** When the `vagrant up` that booted it started. */
  startedMs: number;
  /** When that process ended without error (null: it failed or was interrupted). */
  upMs: number | null;
  phases: PhaseSpan[];
}

export interface ServiceTiming {
  group: CheckGroup;
  /** First time the service's checks all passed (null: not before the verdict). */
  healthyMs: number | null;
}

export interface UpTimings {
  /** The process's start as an ISO time; every other figure is ms after it. */
  startedAt: string;
  totalMs: number;
  machines: MachineTimings[];
  /** Time with neither a `vagrant` process nor the health check running: cclab's own. */
  cclabMs: number;
  /** Time some `vagrant` process was running. */
  vagrantMs: number;
  health?: { startedMs: number; verdictMs: number; healthy: boolean; services: ServiceTiming[] };
}

interface Span {
  start: number;
  end: number | undefined;
}

/** Records a `cclab up` as it happens; `result()` gives the timings. */
export class UpTimeline {
  private readonly machines = new Map<string, { started: number; up: number | null; marks: { phase: Phase; at: number }[]; ended: number | undefined }>();
  private readonly processes: Span[] = [];
  private health: { start: number; end: number | undefined; healthy: boolean; firstHealthy: Map<CheckGroup, number>; groups: CheckGroup[] } | undefined;

  constructor(
    private readonly clock: () => number,
    private readonly origin: Date,
  ) {}

  /** A timeline on the process's own clock: cclab's start-up is part of what a user waits for. */
  static sinceProcessStart(): UpTimeline {
    return new UpTimeline(() => performance.now(), new Date(performance.timeOrigin));
  }

  /** A `vagrant up` of `machines` starts; call the returned function when it ends (`ok`: without error). */
  booting(machines: string[]): (ok: boolean) => void {
    const endCall = this.vagrantCall();
    const started = this.clock();
    for (const m of machines) this.machines.set(m, { started, up: null, marks: [], ended: undefined });
    return (ok) => {
      endCall();
      const ended = this.clock();
      for (const m of machines) {
        const x = this.machines.get(m)!;
        x.ended = ended;
        if (ok) x.up = ended;
      }
    };
  }

  /** Some `vagrant` process starts; call the returned function when it has ended. */
  vagrantCall(): () => void {
    const span: Span = { start: this.clock(), end: undefined };
    this.processes.push(span);
    return () => void (span.end ??= this.clock());
  }

  /** `driver` with the time of each of its calls counted as Vagrant's. */
  timed<T extends object>(driver: T): T {
    return new Proxy(driver, {
      get: (target, key, receiver) => {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const end = this.vagrantCall();
          try {
            const r: unknown = value.apply(target, args);
            if (r instanceof Promise) return r.finally(end);
            end();
            return r;
          } catch (e) {
            end();
            throw e;
          }
        };
      },
    });
  }

  /** A line of Vagrant's output about `machine` (its prefix removed). */
  line(machine: string, text: string): void {
    const phase = phaseOfLine(text);
    const x = this.machines.get(machine);
    if (!phase || !x) return;
    if (x.marks.at(-1)?.phase !== phase) x.marks.push({ phase, at: this.clock() });
  }

  /** The health check starts; feed it every judgement with `judged`. */
  healthStarted(): void {
    this.health = { start: this.clock(), end: undefined, healthy: false, firstHealthy: new Map(), groups: [] };
  }

  /** A judgement of the running health check: each service whose checks all pass is healthy from now. */
  judged(report: HealthReport): void {
    const h = this.health;
    if (!h) return;
    const at = this.clock();
    for (const c of report.checks) if (!c.skipped && !h.groups.includes(c.group)) h.groups.push(c.group);
    for (const g of h.groups) {
      if (h.firstHealthy.has(g)) continue;
      const checks = report.checks.filter((c) => c.group === g);
      if (checks.length > 0 && checks.every((c) => c.ok)) h.firstHealthy.set(g, at);
    }
  }

  healthEnded(healthy: boolean): void {
    if (!this.health) return;
    this.health.end = this.clock();
    this.health.healthy = healthy;
  }

  result(): UpTimings {
    const now = this.clock();
    const machines: MachineTimings[] = [...this.machines].map(([name, x]) => {
      const end = x.ended ?? now;
      const phases = x.marks.map((mark, i) => ({ phase: mark.phase, startMs: round(mark.at), endMs: round(x.marks[i + 1]?.at ?? end) }));
      return { name, startedMs: round(x.started), upMs: x.up === null ? null : round(x.up), phases };
    });
    const calls = this.processes.map((p): [number, number] => [p.start, p.end ?? now]);
    const h = this.health;
    const vagrant = union(calls);
    const busy = h ? union([...calls, [h.start, h.end ?? now]]) : vagrant;
    return {
      startedAt: this.origin.toISOString(),
      totalMs: round(now),
      machines,
      cclabMs: round(now - busy),
      vagrantMs: round(vagrant),
      ...(h && {
        health: {
          startedMs: round(h.start),
          verdictMs: round(h.end ?? now),
          healthy: h.healthy,
          services: h.groups.map((group) => ({ group, healthyMs: h.firstHealthy.has(group) ? round(h.firstHealthy.get(group)!) : null })),
        },
      }),
    };
  }
}

/** Total length of the union of intervals. */
function union(spans: [number, number][]): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [s, e] of sorted) {
    if (!cur || s > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    } else cur[1] = Math.max(cur[1], e);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

const round = (ms: number) => Math.round(ms);

const PHASE_TITLES: Record<Phase, string> = {
  box: 'box import',
  create: 'create VM',
  boot: 'boot to SSH',
  configure: 'guest configuration',
  provision: 'provisioning',
};

const SERVICE_TITLES: Record<CheckGroup, string> = { etcd: 'etcd', 'etcd-proxy': 'etcd proxies', fleet: 'fleet', docker: 'Docker API' };

const s = (ms: number) => (ms / 1000).toFixed(1);

/**
 * How well the machines booted together: from the first machine's start until the last is up,
 * against the first machine's own start-to-up (the others start once it is booting). Undefined
 * for one machine, or when one did not come up.
 */
export function bootedTogether(machines: MachineTimings[]): { allMs: number; firstMs: number; ratio: number } | undefined {
  const first = machines[0];
  if (machines.length < 2 || first?.upMs == null || machines.some((m) => m.upMs === null)) return undefined;
  const firstMs = first.upMs - first.startedMs;
  const allMs = Math.max(...machines.map((m) => m.upMs!)) - Math.min(...machines.map((m) => m.startedMs));
  return firstMs > 0 ? { allMs, firstMs, ratio: allMs / firstMs } : undefined;
}

/** The timings as a table for people (seconds): a column per machine, then the services. */
export function formatTimings(t: UpTimings): string {
  const lines: string[] = [`Timings of cclab up (seconds; "at" is since cclab started, ${t.startedAt}):`];
  if (t.machines.length > 0) {
    const rows: string[][] = [['', ...t.machines.map((m) => m.name)]];
    rows.push(['waiting to start', ...t.machines.map((m) => s(m.startedMs - (t.machines[0]?.startedMs ?? 0)))]);
    for (const phase of PHASES) {
      if (!t.machines.some((m) => m.phases.some((p) => p.phase === phase))) continue;
      rows.push([PHASE_TITLES[phase], ...t.machines.map((m) => {
        const spans = m.phases.filter((p) => p.phase === phase);
        return spans.length === 0 ? '—' : s(spans.reduce((a, p) => a + p.endMs - p.startMs, 0));
      })]);
    }
    rows.push(['up at', ...t.machines.map((m) => (m.upMs === null ? 'failed' : s(m.upMs)))]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) lines.push('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
    const together = bootedTogether(t.machines);
    if (together) {
      lines.push(`  ${t.machines.length} machines up ${s(together.allMs)} after the first started: ${together.ratio.toFixed(2)}× the first machine's own ${s(together.firstMs)} (1.00× would be all at once)`);
    }
  }
  const h = t.health;
  if (h) {
    const lastUp = Math.max(0, ...t.machines.map((m) => m.upMs ?? 0));
    lines.push(`  health check from ${s(h.startedMs)}: ${h.services.map((x) => `${SERVICE_TITLES[x.group]} ${x.healthyMs === null ? 'not healthy' : `healthy at ${s(x.healthyMs)}`}`).join(', ')}; verdict (${h.healthy ? 'healthy' : 'not healthy'}) at ${s(h.verdictMs)}${lastUp > 0 ? `, ${s(h.verdictMs - lastUp)} after the last machine was up` : ''}`);
  }
  lines.push(`  total ${s(t.totalMs)}: Vagrant ${s(t.vagrantMs)}, ${h ? `health check ${s(h.verdictMs - h.startedMs)}, ` : ''}cclab alone ${s(t.cclabMs)}`);
  return lines.join('\n') + '\n';
}
