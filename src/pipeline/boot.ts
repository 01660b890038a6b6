/**
 * Boot orchestration: which `vagrant up` processes to run, in what order, how many at once.
 *
 * VirtualBox (and Parallels) cannot boot machines in parallel inside one Vagrant process, and
 * two processes importing the same box at once collide. So the first machine starts alone (it
 * imports the box and creates the lab network), and the rest start as separate
 * `vagrant up MACHINE` processes, at most `parallel` at a time, as soon as that shared work is
 * done — when the first machine's VM starts booting, not when it has finished. libvirt boots in
 * parallel inside one process, so the rest go to a single `vagrant up --parallel`.
 */
import type { Provider } from '../lab/types.js';

export interface BootStep {
  machines: string[];
  parallel: boolean;
}

export interface BootPlan {
  /** Run first, alone. */
  first: BootStep | undefined;
  /** Run after `first`, at most `concurrency` at a time. */
  rest: BootStep[];
  concurrency: number;
}

/**
 * The line of Vagrant's output after which a machine's shared work is done: the box is imported
 * (VirtualBox's linked-clone master, libvirt's base volume) and the lab's networks exist, because
 * Vagrant does both before it starts the VM.
 */
export const SHARED_WORK_DONE: Record<Provider, RegExp> = {
  virtualbox: /^==> [^:]+: Booting VM\.\.\./,
  parallels: /^==> [^:]+: Booting VM\.\.\./,
  libvirt: /^==> [^:]+: Starting domain\./,
};

export function planBoot(machines: string[], provider: Provider, parallel: number, alreadyCreated: ReadonlySet<string> = new Set()): BootPlan {
  if (machines.length === 0) return { first: undefined, rest: [], concurrency: 1 };
  const concurrency = Math.max(1, Math.floor(parallel));
  // A box is imported (and the lab network created) by the first machine created; when one already
  // exists, nothing has to go first.
  const needsFirst = alreadyCreated.size === 0;
  const tail = needsFirst ? machines.slice(1) : machines;
  const first = needsFirst ? { machines: [machines[0]!], parallel: false } : undefined;
  if (tail.length === 0) return { first, rest: [], concurrency };
  if (provider === 'libvirt') return { first, rest: [{ machines: tail, parallel: true }], concurrency: 1 };
  return { first, rest: tail.map((m) => ({ machines: [m], parallel: false })), concurrency };
}

/** Runs `worker` over `items`, at most `limit` at once; rejects with the first failure after all started work settles. */
export async function runBounded<T>(items: T[], limit: number, worker: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failure && !signal?.aborted) {
      const item = items[next++]!;
      try {
        await worker(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw failure.error;
  if (signal?.aborted) throw signal.reason;
}

/**
 * Runs a boot plan: `first` alone until `sharedWorkDone` (or until it finishes), then the rest,
 * at most `plan.concurrency` at a time, while `first` goes on. A first step that fails before its
 * shared work is done starts nothing else. Rejects with the first failure once all started steps
 * have settled.
 */
export async function runBootPlan(
  plan: BootPlan,
  runStep: (step: BootStep) => Promise<void>,
  sharedWorkDone: Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const first = plan.first ? runStep(plan.first) : Promise.resolve();
  first.catch(() => undefined);
  await Promise.race([sharedWorkDone, first]);
  const results = await Promise.allSettled([first, runBounded(plan.rest, plan.concurrency, runStep, signal)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
