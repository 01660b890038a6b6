/** What the lifecycle pipeline needs from the lab home (implemented over src/home in ./home-store.ts). */
import type { Manifest } from '../home/manifest.js';

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
  /** Takes the lab's lock (creating the lab directory); resolves with its release. */
  lock(name: string, command: string): Promise<() => Promise<void>>;
  /** Deletes the lab directory. */
  remove(name: string): Promise<void>;
}
