/**
 * The Vagrant driver: every `vagrant` process cclab starts goes through here. `VagrantDriver` is
 * the interface the pipeline and commands use; `createVagrantDriver` runs the real binary (or
 * whatever CCLAB_VAGRANT names) through the process layer (src/process/run.ts) and turns how it
 * ended into cclab's errors.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { execa } from 'execa';
import { CommandError, InterruptedError, NotFoundError, PreflightError } from '../errors.js';
import {
  VagrantParseError,
  hintForOutput,
  humanizeMachineReadable,
  parseBoxList,
  parsePluginList,
  parsePort,
  parseSnapshotList,
  parseSshConfig,
  parseStatus,
  parseVersion,
  portsUnsupported,
} from './parse.js';
import type { InstalledBox, ForwardedPort, MachineStatus, Plugin, SshHost, VagrantVersion } from './parse.js';
import { runInGroup } from '../process/run.js';
import { takeEarly } from '../process/early.js';
import { BOX_LIST_ARGS, resolveVagrantBin, VERSION_ARGS, vagrantEnv } from './env.js';
import { quoteCommand } from './quote.js';

export { resolveVagrantBin, vagrantEnv } from './env.js';

export type { InstalledBox, ForwardedPort, MachineStatus, Plugin, SshHost, VagrantVersion } from './parse.js';

/** Options every long-running Vagrant command takes. */
export interface RunControl {
  /** Aborting sends Vagrant one SIGINT (it cleans up), then SIGTERM and SIGKILL if it hangs. */
  signal?: AbortSignal;
  /** Each line of output (stdout and stderr), without terminal escapes, as it arrives. */
  onLine?: (line: string) => void;
}

export interface VagrantUpOptions extends RunControl {
  /** Machines to bring up, in order; all of them when absent or empty. */
  machines?: string[];
  provider: string;
  /** `--parallel` when true, `--no-parallel` when false, Vagrant's default when absent. */
  parallel?: boolean;
  /** false passes `--no-destroy-on-error` (keep a machine that failed to come up, to look at it). */
  destroyOnError?: boolean;
}

export interface BoxAddOptions extends RunControl {
  provider: string;
  /** The catalog's version to add (Vagrant's default: the newest). */
  version?: string;
  force?: boolean;
}

export interface VagrantDriver {
  /** `vagrant --version`. */
  version(): Promise<VagrantVersion>;
  /** `vagrant status --machine-readable [MACHINES]` in the lab directory. */
  status(cwd: string, machines?: string[]): Promise<MachineStatus[]>;
  /** `vagrant up [MACHINES] --provider P [--parallel|--no-parallel]`. */
  up(cwd: string, opts: VagrantUpOptions): Promise<void>;
  /** `vagrant halt [MACHINES]`; with `force`, `vagrant halt --force`: the plug is pulled, no clean shutdown. */
  halt(cwd: string, machines?: string[], opts?: RunControl & { force?: boolean }): Promise<void>;
  /**
   * `vagrant suspend MACHINES`: each machine stops where it is, memory kept (libvirt pauses the
   * domain; VirtualBox saves its state to disk). A machine that is not running is left as it is.
   */
  suspend(cwd: string, machines: string[], opts?: RunControl): Promise<void>;
  /** `vagrant resume MACHINES --no-provision`: suspended machines go on from where they stopped. */
  resume(cwd: string, machines: string[], opts?: RunControl): Promise<void>;
  /**
   * `vagrant snapshot save [MACHINE] SNAPSHOT`. Vagrant takes one machine or none: without
   * `machine` (undefined), one process saves every machine of the Vagrantfile in turn.
   */
  snapshotSave(cwd: string, machine: string | undefined, snapshot: string, opts?: RunControl): Promise<void>;
  /** `vagrant snapshot restore [MACHINE] SNAPSHOT --no-provision`: back to it, running (every machine without `machine`). */
  snapshotRestore(cwd: string, machine: string | undefined, snapshot: string, opts?: RunControl): Promise<void>;
  /** `vagrant snapshot delete [MACHINE] SNAPSHOT` (every machine without `machine`). */
  snapshotDelete(cwd: string, machine: string | undefined, snapshot: string, opts?: RunControl): Promise<void>;
  /** `vagrant snapshot list --machine-readable [MACHINES]`: each machine's snapshot names. */
  snapshotList(cwd: string, machines?: string[]): Promise<Map<string, string[]>>;
  /** `vagrant destroy -f [MACHINES]`. */
  destroy(cwd: string, machines?: string[], opts?: RunControl): Promise<void>;
  /**
   * `vagrant port MACHINE --machine-readable`: the machine's forwarded ports as the provider
   * reports them (after auto_correct). `undefined` when the provider cannot list them
   * (vagrant-libvirt): its ports are then the ones the Vagrantfile asks for.
   */
  port(cwd: string, machine: string): Promise<ForwardedPort[] | undefined>;
  /** `vagrant ssh-config [MACHINES]` (every machine asked for must be running). */
  sshConfig(cwd: string, machines?: string[]): Promise<SshHost[]>;
  /** `vagrant validate [-p]`; throws CommandError with Vagrant's message when invalid. */
  validate(cwd: string, opts?: { ignoreProvider?: boolean }): Promise<void>;
  /** `vagrant box list --machine-readable`. */
  boxList(): Promise<InstalledBox[]>;
  /**
   * `vagrant box add [--force] --provider P [--box-version V] CATALOG`: adds the box a catalog
   * (Vagrant's box metadata JSON, a local file) describes, with the name and version it gives.
   * `force` replaces an installed box of that name, provider and version.
   */
  boxAdd(catalog: string, opts: BoxAddOptions): Promise<void>;
  /** `vagrant plugin list --machine-readable`. */
  pluginList(): Promise<Plugin[]>;
  /**
   * `vagrant ssh MACHINE [-c COMMAND]` with the terminal handed over (stdio inherited); resolves
   * with ssh's exit status. `command` words are quoted for the remote shell.
   */
  ssh(cwd: string, machine: string, command?: string[]): Promise<number>;
}

export interface RunResult {
  /** The argv, binary first. */
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

export interface RunOptions extends RunControl {
  cwd: string;
}

/** Runs one `vagrant` process. Resolves whatever the exit status; rejects only when it could not run or was interrupted. */
export interface VagrantRunner {
  readonly bin: string;
  run(args: string[], opts: RunOptions): Promise<RunResult>;
}

export interface VagrantRunnerOptions {
  /** The caller's environment (ctx.env); PATH in it is where the binary is looked up. */
  env: Record<string, string | undefined>;
  /** Binary to run; default: env.CCLAB_VAGRANT, else `vagrant`. */
  vagrantBin?: string;
  /** How long Vagrant gets to clean up after SIGINT before SIGTERM (default 30 s). */
  interruptGraceMs?: number;
  /** After SIGTERM, how long before SIGKILL (default 5 s). */
  killGraceMs?: number;
}

function missingBinary(bin: string, code: string | undefined, cause: unknown): PreflightError {
  const notFound = code === 'ENOENT';
  return new PreflightError(
    [
      {
        check: 'vagrant',
        message: notFound ? `\`${bin}\` was not found (PATH or CCLAB_VAGRANT)` : `\`${bin}\` could not be run (${code ?? 'error'})`,
        fix: notFound
          ? 'install Vagrant 2.2 or later (https://developer.hashicorp.com/vagrant/install), or set CCLAB_VAGRANT to its path'
          : `check that \`${bin}\` is an executable file, or set CCLAB_VAGRANT to Vagrant's path`,
      },
    ],
    { cause },
  );
}

export function createVagrantRunner(opts: VagrantRunnerOptions): VagrantRunner {
  const bin = resolveVagrantBin(opts);
  const env = vagrantEnv(opts.env);
  const interruptGraceMs = opts.interruptGraceMs ?? 30_000;
  const killGraceMs = opts.killGraceMs ?? 5_000;

  return {
    bin,
    async run(args, { cwd, signal, onLine }) {
      const command = [bin, ...args];
      if (signal?.aborted) throw interrupted(command, cwd);
      // A query `up` started before this module was loaded (./head-start.ts) is the same run: adopted
      // when it is exactly this one (binary, arguments, directory, environment) and nothing needs to
      // follow or stop it as it goes.
      const early = onLine === undefined && signal === undefined ? takeEarly(bin, args, { cwd, env }) : undefined;
      const r = await (early ?? runInGroup(bin, args, { cwd, env, signal, onLine, interruptGraceMs, killGraceMs }));
      if (r.aborted) throw interrupted(command, cwd);
      if (r.kind === 'failed') {
        if (r.code === 'ENOENT' && !existsSync(cwd)) {
          throw new NotFoundError(`directory ${cwd} does not exist (running ${display(command)})`, { cause: r });
        }
        if (r.code === 'ENOENT' || r.code === 'EACCES') throw missingBinary(bin, r.code, r);
        throw new CommandError(`${display(command)} ${r.signal ? `was killed by ${r.signal}` : `failed: ${r.message}`}`, { command, output: r.output }, { cause: r });
      }
      return { command, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, output: r.output };
    },
  };
}

function interrupted(command: string[], cwd: string): InterruptedError {
  return new InterruptedError(`interrupted: ${display(command)} was stopped`, {
    hint: `machines may be left half-created: \`vagrant status\` in ${cwd} shows where they are`,
  });
}

/** An argv as a shell line, for messages. */
export function display(command: string[]): string {
  return quoteCommand(command.map((w, i) => (i === 0 ? w.replace(/^.*\//, '') : w)));
}

export interface VagrantDriverOptions extends VagrantRunnerOptions {
  /** Directory for commands that are about no lab (box list, plugin list, --version). Default: os.tmpdir(). */
  globalCwd?: string;
}

export function createVagrantDriver(opts: VagrantDriverOptions): VagrantDriver {
  const runner = createVagrantRunner(opts);
  return driverOn(runner, { globalCwd: opts.globalCwd ?? os.tmpdir(), env: opts.env });
}

/** The driver over a given runner (tests use this to run against a fake binary or the real one). */
export function driverOn(
  runner: VagrantRunner,
  opts: { globalCwd: string; env: Record<string, string | undefined> },
): VagrantDriver {
  const { globalCwd } = opts;

  /** Runs and throws CommandError on a non-zero exit status. */
  async function check(args: string[], run: RunOptions & { machine?: string | undefined }): Promise<RunResult> {
    const r = await runner.run(args, run);
    if (r.exitCode !== 0) throw failure(r, run.cwd, run.machine);
    return r;
  }

  async function parsed<T>(args: string[], run: RunOptions & { machine?: string | undefined }, parse: (text: string) => T): Promise<T> {
    const r = await check(args, run);
    try {
      return parse(r.stdout);
    } catch (e) {
      if (!(e instanceof VagrantParseError)) throw e;
      throw new CommandError(`${display(r.command)} printed output cclab cannot read: ${e.message}`, {
        command: r.command,
        exitStatus: r.exitCode,
        output: r.output,
        machine: run.machine,
      }, { cause: e, hint: 'this Vagrant version may print something cclab does not know; please report it with the output' });
    }
  }

  const one = (machines: string[] | undefined) => (machines && machines.length === 1 ? machines[0] : undefined);

  return {
    async version() {
      return parsed([...VERSION_ARGS], { cwd: globalCwd }, parseVersion);
    },

    async status(cwd, machines = []) {
      return parsed(['status', '--machine-readable', ...machines], { cwd, machine: one(machines) }, parseStatus);
    },

    async up(cwd, o) {
      const machines = o.machines ?? [];
      const args = ['up', ...machines, '--provider', o.provider];
      if (o.parallel === true) args.push('--parallel');
      if (o.parallel === false) args.push('--no-parallel');
      if (o.destroyOnError === false) args.push('--no-destroy-on-error');
      await check(args, { cwd, signal: o.signal, onLine: o.onLine, machine: one(machines) });
    },

    async halt(cwd, machines = [], o = {}) {
      const { force, ...run } = o;
      await check(['halt', ...(force ? ['--force'] : []), ...machines], { cwd, ...run, machine: one(machines) });
    },

    async suspend(cwd, machines, o = {}) {
      await check(['suspend', ...machines], { cwd, ...o, machine: one(machines) });
    },

    async resume(cwd, machines, o = {}) {
      await check(['resume', ...machines, '--no-provision'], { cwd, ...o, machine: one(machines) });
    },

    async snapshotSave(cwd, machine, snapshot, o = {}) {
      await check(['snapshot', 'save', ...(machine === undefined ? [] : [machine]), snapshot], { cwd, ...o, machine });
    },

    async snapshotRestore(cwd, machine, snapshot, o = {}) {
      await check(['snapshot', 'restore', ...(machine === undefined ? [] : [machine]), snapshot, '--no-provision'], { cwd, ...o, machine });
    },

    async snapshotDelete(cwd, machine, snapshot, o = {}) {
      await check(['snapshot', 'delete', ...(machine === undefined ? [] : [machine]), snapshot], { cwd, ...o, machine });
    },

    async snapshotList(cwd, machines = []) {
      return parsed(['snapshot', 'list', '--machine-readable', ...machines], { cwd, machine: one(machines) }, parseSnapshotList);
    },

    async destroy(cwd, machines = [], o = {}) {
      await check(['destroy', '-f', ...machines], { cwd, ...o, machine: one(machines) });
    },

    async port(cwd, machine) {
      const r = await runner.run(['port', machine, '--machine-readable'], { cwd });
      if (r.exitCode !== 0 && portsUnsupported(r.stdout + r.stderr)) return undefined;
      if (r.exitCode !== 0) throw failure(r, cwd, machine);
      return parsePort(r.stdout);
    },

    async sshConfig(cwd, machines = []) {
      return parsed(['ssh-config', ...machines], { cwd, machine: one(machines) }, parseSshConfig);
    },

    async validate(cwd, o = {}) {
      await check(o.ignoreProvider ? ['validate', '-p'] : ['validate'], { cwd });
    },

    async boxList() {
      return parsed([...BOX_LIST_ARGS], { cwd: globalCwd }, parseBoxList);
    },

    async boxAdd(catalog, o) {
      const args = ['box', 'add', ...(o.force ? ['--force'] : []), '--provider', o.provider, ...(o.version !== undefined ? ['--box-version', o.version] : []), catalog];
      await check(args, { cwd: globalCwd, signal: o.signal, onLine: o.onLine });
    },

    async pluginList() {
      return parsed(['plugin', 'list', '--machine-readable'], { cwd: globalCwd }, parsePluginList);
    },

    async ssh(cwd, machine, command) {
      const args = ['ssh', machine];
      if (command && command.length > 0) args.push('-c', quoteCommand(command));
      // The terminal belongs to ssh now: same process group, so Ctrl-C goes to it directly.
      const r = await execa(runner.bin, args, {
        cwd,
        env: vagrantEnv(opts.env),
        extendEnv: false,
        stdio: 'inherit',
        reject: false,
      });
      if (r.exitCode === undefined) {
        if (r.code === 'ENOENT' && !existsSync(cwd)) throw new NotFoundError(`directory ${cwd} does not exist`, { cause: r });
        if (r.code === 'ENOENT' || r.code === 'EACCES') throw missingBinary(runner.bin, r.code, r);
        throw new CommandError(`${display([runner.bin, ...args])} failed: ${r.signal ?? r.shortMessage}`, {
          command: [runner.bin, ...args],
          machine,
        });
      }
      return r.exitCode;
    },
  };
}

/** The CommandError for a Vagrant run that exited non-zero. */
export function failure(r: RunResult, cwd: string, machine?: string): CommandError {
  const machineReadable = r.command.includes('--machine-readable');
  const output = machineReadable ? humanizeMachineReadable(r.output) : r.output;
  const shown = display(r.command);
  return new CommandError(
    `${shown} failed (exit ${r.exitCode})${machine ? ` on ${machine}` : ''}`,
    { command: r.command, exitStatus: r.exitCode, output, machine },
    { hint: hintForOutput(output) ?? `run \`${shown}\` in ${cwd} to see everything Vagrant printed` },
  );
}
