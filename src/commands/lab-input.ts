/**
 * From a command's lab options to a resolved Lab: the built-in definition or --config file,
 * flags over it, SSH keys read, a local fleetd located. Shared by `render` and `up`.
 */
import { access } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { readText } from '../bounded-read.js';
import { blameFlags, LabConfigError, UsageError } from '../errors.js';
import { isRemoteLibvirt } from '../providers/libvirt-uri.js';
import { shown } from '../lab/shown.js';
import { loadBuiltinLab, loadLabFile, readSshKeys } from '../lab/load.js';
import { resolveLab, type LabOverrides, type Resolved } from '../lab/resolve.js';
import { PROVIDERS, type LibvirtDriver, type Provider } from '../lab/types.js';
import type { Context } from '../context.js';

/** The most of a --macs file that is read. */
const MACS_FILE_LIMIT = 64 * 1024;

export interface LabInputOptions {
  architecture?: string | undefined;
  config?: string | undefined;
  overrides: LabOverrides;
  /** --ssh-key FILE… (relative to cwd). */
  sshKeys?: string[] | undefined;
  /** --fleetd FILE (relative to cwd). */
  fleetd?: string | undefined;
  /** --macs FILE (relative to cwd): `machine MAC` lines. */
  macs?: string | undefined;
  /**
   * What this host offers, asked by `up` and `doctor` only where nothing chose (render stays the
   * same on every host): the provider, and libvirt's driver.
   */
  detect?: HostDetection | undefined;
}

/** The host's answers for what nobody chose (real ones in src/commands/deps.ts). */
export interface HostDetection {
  /** The first usable provider (VirtualBox, then libvirt, then Parallels), and why. */
  provider(): Promise<{ provider: Provider; why: string }>;
  /** kvm when libvirt can run KVM guests, else qemu (software emulation), and why. */
  libvirtDriver(): Promise<{ driver: LibvirtDriver; why: string }>;
}

/** A resolved lab, with notes on what was chosen for the user (printed first by `up`). */
export interface PreparedLab extends Resolved {
  notes: string[];
  /** What the host decided because nobody chose it (`doctor --fix` may set up another provider). */
  detected: { provider?: Provider; libvirtDriver?: LibvirtDriver };
}

/**
 * A --macs file: one `machine MAC` pair a line (blank lines and `#` comments ignored). The pairs are
 * checked with the lab (unknown machines, malformed or repeated MACs); here only the shape.
 */
export function parseMacsFile(text: string, source: string): Record<string, string> {
  const macs: Record<string, string> = {};
  const problems: { path: string; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const parts = line.split(/[\s,=]+/);
    if (parts.length !== 2) return void problems.push({ path: `line ${i + 1}`, message: 'expected "machine MAC", e.g. worker-01 52:54:00:12:34:56' });
    const [machine, mac] = parts as [string, string];
    if (Object.hasOwn(macs, machine)) return void problems.push({ path: `line ${i + 1}`, message: `${shown(machine)} is listed twice` });
    macs[machine] = mac;
  });
  if (problems.length > 0) throw new LabConfigError(source, problems);
  return macs;
}

/**
 * Where a lab may go, given its name (known only once its file is read): the subnets other labs
 * use, and the subnet it already has when it exists.
 */
export type Placement = (name: string) => { taken: readonly string[]; subnet?: string | undefined };

export async function prepareLab(opts: LabInputOptions, ctx: Context, placement: Placement = () => ({ taken: [] })): Promise<PreparedLab> {
  try {
    return await prepare(opts, ctx, placement);
  } catch (e) {
    // Problems only with values given by flags are about the command line: exit 2, flags named.
    throw blameFlags(e);
  }
}

async function prepare(opts: LabInputOptions, ctx: Context, placement: Placement): Promise<PreparedLab> {
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
  if (opts.macs) {
    const path = resolve(ctx.cwd, opts.macs);
    // `machine MAC` lines: 64 KiB is thousands of machines; a device or a wrong file stops there.
    const given = opts.macs;
    const text = await readText(
      path,
      MACS_FILE_LIMIT,
      'a MAC list',
      (e) => new UsageError(`--macs ${shown(given)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`),
      (message) => new UsageError(`--macs ${shown(given)}: ${message}`),
    );
    overrides.macs = { ...overrides.macs, ...parseMacsFile(text, opts.macs) };
  }
  // What nobody chose, the host decides (minikube's way): --provider, the lab file and
  // VAGRANT_DEFAULT_PROVIDER come first.
  const notes: string[] = [];
  const extraWarnings: string[] = [];
  const detected: { provider?: Provider; libvirtDriver?: LibvirtDriver } = {};
  const spec = loaded.document.spec;
  const envProvider = ctx.env.VAGRANT_DEFAULT_PROVIDER || undefined;
  if (opts.detect && overrides.provider === undefined && spec.provider === undefined && envProvider === undefined) {
    const choice = await opts.detect.provider();
    detected.provider = choice.provider;
    notes.push(`Using provider ${choice.provider}, ${choice.why}; choose another with --provider or VAGRANT_DEFAULT_PROVIDER`);
  }
  const provider = overrides.provider ?? spec.provider ?? ((PROVIDERS as readonly string[]).includes(envProvider ?? '') ? (envProvider as Provider) : detected.provider);
  const uri = overrides.libvirt?.uri ?? spec.libvirt?.uri;
  const remote = uri !== undefined && isRemoteLibvirt(uri);
  if (opts.detect && provider === 'libvirt' && remote && overrides.libvirt?.driver === undefined && spec.libvirt?.driver === undefined) {
    // This host's /dev/kvm says nothing about the libvirt host's.
    notes.push(`The machines run on ${uri} with KVM; pass --libvirt-driver qemu if that host has none`);
  } else if (opts.detect && provider === 'libvirt' && overrides.libvirt?.driver === undefined && spec.libvirt?.driver === undefined) {
    const choice = await opts.detect.libvirtDriver();
    detected.libvirtDriver = choice.driver;
    if (choice.driver === 'qemu') {
      extraWarnings.push(`${choice.why}: the machines run under QEMU's software emulation, several times slower than KVM (--libvirt-driver kvm insists on KVM)`);
    }
  }
  const resolved = resolveLab({
    document: loaded.document,
    source: loaded.source,
    overrides,
    sshKeys: keys,
    defaultProvider: envProvider,
    takenSubnets: place.taken,
    detected,
  });
  return { ...resolved, warnings: [...extraWarnings, ...resolved.warnings], notes, detected };
}
