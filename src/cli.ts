/**
 * The command line: the only module that reads argv, the process environment, and sets the exit
 * code. Command modules are imported lazily so each command loads only what it uses; `docker-env`
 * (run from shell start-up files) skips yargs entirely.
 */
import { parseArgs } from 'node:util';
import type { Context, Io } from './context.js';
import { CclabError, CommandError, ExitCode, InterruptedError, UsageError } from './errors.js';
import type { LabOverrides } from './lab/resolve.js';

const io: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
};

const controller = new AbortController();
let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupts += 1;
    if (interrupts > 1) {
      io.err('\ninterrupted again: exiting now; the lab may need `cclab up NAME` or `cclab down NAME`\n');
      process.exit(ExitCode.interrupted);
    }
    io.err(`\n${sig === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'}: stopping cleanly (press Ctrl-C again to exit at once)…\n`);
    controller.abort(new InterruptedError(`interrupted by ${sig}`));
  });
}

const ctx: Context = { io, env: process.env, cwd: process.cwd(), signal: controller.signal };
let jsonMode = false;

function report(e: unknown): number {
  if (!(e instanceof CclabError)) {
    io.err(`error: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    io.err('This is a bug in cclab; please report it with the output above.\n');
    if (jsonMode) io.out(JSON.stringify({ error: { kind: 'internal', message: String(e), exitCode: ExitCode.internal } }) + '\n');
    return ExitCode.internal;
  }
  io.err(`error: ${e.message}\n`);
  if (e instanceof CommandError) {
    io.err(`command: ${e.command.join(' ')}${e.exitStatus !== undefined ? ` (exit status ${e.exitStatus})` : ''}\n`);
    if (e.outputTail) io.err(`output (last lines):\n${e.outputTail.replace(/^/gm, '  ')}\n`);
  }
  if (e.hint) io.err(`hint: ${e.hint}\n`);
  if (jsonMode) io.out(JSON.stringify({ error: e.toJSON() }) + '\n');
  return e.exitCode;
}

async function main(argv: string[]): Promise<number> {
  jsonMode = argv.includes('--json');
  try {
    if (argv[0] === 'docker-env' && !argv.includes('--help') && !argv.includes('-h')) {
      await dockerEnvFast(argv.slice(1));
    } else {
      await runYargs(argv);
    }
    return ExitCode.ok;
  } catch (e) {
    return report(e);
  }
}

/** `cclab docker-env` without yargs: node's own parseArgs, and only the docker-env module. */
async function dockerEnvFast(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { shell: { type: 'string' }, unset: { type: 'boolean', short: 'u' }, json: { type: 'boolean' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message, { hint: 'cclab docker-env [NAME] [--shell SHELL] [--unset] [--json]' });
  }
  if (parsed.positionals.length > 1) throw new UsageError('docker-env takes at most one lab name');
  const { run } = await import('./commands/docker-env.js');
  await run(
    { name: parsed.positionals[0], shell: parsed.values.shell, unset: parsed.values.unset ?? false, json: parsed.values.json ?? false },
    ctx,
  );
}

const ARCHES = ['laptop', 'small', 'dev', 'production'];

/** The lab options shared by `render` and `up`. */
function labOptions<T>(y: import('yargs').Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'Your own lab file (apiVersion cclab.dev/v1alpha1, kind Lab)' })
    .option('name', { type: 'string', describe: 'Lab name (default: the architecture)' })
    .option('workers', { type: 'number', describe: 'Workers (dev: ≥1, default 2; production: ≥1, default 2)' })
    .option('members', { type: 'number', describe: 'etcd members (small: 3–9, default 3)' })
    .option('services', { type: 'number', describe: 'Central-services machines (production: 3–5, default 3)' })
    .option('os', { choices: ['flatcar', 'coreos'] as const, describe: 'Guest OS (default flatcar; coreos = legacy Container Linux ≤ 1632)' })
    .option('channel', { type: 'string', describe: 'Release channel (default stable)' })
    .option('box', { type: 'string', describe: 'Vagrant box name (default <os>-<channel>)' })
    .option('box-url', { type: 'string', describe: 'Box metadata URL' })
    .option('box-version', { type: 'string', describe: 'Box version constraint' })
    .option('provider', {
      choices: ['virtualbox', 'libvirt', 'parallels'] as const,
      describe: 'Vagrant provider (default $VAGRANT_DEFAULT_PROVIDER, else virtualbox)',
    })
    .option('memory', { type: 'number', describe: 'Memory per machine in MiB' })
    .option('cpus', { type: 'number', describe: 'vCPUs per machine' })
    .option('subnet', { type: 'string', describe: 'Lab /24 (default: a free one inside 192.168.56.0/21, not .56.0/24)' })
    .option('docker-tcp', { type: 'boolean', describe: 'Expose the Docker API on 127.0.0.1 of the host (always on for laptop)' })
    .option('discovery', { type: 'string', describe: 'etcd discovery URL (default: static initial_cluster)' })
    .option('metadata', { type: 'string', array: true, describe: 'Extra fleet metadata k=v (repeatable)' })
    .option('ssh-key', { type: 'string', array: true, describe: 'Public key file for ssh_authorized_keys (repeatable)' })
    .option('update-group', { type: 'string', describe: 'Update group (production)' })
    .option('update-server', { type: 'string', describe: 'Update server URL (production)' })
    .option('reboot-strategy', { choices: ['etcd-lock', 'reboot', 'off'] as const, describe: 'Reboot strategy (production default etcd-lock)' })
    .option('fleet-url', { type: 'string', describe: 'fleet release tarball to install on Flatcar' })
    .option('fleet-sha256', { type: 'string', describe: 'Expected SHA-256 of that tarball' })
    .option('fleetd', { type: 'string', describe: 'Upload this local fleetd instead of downloading (offline labs)' })
    .option('libvirt-driver', { choices: ['kvm', 'qemu'] as const, describe: 'libvirt domain type (qemu = software emulation)' })
    .option('libvirt-management-network', { type: 'string', describe: 'libvirt management network (default 192.168.121.0/24)' });
}

type LabArgs = Record<string, unknown>;

function overridesFrom(a: LabArgs): LabOverrides {
  const str = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  const num = (k: string) => {
    const v = a[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new UsageError(`--${k} takes a whole number, not ${String(v)}`);
    return v;
  };
  const metadata: Record<string, string> = {};
  for (const pair of (a.metadata as string[] | undefined) ?? []) {
    for (const item of pair.split(',')) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new UsageError(`--metadata takes k=v pairs, not "${item}"`);
      metadata[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  return {
    name: str('name'),
    workers: num('workers'),
    members: num('members'),
    services: num('services'),
    os: str('os') as LabOverrides['os'],
    channel: str('channel'),
    provider: str('provider') as LabOverrides['provider'],
    box: { name: str('box'), url: str('box-url'), version: str('box-version') },
    memory: num('memory'),
    cpus: num('cpus'),
    subnet: str('subnet'),
    gateway: str('gateway'),
    dns: a.dns as string[] | undefined,
    dockerTcp: a['docker-tcp'] as boolean | undefined,
    discovery: str('discovery'),
    metadata,
    update: { group: str('update-group'), server: str('update-server'), rebootStrategy: str('reboot-strategy') as 'off' | undefined },
    fleet: { url: str('fleet-url'), sha256: str('fleet-sha256') },
    libvirt: {
      driver: str('libvirt-driver') as 'kvm' | undefined,
      managementNetwork: str('libvirt-management-network'),
    },
  };
}

function labInput(a: LabArgs) {
  return {
    architecture: a.architecture as string | undefined,
    config: a.config as string | undefined,
    overrides: overridesFrom(a),
    sshKeys: a['ssh-key'] as string[] | undefined,
    fleetd: a.fleetd as string | undefined,
  };
}

async function runYargs(argv: string[]): Promise<void> {
  const { default: yargs } = await import('yargs');
  const { version } = await import('./version.js');
  const cli = yargs(argv)
    .scriptName('cclab')
    .usage('cclab: local labs of Container Linux clusters (Flatcar, legacy CoreOS) with Vagrant\n\nUsage: $0 <command> [options]')
    .version(version())
    .parserConfiguration({ 'populate--': true, 'strip-aliased': true })
    .strict()
    .demandCommand(1, 'name a command (cclab --help lists them)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg, { hint: 'see `cclab --help` or `cclab <command> --help`' });
    })
    .command(
      'render [architecture]',
      'Write a lab’s Vagrantfile and one cloud-config per machine (never runs Vagrant)',
      (y) =>
        labOptions(y)
          .positional('architecture', { choices: ARCHES, describe: 'laptop | small | dev | production' })
          .option('out', { type: 'string', describe: 'Output directory (default ./<name>)' })
          .option('target', { choices: ['vagrant', 'bare-metal'] as const, default: 'vagrant' as const, describe: 'bare-metal: cloud-configs with a static eth0 network unit, no Vagrantfile' })
          .option('gateway', { type: 'string', describe: 'Gateway for --target bare-metal (default .1 of the subnet)' })
          .option('dns', { type: 'string', array: true, describe: 'DNS servers for --target bare-metal' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the plan as one JSON document' })
          .example('$0 render dev --workers 3 --out /tmp/lab', 'a Vagrantfile and four user-data files')
          .example('$0 render production --target bare-metal --subnet 10.0.0.0/24 --dns 10.0.0.2', 'cloud-configs for real machines'),
      async (a) => {
        const { run } = await import('./commands/render.js');
        await run({ ...labInput(a), out: a.out, target: a.target, json: a.json }, ctx);
      },
    )
    .command(
      'validate <files..>',
      'Check cloud-config files by coreos-cloudinit’s rules (and Flatcar’s: hyphenated keys are ignored)',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, demandOption: true })
          .option('os', { choices: ['flatcar', 'coreos'] as const, default: 'flatcar' as const, describe: 'Rules of this OS' })
          .option('json', { type: 'boolean', default: false }),
      async (a) => {
        const { run } = await import('./commands/validate.js');
        await run({ files: a.files as string[], os: a.os, json: a.json }, ctx);
      },
    );
  await cli.parseAsync();
}

process.exitCode = await main(process.argv.slice(2));
