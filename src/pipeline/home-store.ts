/** LabStore over the lab home (src/home): one directory per lab, atomic files, one lock per lab. */
import { access, readdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { acquireLock, lockHeld } from '../home/lock.js';
import { atomicWriteFile, listLabs, readManifest, writeManifest, type Manifest } from '../home/manifest.js';
import { upgradeLab } from '../lab/upgrade.js';
import { assertSafeName, labDir, labsRoot, LOCK_FILE, type Env } from '../home/paths.js';
import { FileSystemError, LabBusyError, NotFoundError } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, makeDirectory } from '../home/errno.js';
import type { LabEntry, LabStore } from './store.js';

/** The directory of the lock under which new labs choose their subnets. */
export const PLACEMENT_DIR = '.placement';
/** How long an `up` waits for others to finish choosing their subnets (each holds it for seconds). */
const PLACEMENT_WAIT_MS = 120_000;

/** A manifest whose lab is brought to today's model (see src/lab/upgrade.ts). */
function upgraded(m: Manifest): Manifest {
  upgradeLab(m.lab);
  return m;
}

export function homeStore(env: Env, onTakeover?: (message: string) => void): LabStore {
  const dir = (name: string) => labDir(env, name);
  return {
    dir,
    async read(name) {
      try {
        return upgraded(await readManifest(dir(name)));
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
    write: (m: Manifest) => writeManifest(dir(m.name), m),
    async writeFile(name, relPath, content) {
      const path = join(dir(name), relPath);
      await makeDirectory(dirname(path));
      await atomicWriteFile(path, content);
    },
    async hasFile(name, relPath) {
      try {
        await access(join(dir(name), relPath));
        return true;
      } catch {
        return false;
      }
    },
    async list() {
      return (await listLabs(labsRoot(env))).flatMap((l) => (l.manifest ? [upgraded(l.manifest)] : []));
    },
    async entries() {
      const out: LabEntry[] = [];
      for (const l of await listLabs(labsRoot(env))) {
        const locked = await lockHeld(l.dir);
        if (l.error instanceof NotFoundError) {
          // No lab.json: a first `up` that has only taken its lock is not a lab yet; anything else
          // in the directory is a broken lab.
          const files = (await readdir(l.dir).catch(() => [] as string[])).filter((f) => f !== LOCK_FILE && !f.startsWith(`${LOCK_FILE}.`));
          if (files.length === 0) continue;
        }
        out.push({ name: l.name, manifest: l.manifest && upgraded(l.manifest), error: l.error, locked });
      }
      return out;
    },
    async prune(name, relDir, keep) {
      const base = join(dir(name), relDir);
      const wanted = new Set(keep.map((k) => join(dir(name), k)));
      let names: string[];
      try {
        names = await readdir(base);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return [];
        throw e;
      }
      const removed: string[] = [];
      for (const f of names.sort()) {
        const path = join(base, f);
        if (wanted.has(path)) continue;
        await rm(path, { recursive: true, force: true });
        removed.push(join(relDir, f));
      }
      return removed;
    },
    async lock(name, command, opts = {}) {
      assertSafeName('lab', name);
      // The lock lives in the lab directory. A directory that holds nothing else when the lock is
      // released (a lab that turned out not to exist, or whose first `up` stopped before writing
      // anything) goes again; rmdir cannot remove a directory with anything in it. Another process
      // may remove the empty directory between our mkdir and our lock: then try again.
      for (let attempt = 0; ; attempt++) {
        await makeDirectory(dir(name));
        let lock;
        try {
          lock = await acquireLock(dir(name), { command });
        } catch (e) {
          if (opts.evenIfFull && e instanceof FileSystemError && (e.code === 'ENOSPC' || e.code === 'EDQUOT')) {
            if (!(await lockHeld(dir(name)))) {
              opts.evenIfFull(`the disk is too full to write the lock of lab ${name}; going on without it (nobody else holds it)`);
              return async () => {
                if (!(await lockHeld(dir(name)))) await rm(join(dir(name), LOCK_FILE), { force: true }).catch(() => undefined);
                await rmdir(dir(name)).catch(() => undefined);
              };
            }
          }
          // acquireLock reports a vanished directory as NotFoundError caused by ENOENT.
          if (errnoCode((e as Error).cause) === 'ENOENT' && attempt < 10) continue;
          await rmdir(dir(name)).catch(() => undefined);
          throw e;
        }
        if (lock.tookOverFrom && onTakeover) {
          onTakeover(`took over a stale lock of lab ${name} left by \`${lock.tookOverFrom.command}\` (pid ${lock.tookOverFrom.pid}, gone)`);
        }
        return async () => {
          lock.release();
          await rmdir(dir(name)).catch(() => undefined);
        };
      }
    },
    async lockPlacement() {
      // `<home>/labs/.placement/lock` (a dot directory: never listed as a lab). Held for the short
      // time between choosing a subnet and writing the manifest, so wait for it instead of failing.
      const placementDir = join(labsRoot(env), PLACEMENT_DIR);
      const deadline = Date.now() + PLACEMENT_WAIT_MS;
      for (;;) {
        await makeDirectory(placementDir);
        try {
          const lock = await acquireLock(placementDir, { command: 'cclab up (choosing a subnet)' });
          return async () => {
            lock.release();
            await rmdir(placementDir).catch(() => undefined);
          };
        } catch (e) {
          if (!(e instanceof LabBusyError) && errnoCode((e as Error).cause) !== 'ENOENT') throw e;
          if (Date.now() > deadline) throw e;
          await sleep(50);
        }
      }
    },
    async remove(name) {
      assertSafeName('lab', name);
      let names: string[];
      try {
        names = await readdir(dir(name));
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return;
        throw e;
      }
      for (const f of names) if (f !== LOCK_FILE) await rm(join(dir(name), f), { recursive: true, force: true });
    },
  };
}
