/** LabStore over the lab home (src/home): one directory per lab, atomic files, one lock per lab. */
import { access, mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { acquireLock } from '../home/lock.js';
import { atomicWriteFile, listLabs, readManifest, writeManifest, type Manifest } from '../home/manifest.js';
import { assertSafeName, labDir, labsRoot, type Env } from '../home/paths.js';
import { NotFoundError } from '../errors.js';
import { errnoCode } from '../home/errno.js';
import type { LabStore } from './store.js';

export function homeStore(env: Env, onTakeover?: (message: string) => void): LabStore {
  const dir = (name: string) => labDir(env, name);
  return {
    dir,
    async read(name) {
      try {
        return await readManifest(dir(name));
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
    write: (m: Manifest) => writeManifest(dir(m.name), m),
    async writeFile(name, relPath, content) {
      const path = join(dir(name), relPath);
      await mkdir(dirname(path), { recursive: true });
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
      return (await listLabs(labsRoot(env))).flatMap((l) => (l.manifest ? [l.manifest] : []));
    },
    async lock(name, command) {
      assertSafeName('lab', name);
      // The lock lives in the lab directory. A directory that holds nothing else when the lock is
      // released (a lab that turned out not to exist, or whose first `up` stopped before writing
      // anything) goes again; rmdir cannot remove a directory with anything in it. Another process
      // may remove the empty directory between our mkdir and our lock: then try again.
      for (let attempt = 0; ; attempt++) {
        await mkdir(dir(name), { recursive: true });
        let lock;
        try {
          lock = await acquireLock(dir(name), { command });
        } catch (e) {
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
    async remove(name) {
      assertSafeName('lab', name);
      await rm(dir(name), { recursive: true, force: true });
    },
  };
}
