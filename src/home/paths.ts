/**
 * Where labs live on disk. The per-user data directory follows the XDG base directory spec:
 *
 *   $CCLAB_HOME                      if set (absolute path)
 *   $XDG_DATA_HOME/cclab             else, if XDG_DATA_HOME is set to an absolute path
 *   ~/.local/share/cclab             otherwise
 *
 * One directory per lab, `<home>/labs/<name>/`:
 *
 *   Vagrantfile
 *   user-data/<machine>.yaml
 *   lab.json       the manifest (./manifest.ts)
 *   lock           held while a command changes the lab (./lock.ts)
 *
 * The environment is always passed in; nothing here reads process.env. Only node built-ins are
 * imported: `cclab docker-env` (run from shell start-up files) loads this module.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import { DOCKER_CERTS_DIR, USER_DATA_DIR, userDataPath } from '../render/layout.js';

export type Env = Record<string, string | undefined>;

export const LABS_DIR = 'labs';
export const MANIFEST_FILE = 'lab.json';
export const LOCK_FILE = 'lock';
export const VAGRANTFILE = 'Vagrantfile';

/** The files of one lab directory. */
export interface LabPaths {
  dir: string;
  vagrantfile: string;
  userDataDir: string;
  manifest: string;
  lock: string;
}

/** cclab's per-user data directory (see the module comment for the order of precedence). */
export function cclabHome(env: Env): string {
  const own = nonEmpty(env.CCLAB_HOME);
  if (own !== undefined) {
    if (!isAbsolute(own)) {
      throw new UsageError(`CCLAB_HOME must be an absolute path, not "${own}"`, {
        hint: 'set CCLAB_HOME to an absolute directory, or unset it to use $XDG_DATA_HOME/cclab or ~/.local/share/cclab',
      });
    }
    return own;
  }
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = nonEmpty(env.XDG_DATA_HOME);
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'cclab');
  return join(userHome(env), '.local', 'share', 'cclab');
}

/**
 * cclab's per-user cache directory (downloaded images): `$XDG_CACHE_HOME/cclab` when XDG_CACHE_HOME
 * is an absolute path, else `~/.cache/cclab`. Everything in it can be downloaded again.
 */
export function cacheHome(env: Env): string {
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'cclab');
  return join(userHome(env), '.cache', 'cclab');
}

/** Vagrant's own data directory, where boxes are installed: `$VAGRANT_HOME`, else `~/.vagrant.d`. */
export function vagrantHome(env: Env): string {
  return nonEmpty(env.VAGRANT_HOME) ?? join(userHome(env), '.vagrant.d');
}

/** `<home>/labs`: the parent of every lab directory. */
export function labsRoot(env: Env): string {
  return join(cclabHome(env), LABS_DIR);
}

/** `<home>/labs/<name>`. Refuses names that could point outside the labs directory. */
export function labDir(env: Env, name: string): string {
  assertSafeName('lab', name);
  return join(labsRoot(env), name);
}

/** Every file of the lab called `name`. */
export function labPaths(env: Env, name: string): LabPaths {
  return labPathsIn(labDir(env, name));
}

/** Every file of the lab whose directory is `dir`. */
export function labPathsIn(dir: string): LabPaths {
  return {
    dir,
    vagrantfile: join(dir, VAGRANTFILE),
    userDataDir: join(dir, USER_DATA_DIR),
    manifest: join(dir, MANIFEST_FILE),
    lock: join(dir, LOCK_FILE),
  };
}

/** `<dir>/user-data/<machine>.yaml`. */
export function userDataFile(dir: string, machine: string): string {
  assertSafeName('machine', machine);
  return join(dir, userDataPath(machine));
}

/**
 * Names become path components: refuse anything that is empty, contains a path separator, `..`,
 * NUL or another control character. (The naming rules proper live with the lab model; this is
 * the last guard before a path is built.)
 */
export function assertSafeName(kind: 'lab' | 'machine', name: string): void {
  const problem =
    name === ''
      ? 'is empty'
      : /[/\\]/.test(name)
        ? 'contains a path separator'
        : name.includes('..')
          ? 'contains ".."'
          : name === '.'
            ? 'is "."'
            : // eslint-disable-next-line no-control-regex
              /[\u0000-\u001f\u007f]/.test(name)
              ? 'contains a control character'
              : undefined;
  if (problem !== undefined) {
    throw new UsageError(`invalid ${kind} name ${JSON.stringify(name)}: it ${problem}`, {
      hint: `${kind} names are made of letters, digits and "-"`,
    });
  }
}

function userHome(env: Env): string {
  return nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE) ?? homedir();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** DOCKER_CERT_PATH of a lab directory: its Docker TLS files (ca.pem, cert.pem, key.pem). */
export function dockerCertPath(labDirectory: string): string {
  return join(labDirectory, DOCKER_CERTS_DIR);
}
