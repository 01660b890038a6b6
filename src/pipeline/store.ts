/** What the lifecycle pipeline needs from the lab home (implemented over src/home in ./home-store.ts). */
import type { CclabError } from '../errors.js';
import type { Manifest } from '../home/manifest.js';

/** One lab directory: its manifest, or why it could not be read (a broken lab, still removable). */
export interface LabEntry {
  name: string;
  manifest?: Manifest | undefined;
  error?: CclabError | undefined;
  /** Whether a live cclab process holds the lab's lock now. */
  locked: boolean;
}

export interface LabStore {
  /** The lab's directory (its Vagrant project). */
  dir(name: string): string;
  /** The manifest, or undefined when there is no such lab. */
  read(name: string): Promise<Manifest | undefined>;
  write(manifest: Manifest): Promise<void>;
  /** Writes a file of the lab (relative path) atomically. */
  writeFile(name: string, relPath: string, content: string): Promise<void>;
  /** Whether the lab has this file (relative path). */
  hasFile(name: string, relPath: string): Promise<boolean>;
  /** Every lab's manifest (broken ones skipped). */
  list(): Promise<Manifest[]>;
  /** Every lab directory, broken ones included (with their error). */
  entries(): Promise<LabEntry[]>;
  /**
   * Takes the lab's lock (creating the lab directory); resolves with its release. `evenIfFull`:
   * when the disk is too full to write the lock, go on without one if nobody holds it (taking a
   * lab down is how space is freed).
   */
  lock(name: string, command: string, opts?: { evenIfFull?: (warning: string) => void }): Promise<() => Promise<void>>;
  /** Removes the files of the lab under `relDir` that are not in `keep` (relative paths). Returns what it removed. */
  prune(name: string, relDir: string, keep: readonly string[]): Promise<string[]>;
  /**
   * Takes the lock that covers every lab while a new lab's subnet is chosen and claimed (waiting
   * for another `up` to claim its own); resolves with its release.
   */
  lockPlacement?(): Promise<() => Promise<void>>;
  /**
   * Deletes everything in the lab directory but its lock (the caller holds it): the directory
   * itself goes when the lock is released, so no other process can take the lab over while its
   * files are being deleted.
   */
  remove(name: string): Promise<void>;
}
