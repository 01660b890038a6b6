/**
 * One lock per lab: `<lab dir>/lock`, held by the cclab process that changes the lab (up, down,
 * destroy…). It contains JSON `{ pid, command, startedAt, hostname, bootId? }`.
 *
 * Acquiring: the lock file is created complete (written to a temporary file, then hard-linked to
 * `lock`, which fails if `lock` exists), so nobody ever reads a half-written lock. When `lock`
 * exists and its holder is alive, acquireLock() throws LabBusyError at once (no waiting).
 *
 * Stale locks: a holder that crashed or was killed (SIGKILL, power cut) leaves its lock behind.
 * The next acquirer sees that the pid is gone (or that the machine has rebooted since: Linux boot
 * id) and takes the lock over. Two processes taking over the same stale lock are serialised by a
 * second, short-lived file (`lock.takeover`): only the holder of that file removes the stale lock,
 * after checking it is still the same file content; then both race to create `lock` afresh and
 * exactly one wins. A lock held on another host (shared home directory) cannot be checked and is
 * always treated as live.
 *
 * Releasing: release() removes the file only if it still holds our content. It also runs on normal
 * process exit (an 'exit' listener), but no signal handler is installed here: the CLI turns
 * SIGINT/SIGTERM into an orderly stop, and a process killed outright leaves a stale lock that the
 * next run takes over.
 */
import { bootId } from './boot-id.js';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { link, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CclabError, LabBusyError, NotFoundError, fileSystemError } from '../errors.js';
import { errnoCode } from './errno.js';
import { LOCK_FILE } from './paths.js';

export interface LockInfo {
  pid: number;
  /** What the holder is doing, as the user typed it: `cclab up`. */
  command: string;
  /** ISO 8601 time the lock was taken. */
  startedAt: string;
  hostname: string;
  /** Linux boot id of the holder's machine: a lock from before a reboot is stale whatever its pid. */
  bootId?: string;
}

export interface LabLock {
  path: string;
  info: LockInfo;
  /** The stale lock this acquisition replaced, if any (worth a line on stderr). */
  tookOverFrom: LockInfo | undefined;
  /** Remove the lock if it is still ours. Idempotent; synchronous so it can run at exit. */
  release(): void;
}

export interface AcquireOptions {
  /** What is taking the lock, e.g. `cclab up`: shown to anyone who finds the lab busy. */
  command: string;
}

/** How long to wait for another process to finish taking over a stale lock before giving up. */
const TAKEOVER_WAIT_ATTEMPTS = 300;
const RETRY_DELAY_MS = 10;

/**
 * Take the lock of the lab directory `labDir`, or throw LabBusyError naming the live holder.
 * A stale lock (holder gone) is taken over.
 */
export async function acquireLock(labDir: string, opts: AcquireOptions): Promise<LabLock> {
  const path = join(labDir, LOCK_FILE);
  const guard = `${path}.takeover`;
  const info: LockInfo = {
    pid: process.pid,
    command: opts.command,
    startedAt: new Date().toISOString(),
    hostname: hostname(),
    ...(bootId() !== undefined ? { bootId: bootId()! } : {}),
  };
  const content = JSON.stringify(info) + '\n';
  let tookOverFrom: LockInfo | undefined;

  for (let attempt = 0; attempt < TAKEOVER_WAIT_ATTEMPTS; attempt++) {
    if (await createExclusive(path, content)) return makeHandle(path, info, content, tookOverFrom);

    const holder = await readHolder(path);
    if (holder === 'gone') continue; // released between our two steps: try again
    if (holder.info !== undefined && holderAlive(holder.info)) throw busyError(labDir, path, holder.info);

    // Stale: the holder is dead, or the file is unreadable garbage.
    if (holder.info !== undefined) tookOverFrom = holder.info;
    const removed = await removeStale(path, guard, holder.raw, content);
    if (!removed) await sleep(RETRY_DELAY_MS);
  }
  throw new LabBusyError(`lab ${basename(labDir)} is busy: could not take over its stale lock ${path}`, {
    hint: `another cclab process kept ${guard} for a long time; if no cclab process is running, remove ${guard} and ${path}`,
  });
}

/** The current holder of the lab's lock, or undefined when the lab is not locked (or the file is unreadable). */
export async function readLock(labDir: string): Promise<LockInfo | undefined> {
  const holder = await readHolder(join(labDir, LOCK_FILE));
  return holder === 'gone' ? undefined : holder.info;
}

/** Whether a process with this pid exists on this machine (EPERM: it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
  // A zombie (dead, not yet reaped by its parent) still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // No /proc (macOS, Windows) or the process just went away: trust kill(0).
  }
  return true;
}

/** Whether the lab directory's lock is held by a live process (a stale or missing lock: false). */
export async function lockHeld(labDir: string): Promise<boolean> {
  const info = await readLock(labDir).catch(() => undefined);
  return info !== undefined && holderAlive(info);
}

function holderAlive(info: LockInfo): boolean {
  if (info.hostname !== hostname()) return true; // cannot check a process on another machine
  const ours = bootId();
  if (info.bootId !== undefined && ours !== undefined && info.bootId !== ours) return false;
  return isProcessAlive(info.pid);
}

function busyError(labDir: string, path: string, holder: LockInfo): LabBusyError {
  const name = basename(labDir);
  const otherHost = holder.hostname !== hostname();
  const who = otherHost ? `pid ${holder.pid} on ${holder.hostname}` : `pid ${holder.pid}`;
  return new LabBusyError(`lab ${name} is busy: \`${holder.command}\` (${who}) holds its lock since ${holder.startedAt}`, {
    hint: otherHost
      ? `wait for it to finish; if cclab no longer runs on ${holder.hostname}, remove ${path}`
      : `wait for it to finish; if that process is gone (pid ${holder.pid} is now another program), remove ${path}`,
  });
}

/**
 * Create `path` with `content` only if it does not exist. The content is complete before the
 * name appears (temporary file + link). Returns false if the file exists.
 *
 * The temporary file lives only inside one synchronous stretch (open, write, fsync, link, unlink):
 * signal handlers run on the event loop, so a Ctrl-C that ends cclab while the lock is being taken
 * cannot leave it behind, and no open still running in the thread pool can create it after an
 * exit hook has looked for it.
 */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const linked = createExclusiveSync(path, content);
  // A filesystem without hard links: O_EXCL. Readers retry while the file is empty.
  return linked === 'no-links' ? createWithOExcl(path, content) : linked;
}

function createExclusiveSync(path: string, content: string): boolean | 'no-links' {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`cannot lock: the lab directory ${dirname(path)} does not exist`, { cause: e });
    throw lockWriteError(e, path);
  }
  try {
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } catch (e) {
      // A full disk fails the write, not the open.
      throw lockWriteError(e, path);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
      return true;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EEXIST') return false;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') return 'no-links';
      throw lockWriteError(e, path);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone.
    }
  }
}

function lockWriteError(e: unknown, path: string): CclabError {
  return fileSystemError(e, 'cannot create the lock', path) ?? new CclabError(`cannot create lock ${path}: ${(e as Error).message}`, { cause: e });
}

async function createWithOExcl(path: string, content: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o644);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writeFile(content);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(path, { force: true });
    throw lockWriteError(e, path);
  }
  await fh.close();
  return true;
}

type Holder = { raw: string; info: LockInfo | undefined };

/** Read a lock file. Unparsable content is re-read a few times (an O_EXCL writer may be mid-write). */
async function readHolder(path: string): Promise<Holder | 'gone'> {
  let raw = '';
  for (let i = 0; i < 5; i++) {
    try {
      raw = await readFile(path, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return 'gone';
      throw fileSystemError(e, 'cannot read the lock', path) ?? new CclabError(`cannot read lock ${path}: ${(e as Error).message}`, { cause: e });
    }
    const info = parseLockInfo(raw);
    if (info !== undefined) return { raw, info };
    await sleep(20);
  }
  return { raw, info: undefined };
}

export function parseLockInfo(raw: string): LockInfo | undefined {
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o.pid !== 'number' || typeof o.command !== 'string' || typeof o.startedAt !== 'string' || typeof o.hostname !== 'string') {
      return undefined;
    }
    return {
      pid: o.pid,
      command: o.command,
      startedAt: o.startedAt,
      hostname: o.hostname,
      ...(typeof o.bootId === 'string' ? { bootId: o.bootId } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Remove the stale lock whose content was `staleRaw`, under the takeover guard. Returns false when
 * another process holds the guard (the caller waits a little and looks again).
 */
async function removeStale(path: string, guard: string, staleRaw: string, ourContent: string): Promise<boolean> {
  if (!(await createExclusive(guard, ourContent))) {
    await removeDeadGuard(guard);
    return false;
  }
  try {
    let current: string;
    try {
      current = await readFile(path, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return true;
      throw e;
    }
    // Only the guard holder removes a stale lock, and a dead holder does not come back, so the
    // file cannot change between this comparison and the unlink.
    if (current === staleRaw) await unlink(path).catch((e: unknown) => (errnoCode(e) === 'ENOENT' ? undefined : Promise.reject(e)));
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

/**
 * A takeover guard whose holder died (a crash inside the few milliseconds a takeover takes) would
 * block every later takeover: move it aside, and delete it if it is still the dead one we read;
 * if a live process had replaced it meanwhile, put that one back.
 */
async function removeDeadGuard(guard: string): Promise<void> {
  const holder = await readHolder(guard);
  if (holder === 'gone') return;
  if (holder.info !== undefined && holderAlive(holder.info)) return;
  const aside = `${guard}.${process.pid}.${randomBytes(6).toString('hex')}.dead`;
  try {
    await rename(guard, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== holder.raw) await link(aside, guard).catch(() => undefined);
  await rm(aside, { force: true });
}

function makeHandle(path: string, info: LockInfo, content: string, tookOverFrom: LockInfo | undefined): LabLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', onExit);
    try {
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  };
  const onExit = () => {
    try {
      release();
    } catch {
      // Exiting anyway: the lock stays and the next run finds it stale.
    }
  };
  process.on('exit', onExit);
  return { path, info, tookOverFrom, release };
}

