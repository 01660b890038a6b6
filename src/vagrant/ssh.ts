/**
 * SSH to lab machines without `vagrant ssh` (which starts Ruby and reads the Vagrantfile on every
 * call): the hosts of `vagrant ssh-config`, parsed once per lab, are written to an OpenSSH config
 * file and `ssh -F FILE` runs each command.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CommandError, InterruptedError, NotFoundError, PreflightError } from '../errors.js';
import type { ExecResult, RemoteExec } from '../transport.js';
import type { SshHost } from './parse.js';
import { quoteCommand } from './quote.js';

/** OpenSSH's own exit status when it fails (cannot connect, authentication refused…). */
export const SSH_FAILURE_STATUS = 255;

/** The most output `exec` reads from one remote command: what cclab runs there prints kilobytes. */
export const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

/** The value of one config option, quoted when it holds a space (OpenSSH's own quoting). */
function configValue(key: string, value: string): string {
  // ProxyCommand and LocalCommand take the rest of the line as a command: never quote them.
  if (/^(proxycommand|localcommand|remotecommand)$/i.test(key)) return value;
  return /\s/.test(value) ? `"${value}"` : value;
}

/** One `Host` block, with `alias` as its name. */
function hostBlock(alias: string, h: SshHost): string {
  const lines = [
    `Host ${alias}`,
    `  HostName ${h.hostName}`,
    `  User ${configValue('User', h.user)}`,
    `  Port ${h.port}`,
    ...Object.entries(h.options).map(([k, v]) => `  ${k} ${configValue(k, v)}`),
    ...h.identityFiles.map((f) => `  IdentityFile ${configValue('IdentityFile', f)}`),
  ];
  return lines.join('\n') + '\n';
}

/** Host names cannot hold spaces, `*`, `?`, `!` or `,` (patterns); lab and machine names never do. */
function checkAlias(alias: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(alias)) throw new TypeError(`"${alias}" cannot be an SSH Host name`);
  return alias;
}

/**
 * The OpenSSH config printed by `cclab ssh-config LAB`, for `ssh -F` or an `Include` in
 * ~/.ssh/config. Each machine is named `<lab>-<machine>` (dev-core-01) and only so: every lab has
 * a core-01 or an etcd-01, and OpenSSH silently uses the first block that matches a name, so a
 * bare machine name in a shared config would reach whichever lab's block came first.
 */
export function formatSshConfig(hosts: SshHost[], labName: string): string {
  const header = `# Lab "${labName}": SSH to its machines with \`ssh -F THIS_FILE ${labName}-MACHINE\`.\n`;
  return [header, ...hosts.map((h) => hostBlock(checkAlias(`${labName}-${h.host}`), h))].join('\n');
}

/** The config file DirectSsh writes: the machines under their own names. */
export function directSshConfig(hosts: SshHost[]): string {
  return hosts.map((h) => hostBlock(checkAlias(h.host), h)).join('\n');
}

export interface DirectSshOptions {
  /** Where to write the config file (kept by close()); default: a new temporary directory, removed by close(). */
  configPath?: string;
  /** ssh binary (default `ssh`). */
  sshBin?: string;
  /** Seconds for ssh's ConnectTimeout (default 10; the exec timeout still bounds the whole call). */
  connectTimeoutSec?: number;
  /** Environment for ssh: pass the caller's (ctx.env); default process.env. */
  env?: Record<string, string | undefined>;
}

/**
 * `RemoteExec` over OpenSSH. `exec` resolves with the remote command's exit status and output;
 * it rejects with CommandError when ssh itself fails (exit 255: unreachable, refused) or the
 * timeout passes, with InterruptedError when `signal` aborts, with NotFoundError for a machine
 * it has no SSH data for.
 */
export class DirectSsh implements RemoteExec {
  private constructor(
    readonly configPath: string,
    private readonly hosts: Map<string, SshHost>,
    private readonly opts: Required<Pick<DirectSshOptions, 'sshBin' | 'connectTimeoutSec'>> & { env: Record<string, string | undefined> },
    private readonly tempDir: string | undefined,
  ) {}

  static async create(hosts: SshHost[], opts: DirectSshOptions = {}): Promise<DirectSsh> {
    let tempDir: string | undefined;
    let configPath = opts.configPath;
    if (configPath === undefined) {
      tempDir = await mkdtemp(path.join(os.tmpdir(), 'cclab-ssh-'));
      configPath = path.join(tempDir, 'ssh_config');
    }
    await writeFile(configPath, directSshConfig(hosts), { mode: 0o600 });
    return new DirectSsh(
      configPath,
      new Map(hosts.map((h) => [h.host, h])),
      { sshBin: opts.sshBin ?? 'ssh', connectTimeoutSec: opts.connectTimeoutSec ?? 10, env: opts.env ?? process.env },
      tempDir,
    );
  }

  /** The ssh argv for one command (without the binary). */
  argv(machine: string, argv: string[], timeoutMs: number): string[] {
    const connect = Math.max(1, Math.min(this.opts.connectTimeoutSec, Math.ceil(timeoutMs / 1000)));
    return [
      '-F', this.configPath,
      '-o', 'BatchMode=yes',
      '-o', `ConnectTimeout=${connect}`,
      // Vagrant writes LogLevel FATAL, which hides why a connection failed.
      '-o', 'LogLevel=ERROR',
      '-T',
      '--', machine,
      quoteCommand(argv),
    ];
  }

  async exec(machine: string, argv: string[], timeoutMs: number, signal?: AbortSignal): Promise<ExecResult> {
    this.host(machine);
    if (argv.length === 0) throw new TypeError('exec needs a command');
    const args = this.argv(machine, argv, timeoutMs);
    const command = [this.opts.sshBin, ...args];
    if (signal?.aborted) throw new InterruptedError(`interrupted before running ${argv[0]} on ${machine}`);
    const r = await execa(this.opts.sshBin, args, {
      env: this.opts.env,
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: timeoutMs,
      ...(signal ? { cancelSignal: signal } : {}),
      all: true,
      encoding: 'utf8',
      stripFinalNewline: false,
      maxBuffer: MAX_OUTPUT_BYTES,
    });
    if (r.isCanceled) throw new InterruptedError(`interrupted while running ${argv[0]} on ${machine}`);
    if (r.isMaxBuffer) {
      throw new CommandError(`\`${quoteCommand(argv)}\` on ${machine} printed more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MiB; cclab stopped reading it`, {
        command, output: '', machine,
      });
    }
    if (r.timedOut) {
      throw new CommandError(`\`${quoteCommand(argv)}\` on ${machine} did not finish within ${timeoutMs} ms`, {
        command, output: String(r.all ?? ''), machine,
      });
    }
    return { exitCode: this.ended(r, machine, command, String(r.all ?? '')), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /**
   * Runs `argv` on `machine` with cclab's own stdin, stdout and stderr (a passthrough such as
   * `cclab etcdctl`); resolves with the remote command's exit status. ssh's own failure (255)
   * is a CommandError, as for exec().
   */
  async interactive(machine: string, argv: string[], signal?: AbortSignal, opts: { forwardKey?: string | undefined } = {}): Promise<number> {
    if (opts.forwardKey === undefined) return this.streamed(machine, argv, 'inherit', signal);
    return withAgent(opts.forwardKey, this.opts.env, (sock) => this.streamed(machine, argv, 'inherit', signal, sock));
  }

  /** The private key the machine's SSH settings name (Vagrant's `IdentityFile`), if any. */
  keyOf(machine: string): string | undefined {
    return this.hosts.get(machine)?.identityFiles[0];
  }

  /** Copies the local file `from` to `to` on `machine` (its directory is made), over the same SSH. */
  async upload(machine: string, from: string, to: string, signal?: AbortSignal): Promise<void> {
    const status = await this.streamed(machine, ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat >"$1"', 'sh', to], { file: from }, signal);
    if (status !== 0) throw new CommandError(`could not copy ${from} to ${to} on ${machine} (exit status ${status})`, { command: ['ssh', machine, 'cat', '>', to], exitStatus: status, machine });
  }

  private async streamed(machine: string, argv: string[], stdin: 'inherit' | { file: string }, signal?: AbortSignal, agentSocket?: string): Promise<number> {
    this.host(machine);
    const args = this.argv(machine, argv, this.opts.connectTimeoutSec * 1000);
    if (agentSocket !== undefined) args.unshift('-A');
    const command = [this.opts.sshBin, ...args];
    const r = await execa(this.opts.sshBin, args, {
      env: agentSocket === undefined ? this.opts.env : { ...this.opts.env, SSH_AUTH_SOCK: agentSocket },
      extendEnv: false,
      stdin: stdin === 'inherit' ? 'inherit' : stdin,
      stdout: 'inherit',
      stderr: ['inherit', 'pipe'],
      reject: false,
      ...(signal ? { cancelSignal: signal } : {}),
      encoding: 'utf8',
      maxBuffer: MAX_OUTPUT_BYTES,
    });
    if (r.isCanceled) throw new InterruptedError(`interrupted while running ${argv[0]} on ${machine}`);
    return this.ended(r, machine, command, '');
  }

  /** The SSH settings of `machine`; NotFoundError when `vagrant ssh-config` gave none. */
  private host(machine: string): SshHost {
    const h = this.hosts.get(machine);
    if (h === undefined) throw new NotFoundError(`no SSH data for machine ${machine}`, { hint: `known machines: ${[...this.hosts.keys()].join(', ') || 'none'}` });
    return h;
  }

  /**
   * The remote command's exit status, or the error for ssh itself: not run (no ssh binary, or
   * another failure, with `output`), or ended with 255 (unreachable, refused).
   */
  private ended(r: { exitCode?: number | undefined; code?: string | undefined; shortMessage?: string | undefined; stderr?: unknown }, machine: string, command: string[], output: string): number {
    if (r.exitCode === undefined) {
      if (r.code === 'ENOENT') throw new PreflightError([{ check: 'ssh', message: `\`${this.opts.sshBin}\` was not found`, fix: 'install the OpenSSH client' }], { cause: r });
      throw new CommandError(`ssh to ${machine} failed: ${r.shortMessage}`, { command, output, machine }, { cause: r });
    }
    if (r.exitCode === SSH_FAILURE_STATUS) {
      const h = this.host(machine);
      throw new CommandError(
        `ssh to ${machine} (${h.user}@${h.hostName}:${h.port}) failed`,
        { command, exitStatus: r.exitCode, output: String(r.stderr ?? ''), machine },
        { hint: 'is the machine running? `cclab status` shows it; SSH data is read from `vagrant ssh-config` when the lab comes up' },
      );
    }
    return r.exitCode;
  }

  /** Removes the config file when DirectSsh made its own temporary directory. */
  async close(): Promise<void> {
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
  }
}

/**
 * Runs `work` with an ssh-agent of its own (`ssh-agent -D`, a child stopped by PID after) that
 * holds `key`: forwarded with `ssh -A`, it lets a command on a lab machine SSH to the other
 * machines (fleetctl status and journal) with the lab's key, without the user's own agent.
 */
async function withAgent<T>(key: string, env: Record<string, string | undefined>, work: (socket: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cclab-agent-'));
  const socket = path.join(dir, 'agent.sock');
  const agent = execa('ssh-agent', ['-D', '-a', socket], { env, extendEnv: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', reject: false });
  try {
    for (let i = 0; i < 100 && !existsSync(socket); i++) {
      if (agent.exitCode !== null && agent.exitCode !== undefined) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!existsSync(socket)) {
      throw new PreflightError([{ check: 'ssh-agent', message: '`ssh-agent` did not start', fix: 'install the OpenSSH client (ssh-agent, ssh-add)' }]);
    }
    const add = await execa('ssh-add', ['-q', key], { env: { ...env, SSH_AUTH_SOCK: socket }, extendEnv: false, stdin: 'ignore', reject: false, all: true });
    if (add.exitCode !== 0) throw new CommandError(`could not add the lab's key ${key} to an agent`, { command: ['ssh-add', key], exitStatus: add.exitCode, output: String(add.all ?? '') });
    return await work(socket);
  } finally {
    agent.kill('SIGTERM');
    await agent;
    await rm(dir, { recursive: true, force: true });
  }
}
