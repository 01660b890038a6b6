/**
 * The process groups of the Vagrant processes cclab is running (each `vagrant` runs in a group of
 * its own, see ./run.ts). When cclab has to exit before they finish (a second Ctrl-C, a signal
 * to a command that does not wait for its children), src/cli.ts ends them through this registry so
 * no Vagrant is left running with nobody to read its output. Only node built-ins.
 */

const groups = new Set<number>();

export function registerChild(pid: number | undefined): () => void {
  if (pid === undefined) return () => undefined;
  groups.add(pid);
  return () => void groups.delete(pid);
}

/** Signals every registered process group; returns how many there were. */
export function signalChildren(signal: NodeJS.Signals): number {
  let n = 0;
  for (const pid of groups) {
    try {
      process.kill(-pid, signal);
      n += 1;
    } catch {
      groups.delete(pid);
    }
  }
  return n;
}

export function runningChildren(): number {
  return groups.size;
}
