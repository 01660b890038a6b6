/**
 * The lab manifest, `<lab dir>/lab.json`: what cclab knows about a lab between runs (its resolved
 * model, the inputs it was made from, the machines' last known state, the Docker endpoint…).
 *
 * Files of a lab are written atomically: a temporary file in the same directory, fsync, rename
 * over the old file, fsync of the directory. A crash at any point leaves either the old file or
 * the new one, never a mix; an interrupted write may leave a `.NAME.PID.RANDOM.tmp` file behind,
 * which nothing reads.
 *
 * Only node built-ins and small local modules are imported (`cclab docker-env` loads this).
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CclabError, CorruptManifestError, NotFoundError, fileSystemError } from '../errors.js';
import type { ErrorDetails } from '../errors.js';
import type { Lab, Role } from '../lab/types.js';
import { ARCHITECTURES, OSES, PROVIDERS } from '../lab/types.js';
import type { Architecture, OsName, Provider } from '../lab/types.js';
import type { UpTimings } from '../pipeline/timings.js';
import { errnoCode } from './errno.js';
import { assertSafeName, labPathsIn } from './paths.js';

export const MANIFEST_SCHEMA_VERSION = 1;

export const LAB_STATES = ['created', 'booting', 'running', 'partial', 'halted', 'destroying'] as const;
export type LabState = (typeof LAB_STATES)[number];

export interface ManifestMachine {
  name: string;
  role: Role;
  ip: string;
  /** Last state Vagrant reported (running, poweroff, not_created…), when known. */
  state?: string;
  /** ISO 8601 time `cclab kill` pulled the machine's plug; gone once `cclab up` brings it back. */
  killedAt?: string;
}

/** A snapshot cclab took of every machine of the lab at once (`cclab snapshot NAME save`). */
export interface LabSnapshot {
  name: string;
  /** ISO 8601 time it was taken. */
  createdAt: string;
  /** The machines it holds (every machine of the lab when it was taken). */
  machines: string[];
}

export interface DockerEndpoint {
  /** The machine whose Docker API is forwarded. */
  machine: string;
  guestPort: number;
  /** The host port Vagrant actually forwarded (auto_correct may have moved it). */
  hostPort: number;
  /** `tcp://127.0.0.1:<hostPort>` */
  endpoint: string;
  /** TLS with client certificates (`<lab dir>/docker-certs`); absent: the guide's plain socket. */
  tls?: boolean;
}

export interface LastError {
  message: string;
  /** argv of the external command that failed, when a command failed. */
  command?: string[];
  machine?: string;
  /** ISO 8601 time of the failure. */
  at: string;
}

export interface Manifest {
  schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  name: string;
  architecture: Architecture;
  os: OsName;
  provider: Provider;
  /** Box name. */
  box: string;
  /** Version of cclab that last wrote the manifest. */
  cclabVersion: string;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
  state: LabState;
  lab: Lab;
  machines: ManifestMachine[];
  docker?: DockerEndpoint;
  lastError?: LastError;
  /** Where the last `cclab up` spent its time (as `up --timings` prints it), also when it failed. */
  lastUp?: UpTimings;
  /** Snapshots taken with `cclab snapshot`, oldest first. */
  snapshots?: LabSnapshot[];
}

/** One entry of listLabs(): a lab whose manifest was read, or a directory that could not be. */
export type LabListing =
  | { name: string; dir: string; manifest: Manifest; error?: undefined }
  | { name: string; dir: string; manifest?: undefined; error: CclabError };

/** Write lab.json atomically (see the module comment). */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await atomicWriteFile(labPathsIn(dir).manifest, JSON.stringify(manifest, null, 2) + '\n');
}

/**
 * Read and check lab.json of the lab directory `dir`.
 * Throws NotFoundError when there is none, CorruptManifestError (with a hint) when it is not a
 * manifest this cclab can use.
 */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = labPathsIn(dir).manifest;
  const name = basename(dir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new NotFoundError(`lab ${JSON.stringify(name)} does not exist (no ${path})`, {
        hint: `create it with \`cclab up ${name}\``,
        cause: e,
      });
    }
    throw fileSystemError(e, 'cannot read', path) ?? new CclabError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseManifest(text, path, name);
}

/**
 * Parse the text of a lab.json. `expectedName` is the name of the directory it was found in:
 * a manifest naming another lab was copied or moved by hand and is refused.
 */
export function parseManifest(text: string, path: string, expectedName?: string): Manifest {
  const hint =
    `cclab wrote this file and did not expect this content. If the lab is still wanted, restore the file ` +
    `(or run \`vagrant destroy -f\` in ${dirname(path)}); otherwise remove the directory ${dirname(path)}`;
  const corrupt = (reason: string, cause?: unknown) => new CorruptManifestError(path, reason, { hint, cause });

  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw corrupt(text.trim() === '' ? 'the file is empty' : `invalid JSON (${(e as Error).message})`, e);
  }
  if (!isObject(data)) throw corrupt('expected a JSON object');
  const v = data.schemaVersion;
  if (typeof v === 'number' && Number.isInteger(v) && v > MANIFEST_SCHEMA_VERSION) {
    throw new CorruptManifestError(path, `it has schema version ${v}, written by a newer cclab (this one reads ${MANIFEST_SCHEMA_VERSION})`, {
      hint: 'upgrade cclab to manage this lab',
    });
  }
  if (v !== MANIFEST_SCHEMA_VERSION) throw corrupt(`schemaVersion is ${JSON.stringify(v)}, expected ${MANIFEST_SCHEMA_VERSION}`);

  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const isString = (x: unknown): x is string => typeof x === 'string';
  const oneOf = (list: readonly string[], x: unknown) => isString(x) && list.includes(x);

  need(isString(data.name) && data.name !== '', 'name must be a non-empty string');
  need(oneOf(ARCHITECTURES, data.architecture), `architecture must be one of ${ARCHITECTURES.join(', ')}`);
  need(oneOf(OSES, data.os), `os must be one of ${OSES.join(', ')}`);
  need(oneOf(PROVIDERS, data.provider), `provider must be one of ${PROVIDERS.join(', ')}`);
  need(isString(data.box), 'box must be a string');
  need(isString(data.cclabVersion), 'cclabVersion must be a string');
  need(isString(data.createdAt), 'createdAt must be a string');
  need(isString(data.updatedAt), 'updatedAt must be a string');
  need(oneOf(LAB_STATES, data.state), `state must be one of ${LAB_STATES.join(', ')}`);
  need(isObject(data.lab) && isString(data.lab.name) && Array.isArray(data.lab.machines), 'lab must be a resolved lab (name, machines…)');
  if (Array.isArray(data.machines)) {
    data.machines.forEach((m, i) => {
      need(isObject(m) && isString(m.name) && isString(m.role) && isString(m.ip), `machines[${i}] must have name, role and ip`);
      need(!isObject(m) || m.killedAt === undefined || isString(m.killedAt), `machines[${i}].killedAt must be a time`);
    });
  } else {
    problems.push('machines must be an array');
  }
  if (data.docker !== undefined) {
    const d = data.docker;
    need(
      isObject(d) &&
        isString(d.machine) &&
        isPort(d.guestPort) &&
        isPort(d.hostPort) &&
        isString(d.endpoint) &&
        d.endpoint.startsWith('tcp://') &&
        (d.tls === undefined || typeof d.tls === 'boolean'),
      'docker must have machine, guestPort, hostPort and a tcp:// endpoint',
    );
  }
  need(
    data.lastError === undefined || (isObject(data.lastError) && isString(data.lastError.message) && isString(data.lastError.at)),
    'lastError must have message and at',
  );
  need(
    data.lastUp === undefined || (isObject(data.lastUp) && isString(data.lastUp.startedAt) && typeof data.lastUp.totalMs === 'number' && Array.isArray(data.lastUp.machines)),
    'lastUp must have startedAt, totalMs and machines',
  );
  if (data.snapshots !== undefined) {
    need(
      Array.isArray(data.snapshots) &&
        data.snapshots.every((x) => isObject(x) && isString(x.name) && isString(x.createdAt) && Array.isArray(x.machines) && x.machines.every(isString)),
      'snapshots must be a list of {name, createdAt, machines}',
    );
  }
  if (problems.length > 0) throw corrupt(problems.join('; '));

  if (expectedName !== undefined && data.name !== expectedName) {
    throw corrupt(`it describes lab ${JSON.stringify(data.name)} but lies in the directory of lab ${JSON.stringify(expectedName)}`);
  }
  return data as unknown as Manifest;
}

/**
 * Every lab under `labsRoot` (`<home>/labs`), sorted by name. A directory whose manifest is
 * missing or corrupt is listed with its error instead of a manifest. No labs directory: [].
 */
export async function listLabs(labsRoot: string): Promise<LabListing[]> {
  let entries;
  try {
    entries = await readdir(labsRoot, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw fileSystemError(e, 'cannot read', labsRoot) ?? new CclabError(`cannot read ${labsRoot}: ${(e as Error).message}`, { cause: e });
  }
  const dirs = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    dirs.map(async (name): Promise<LabListing> => {
      const dir = join(labsRoot, name);
      try {
        assertSafeName('lab', name);
        return { name, dir, manifest: await readManifest(dir) };
      } catch (e) {
        if (e instanceof CclabError) return { name, dir, error: e };
        throw e;
      }
    }),
  );
}

/** A write in two steps: the data is in a temporary file beside the target until commit(). */
export interface PendingWrite {
  /** The temporary file (same directory as the target). */
  tmpPath: string;
  /** Rename the temporary file over the target and fsync the directory. */
  commit(): Promise<void>;
  /** Remove the temporary file. */
  abort(): Promise<void>;
}

/**
 * Write the whole of `data` to a temporary file beside `path` and fsync it; the target is not
 * touched until commit(). Readers of `path` never see a partial file.
 */
export async function prepareAtomicWrite(path: string, data: string | Uint8Array, mode = 0o644): Promise<PendingWrite> {
  const dir = dirname(path);
  const tmpPath = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const abort = () => rm(tmpPath, { force: true });
  // Errors name the file being written, not its temporary name.
  const failed = (e: unknown) => fileSystemError(e, 'cannot write', path) ?? e;
  let fh;
  try {
    fh = await open(tmpPath, 'wx', mode);
  } catch (e) {
    throw failed(e);
  }
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await abort();
    throw failed(e);
  }
  return {
    tmpPath,
    abort,
    async commit() {
      try {
        await rename(tmpPath, path);
      } catch (e) {
        await abort();
        throw failed(e);
      }
      await syncDir(dir);
    },
  };
}

/** Replace `path` with `data` atomically (temporary file, fsync, rename, fsync of the directory). */
export async function atomicWriteFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const pending = await prepareAtomicWrite(path, data, mode);
  await pending.commit();
}

/** fsync a directory so a rename in it survives a power cut. Not possible on every platform. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = errnoCode(e);
    // Windows cannot open directories; some filesystems refuse fsync on them.
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw e;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isPort(x: unknown): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 65536;
}
