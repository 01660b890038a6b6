/**
 * From a command's lab options to a resolved Lab: the built-in definition or --config file,
 * flags over it, SSH keys read, a local fleetd located. Shared by `render` and `up`.
 */
import { access } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { blameFlags, LabConfigError, UsageError } from '../errors.js';
import { loadBuiltinLab, loadLabFile, readSshKeys } from '../lab/load.js';
import { resolveLab, type LabOverrides, type Resolved } from '../lab/resolve.js';
import type { Context } from '../context.js';

export interface LabInputOptions {
  architecture?: string | undefined;
  config?: string | undefined;
  overrides: LabOverrides;
  /** --ssh-key FILE… (relative to cwd). */
  sshKeys?: string[] | undefined;
  /** --fleetd FILE (relative to cwd). */
  fleetd?: string | undefined;
}

/**
 * Where a lab may go, given its name (known only once its file is read): the subnets other labs
 * use, and the subnet it already has when it exists.
 */
export type Placement = (name: string) => { taken: readonly string[]; subnet?: string | undefined };

export async function prepareLab(opts: LabInputOptions, ctx: Context, placement: Placement = () => ({ taken: [] })): Promise<Resolved> {
  try {
    return await prepare(opts, ctx, placement);
  } catch (e) {
    // Problems only with values given by flags are about the command line: exit 2, flags named.
    throw blameFlags(e);
  }
}

async function prepare(opts: LabInputOptions, ctx: Context, placement: Placement): Promise<Resolved> {
  if (opts.architecture && opts.config) {
    throw new UsageError(`give an architecture or --config, not both`, {
      hint: `the lab file names its architecture; use \`cclab … --config ${opts.config}\``,
    });
  }
  if (!opts.architecture && !opts.config) {
    throw new UsageError('which lab? name an architecture (laptop, small, dev, production) or pass --config FILE');
  }
  const loaded = opts.config ? await loadLabFile(opts.config, ctx.cwd) : await loadBuiltinLab(opts.architecture!);
  const fileKeys = loaded.document.spec.sshKeys ?? [];
  const keys = [
    ...(await readSshKeys(fileKeys, loaded.baseDir, loaded.source)),
    ...(await readSshKeys(opts.sshKeys ?? [], ctx.cwd, loaded.source, 'ssh-key')),
  ];
  const overrides: LabOverrides = { ...opts.overrides };
  // The lab's name comes from --name, else the file's metadata.name, else the architecture.
  const name = overrides.name ?? loaded.document.name ?? loaded.document.spec.architecture;
  const place = placement(name);
  // A lab that exists keeps its subnet unless --subnet or the file says otherwise, so re-running
  // the same command resumes it.
  if (place.subnet !== undefined && overrides.subnet === undefined && loaded.document.spec.subnet === undefined) overrides.subnet = place.subnet;
  // A local fleetd: from --fleetd (relative to cwd) or the file's fleet.localFile (relative to the file).
  const fileFleetd = loaded.document.spec.fleet?.localFile;
  const fleetd = opts.fleetd ? resolve(ctx.cwd, opts.fleetd) : fileFleetd ? (isAbsolute(fileFleetd) ? fileFleetd : resolve(loaded.baseDir, fileFleetd)) : undefined;
  if (fleetd) {
    try {
      await access(fleetd);
    } catch {
      throw new LabConfigError(loaded.source, [{ path: 'fleet.localFile', message: `${fleetd} does not exist`, ...(opts.fleetd && { flag: 'fleetd' }) }]);
    }
    overrides.fleet = { ...overrides.fleet, localFile: fleetd };
  }
  return resolveLab({
    document: loaded.document,
    source: loaded.source,
    overrides,
    sshKeys: keys,
    defaultProvider: ctx.env.VAGRANT_DEFAULT_PROVIDER || undefined,
    takenSubnets: place.taken,
  });
}
