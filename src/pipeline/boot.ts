/**
 * Boot orchestration: which `vagrant up` processes to run, in what order, how many at once.
 *
 * The first machine starts alone (it imports the box and creates the lab network), and the rest
 * start as soon as that shared work is done — when the first machine's VM starts booting, not when
 * it has finished (the provider's record says which line of output that is). Providers that
 * cannot boot in parallel inside one Vagrant process (VirtualBox, Parallels) get one
 * `vagrant up MACHINE` process per machine, at most `parallel` at a time; the others (libvirt) get
 * a single `vagrant up --parallel`.
 */
import type { Provider } from '../lab/types.js';
import { providerRecord } from '../providers/index.js';

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

export function planBoot(machines: string[], provider: Provider, parallel: number, alreadyCreated: ReadonlySet<string> = new Set()): BootPlan {
  if (machines.length === 0) return { first: undefined, rest: [], concurrency: 1 };
  const concurrency = Math.max(1, Math.floor(parallel));
  // A box is imported (and the lab network created) by the first machine created; when one already
  // exists, nothing has to go first.
  const needsFirst = alreadyCreated.size === 0;
  const tail = needsFirst ? machines.slice(1) : machines;
  const first = needsFirst ? { machines: [machines[0]!], parallel: false } : undefined;
  if (tail.length === 0) return { first, rest: [], concurrency };
  if (providerRecord(provider).parallelInOneProcess) return { first, rest: [{ machines: tail, parallel: true }], concurrency: 1 };
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
