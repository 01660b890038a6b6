/**
 * The command line: the only module that reads argv, the process environment, and sets the exit
 * code. Command modules are imported lazily so each command loads only what it uses; `docker-env`
 * (run from shell start-up files) skips yargs entirely.
 */
import { parseArgs } from 'node:util';
import type { Context, Io } from './context.js';
import { CclabError, CommandError, ExitCode, InterruptedError, UsageError, classify, type StopSignal } from './errors.js';
import type { LabOverrides } from './lab/resolve.js';
import { printable } from './terminal/printable.js';
import { signalChildren } from './process/children.js';

// A reader that went away (`cclab ls | head -1`, a closed terminal after SIGHUP) is not a crash.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

/** Whether the command printed anything on stdout (its --json document, before failing). */
let printedData = false;
// Everything printed passes through printable(): text from outside cclab (endpoints, Vagrant,
// files, manifests) never reaches a terminal with its control sequences.
const io: Io = {
  out: (text) => {
    printedData = true;
    process.stdout.write(printable(text));
  },
  err: (text) => void process.stderr.write(printable(text)),
  isTTY: Boolean(process.stderr.isTTY),
  errStream: process.stderr,
};

const controller = new AbortController();
/** The first stop signal received. */
let stopSignal: StopSignal | undefined;
/**
 * How many pieces of work that stop in order by themselves are running (ctx.orderly: up, down and
 * halt while they hold a lab's lock). A signal that arrives outside them ends the command at once.
 */
let orderlyDepth = 0;
/** Whether the first signal is being handled by orderly work (the command is waited for). */
let selfStopping = false;
let onStop!: () => void;
const stopRequested = new Promise<void>((resolve) => (onStop = resolve));
const SIGNAL_NAMES: Record<StopSignal, string> = { SIGINT: 'Ctrl-C', SIGTERM: 'SIGTERM', SIGHUP: 'SIGHUP' };
const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: ExitCode.interrupted, SIGTERM: ExitCode.terminated, SIGHUP: ExitCode.hangup };

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopSignal !== undefined) {
      // A second signal: end the Vagrant processes still running (they would otherwise go on
      // with nobody reading their output), then exit.
      const n = signalChildren('SIGTERM');
      io.err(`\n${SIGNAL_NAMES[sig]} again: exiting now${n > 0 ? ` (stopped ${n} vagrant process${n === 1 ? '' : 'es'})` : ''}; the lab may need \`cclab up NAME\` or \`cclab down NAME\`\n`);
      process.exit(SIGNAL_EXIT[stopSignal]);
    }
    stopSignal = sig;
    selfStopping = orderlyDepth > 0;
    if (selfStopping) io.err(`\n${SIGNAL_NAMES[sig]}: stopping cleanly (press Ctrl-C again to exit at once)…\n`);
    controller.abort(new InterruptedError(`interrupted by ${sig}`, { signal: sig }));
    onStop();
  });
}

const ctx: Context = {
  io,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
  async orderly(work) {
    orderlyDepth += 1;
    try {
      return await work();
    } finally {
      orderlyDepth -= 1;
    }
  },
  // Questions go to stderr and are answered on the terminal; never when stdin is a pipe or a file.
  ...(process.stdin.isTTY && {
    async ask(question: string) {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question, { signal: controller.signal });
      } finally {
        rl.close();
      }
    },
  }),
};
let jsonMode = false;
/** Set by commands whose exit status is someone else's (ssh, logs). */
let commandExit: number | undefined;

function report(e: unknown): number {
  e = classify(e);
  if (stopSignal !== undefined && !(e instanceof InterruptedError)) {
    e = new InterruptedError(`interrupted by ${stopSignal}`, { signal: stopSignal });
  }
  if (e instanceof InterruptedError && stopSignal !== undefined && e.signal !== stopSignal) {
    e = new InterruptedError(e.message, { hint: e.hint, signal: stopSignal, cause: e });
  }
  if (!(e instanceof CclabError)) {
    io.err(`error: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    io.err('This is a bug in cclab; please report it with the output above.\n');
    if (jsonMode && !printedData) io.out(JSON.stringify({ error: { kind: 'internal', message: String(e), exitCode: ExitCode.internal } }) + '\n');
    return ExitCode.internal;
  }
  io.err(`error: ${e.message}\n`);
  if (e instanceof CommandError) {
    io.err(`command: ${e.command.join(' ')}${e.exitStatus !== undefined ? ` (exit status ${e.exitStatus})` : ''}\n`);
    if (e.outputTail) io.err(`output (last lines):\n${e.outputTail.replace(/^/gm, '  ')}\n`);
  }
  if (e.hint) io.err(`hint: ${e.hint}\n`);
  // --json prints exactly one document: a command that already printed its own (an unhealthy
  // check report, validate's diagnostics) keeps it; otherwise the error is the document.
  if (jsonMode && !printedData) io.out(JSON.stringify({ error: e.toJSON() }) + '\n');
  return e.exitCode;
}

async function main(argv: string[]): Promise<number> {
  const work = (async () => {
    if (argv[0] === 'docker-env' && !argv.includes('--help') && !argv.includes('-h') && (await dockerEnvFast(argv.slice(1)))) return;
    await runYargs(argv);
  })();
  // The first signal ends a command that does not stop itself at once (a `validate` blocked on a
  // FIFO, a `render` reading --config from a pipe); up, down and halt stop Vagrant and record
  // where the lab stands first, and end with the InterruptedError they throw.
  const settled = work.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const outcome = await Promise.race([settled, stopRequested.then(() => (selfStopping ? settled : { ok: false as const, error: undefined }))]);
  if (stopSignal !== undefined && !selfStopping) signalChildren('SIGTERM');
  if (outcome.ok && stopSignal === undefined) return commandExit ?? ExitCode.ok;
  return report(outcome.ok ? undefined : outcome.error);
}

/**
 * `cclab docker-env` without yargs: node's own parseArgs, and only the docker-env module. Returns
 * false for a command line parseArgs does not take (`--json=true`, a misspelt option): yargs then
 * parses it, with its spellings and its error messages.
 */
async function dockerEnvFast(args: string[]): Promise<boolean> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { shell: { type: 'string' }, unset: { type: 'boolean', short: 'u' }, json: { type: 'boolean' }, output: { type: 'string', short: 'o' } },
    });
  } catch {
    return false;
  }
  // `-o json` (minikube's spelling, for tools) is --json; any other -o value goes to yargs, which refuses it.
  if (parsed.values.output !== undefined) {
    if (parsed.values.output !== 'json') return false;
    parsed.values.json = true;
  }
  jsonMode = parsed.values.json === true;
  if (parsed.positionals.length > 1) throw new UsageError('docker-env takes at most one lab name');
  const { run } = await import('./commands/docker-env.js');
  await run(
    { name: parsed.positionals[0], shell: parsed.values.shell, unset: parsed.values.unset ?? false, json: parsed.values.json ?? false },
    ctx,
  );
  return true;
}

async function timeoutMs(value: unknown, fallbackMs: number): Promise<number> {
  if (value === undefined) return fallbackMs;
  const { parseDuration } = await import('./health/duration.js');
  return parseDuration(value as string | number);
}

type LabArgs = Record<string, unknown>;
type LabOptionsTable = typeof import('./lab/options.js');

/** The lab options' flags (src/lab/options.ts) as yargs options. */
function labOptions<T>(y: import('yargs').Argv<T>, table: LabOptionsTable, command: 'render' | 'up' | 'doctor'): import('yargs').Argv<T> {
  // Their values are read by name (labInput), so their types are not carried into the argv type.
  return y.options(table.labFlags(command)) as unknown as import('yargs').Argv<T>;
}

function labInput(a: LabArgs, table: LabOptionsTable) {
  return {
    architecture: a.architecture as string | undefined,
    config: a.config as string | undefined,
    overrides: table.overridesFromFlags(a) as LabOverrides,
    sshKeys: a['ssh-key'] as string[] | undefined,
    fleetd: a.fleetd as string | undefined,
    macs: a.macs as string | undefined,
  };
}

async function runYargs(argv: string[]): Promise<void> {
  const { default: yargs } = await import('yargs');
  const { version } = await import('./version.js');
  const table = await import('./lab/options.js');
  const { CHANNELS } = await import('./lab/types.js');
  const cli = yargs(argv)
    .scriptName('cclab')
    .usage('cclab: local labs of Container Linux clusters (Flatcar, legacy CoreOS) with Vagrant\n\nUsage: $0 <command> [options]')
    .version(version())
    .parserConfiguration({ 'populate--': true, 'strip-aliased': true, 'parse-numbers': false })
    .strict()
    .demandCommand(1, 'name a command (cclab --help lists them)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    // No option is a yargs number: whole numbers are parsed by src/lab/options.ts (decimal digits
    // only; yargs would take "1e2", "0x10" and "" as numbers).
    // JSON mode comes from the parsed options (--json, --json=true, --no-json…), before validation
    // so that a usage error is a JSON document too.
    .middleware((a) => {
      jsonMode = a.json === true || (a._[0] === 'docker-env' && a.output === 'json');
    }, true)
    .fail((msg, err) => {
      // A whole-number option's own error (src/lab/options.ts) reaches here re-thrown by yargs as a YError.
      if (err?.name === 'YError') throw new UsageError(err.message, { hint: 'see `cclab <command> --help`' });
      if (err) throw err;
      throw new UsageError(msg, { hint: 'see `cclab --help` or `cclab <command> --help`' });
    })
    .command(
      'render [architecture]',
      'Write a lab’s Vagrantfile and one cloud-config per machine (never runs Vagrant)',
      (y) =>
        labOptions(y, table, 'render')
          .positional('architecture', { choices: table.ARCHITECTURES, describe: 'laptop | small | dev | production' })
          .option('out', { type: 'string', describe: 'Output directory (default ./<name>)' })
          .option('target', {
            choices: ['vagrant', 'bare-metal', 'matchbox'] as const,
            default: 'vagrant' as const,
            describe: 'bare-metal: one config per machine with its static network, no Vagrantfile; matchbox: a matchbox data directory',
          })
          .option('matchbox-url', { type: 'string', describe: 'matchbox’s HTTP endpoint as the machines reach it (--target matchbox)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the plan as one JSON document' })
          .example('$0 render dev --workers 3 --out /tmp/lab', 'a Vagrantfile and four user-data files')
          .example('$0 render production --target bare-metal --subnet 10.0.0.0/24 --dns 10.0.0.2', 'Ignition configs for real machines')
          .example('$0 render dev --target matchbox --macs macs.txt --matchbox-url http://matchbox:8080', 'a matchbox data directory'),
      async (a) => {
        const { run } = await import('./commands/render.js');
        await run({ ...labInput(a, table), out: a.out, target: a.target, matchboxUrl: a['matchbox-url'], json: a.json, flagArgs: table.labFlagArgs(a) }, ctx);
      },
    )
    .command(
      'validate <files..>',
      'Check cloud-config files by coreos-cloudinit’s rules (and Flatcar’s: hyphenated keys are ignored), and Ignition configs (.ign) by spec 3.3.0',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, demandOption: true })
          .option('os', { choices: table.OSES, default: 'flatcar' as const, describe: 'Rules of this OS' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the diagnostics of every file as one JSON document' })
          .option('with-ignition-validate', { type: 'boolean', default: false, describe: 'Also run ignition-validate (Debian package ignition) on Ignition files' }),
      async (a) => {
        const { run } = await import('./commands/validate.js');
        await run({ files: a.files as string[], os: a.os, json: a.json, withIgnitionValidate: a['with-ignition-validate'] }, ctx);
      },
    )
    .command(
      'up [target]',
      'Create (or resume) a lab, boot it with Vagrant, and check etcd, fleet and Docker',
      (y) =>
        labOptions(y, table, 'up')
          .positional('target', { type: 'string', describe: 'an architecture (laptop | small | dev | production) or an existing lab to resume' })
          .option('parallel', { ...table.integerFlag('parallel', 'Machines booted at once after the first (VirtualBox, Parallels)', { min: 1 }), default: 3 })
          .option('wait', { type: 'boolean', default: true, describe: 'Run the health checks after boot (--no-wait skips them)' })
          .option('timeout', { type: 'string', describe: 'How long the health checks may take to pass (default 5m)' })
          .option('recreate', { type: 'boolean', default: false, describe: 'Destroy and rebuild a lab whose options changed' })
          .option('download', { type: 'boolean', default: true, describe: 'Add a missing Flatcar libvirt box first, as `cclab box add` (--no-download refuses instead)' })
          .option('verbose', { type: 'boolean', default: false, alias: 'v', describe: 'Show all of Vagrant’s output' })
          .option('timings', { type: 'boolean', default: false, describe: 'Show where the time went: Vagrant’s phases per machine, each service healthy, cclab’s own share (always in --json)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the result as one JSON document' })
          .example('$0 up dev --workers 3', 'one etcd server and three workers')
          .example('$0 up laptop && eval $(cclab docker-env)', 'a Docker VM for the local docker CLI')
          .example('$0 up dev', 'run again: resumes the lab, boots what is not running'),
      async (a) => {
        const { run } = await import('./commands/up.js');
        await run(
          {
            ...labInput(a, table),
            target: a.target,
            recreate: a.recreate,
            download: a.download,
            parallel: a.parallel,
            wait: a.wait,
            timeoutMs: await timeoutMs(a.timeout, 300_000),
            verbose: a.verbose,
            json: a.json,
            timings: a.timings,
            labOptionsGiven: table.LAB_FLAG_NAMES.some((k) => a[k] !== undefined),
          },
          ctx,
        );
      },
    )
    .command(
      'down [name]',
      'Destroy a lab’s machines and remove the lab',
      (y) =>
        y
          .positional('name', { type: 'string' })
          .option('all', { type: 'boolean', default: false, describe: 'Every lab' })
          .option('keep-files', { type: 'boolean', default: false, describe: 'Keep the lab directory (Vagrantfile, user-data, manifest)' }),
      async (a) => {
        const { down } = await import('./commands/down.js');
        await down({ name: a.name, all: a.all, keepFiles: a['keep-files'] }, ctx);
      },
    )
    .command(
      'halt [name]',
      'Stop a lab’s machines (resume with `cclab up NAME`)',
      (y) => y.positional('name', { type: 'string' }),
      async (a) => {
        const { halt } = await import('./commands/down.js');
        await halt({ name: a.name }, ctx);
      },
    )
    .command(
      'kill <name> <machines..>',
      'Pull the plug on machines of a lab: a hard power-off, no clean shutdown (`cclab up NAME` brings them back)',
      (y) => y.positional('name', { type: 'string', demandOption: true }).positional('machines', { type: 'string', array: true, demandOption: true }),
      async (a) => {
        const { kill } = await import('./commands/experiments.js');
        await kill({ name: a.name, machines: a.machines.map(String) }, ctx);
      },
    )
    .command(
      'snapshot <name> <action> [snapshot]',
      'Save, restore, list or delete a snapshot of every machine of a lab at once',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .positional('action', { type: 'string', choices: ['save', 'restore', 'list', 'delete'] as const, demandOption: true })
          .positional('snapshot', { type: 'string', describe: 'The snapshot (save, restore, delete)' })
          .option('timeout', { type: 'string', describe: 'After a restore, how long the health check may take (default 2m)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the result as one JSON document' }),
      async (a) => {
        const { snapshot } = await import('./commands/experiments.js');
        await snapshot({ name: a.name, action: a.action, snapshot: a.snapshot, json: a.json, timeoutMs: await timeoutMs(a.timeout, 120_000) }, ctx);
      },
    )
    .command(
      'status [name]',
      'Machines, their Vagrant state, addresses, roles, the Docker endpoint and health',
      (y) =>
        y
          .positional('name', { type: 'string' })
          .option('health', { type: 'boolean', default: true, describe: 'Check health (--no-health skips it)' })
          .option('timeout', { type: 'string', describe: 'Health check deadline (default 10s)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the lab, its machines and health as one JSON document' }),
      async (a) => {
        const { status } = await import('./commands/status.js');
        await status({ name: a.name, json: a.json, health: a.health, timeoutMs: await timeoutMs(a.timeout, 10_000) }, ctx);
      },
    )
    .command(
      ['ls', 'list'],
      'List labs',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'Print the labs as one JSON document' }),
      async (a) => {
        const { ls } = await import('./commands/status.js');
        await ls({ json: a.json }, ctx);
      },
    )
    .command(
      'check [name]',
      'Health of a lab, or of any cluster with --endpoints',
      (y) =>
        y
          .positional('name', { type: 'string', describe: 'A lab (default: the only lab)' })
          .option('endpoints', { type: 'string', array: true, describe: 'etcd client URLs (comma-separated or repeated) of any cluster' })
          .option('expect-members', table.integerFlag('expect-members', 'etcd members the cluster must have', { min: 1 }))
          .option('expect-fleet', table.integerFlag('expect-fleet', 'fleet machines that must be registered'))
          .option('fleet-metadata', { type: 'string', array: true, describe: 'k=v every fleet machine must carry' })
          .option('docker-host', { type: 'string', describe: 'tcp://HOST:PORT of a Docker API to check' })
          .option('timeout', { type: 'string', describe: 'How long to wait for a healthy result (default 10s)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the health report as one JSON document' }),
      async (a) => {
        // --endpoints or --docker-host: any cluster or Docker API. Otherwise a lab, whose checks
        // expect its own machines: options of the other mode are refused, never ignored.
        if (a.endpoints !== undefined || a['docker-host'] !== undefined) {
          if (a.name) throw new UsageError(`give a lab name or ${a.endpoints !== undefined ? '--endpoints' : '--docker-host'}, not both`);
          const { run } = await import('./commands/check.js');
          await run(
            {
              endpoints: a.endpoints,
              expectMembers: a['expect-members'],
              expectFleet: a['expect-fleet'],
              fleetMetadata: a['fleet-metadata'],
              dockerHost: a['docker-host'],
              json: a.json,
              timeout: a.timeout,
            },
            ctx,
          );
          return;
        }
        const notForLabs = (['expect-members', 'expect-fleet', 'fleet-metadata'] as const).filter((k) => a[k] !== undefined).map((k) => `--${k}`);
        if (notForLabs.length > 0) {
          throw new UsageError(`${notForLabs.join(', ')} ${notForLabs.length === 1 ? 'applies' : 'apply'} only with --endpoints: a lab's checks expect its own machines`, {
            hint: `check the lab with \`cclab check${a.name ? ` ${a.name}` : ''}\`, or any cluster with \`cclab check --endpoints URL[,URL…] ${notForLabs.join(' …')} …\``,
          });
        }
        const { checkNamedLab } = await import('./commands/check-lab.js');
        await checkNamedLab({ name: a.name, json: a.json, timeoutMs: await timeoutMs(a.timeout, 10_000) }, ctx);
      },
    )
    .command(
      'ssh [name] [machine]',
      'SSH to a lab machine, or run a command there: cclab ssh dev etcd-01 -- systemctl status etcd-member',
      (y) => y.positional('name', { type: 'string' }).positional('machine', { type: 'string' }),
      async (a) => {
        const { ssh } = await import('./commands/ssh.js');
        commandExit = await ssh({ name: a.name, machine: a.machine, command: ((a['--'] as string[] | undefined) ?? []).map(String) }, ctx);
      },
    )
    .command(
      'ssh-config [name]',
      'OpenSSH config for the lab’s machines (Host <lab>-<machine>)',
      (y) => y.positional('name', { type: 'string' }),
      async (a) => {
        const { sshConfig } = await import('./commands/ssh.js');
        await sshConfig({ name: a.name }, ctx);
      },
    )
    .command(
      'logs <name> <machine> [unit]',
      'Journal of a machine: etcd, fleet, docker, cloud-init or any unit (whole boot without one)',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .positional('machine', { type: 'string', demandOption: true })
          .positional('unit', { type: 'string' })
          .option('lines', { ...table.integerFlag('lines', 'Show this many of the last journal lines'), alias: 'n', default: 200 })
          .option('follow', { type: 'boolean', alias: 'f', default: false, describe: 'Keep printing new journal lines until Ctrl-C' }),
      async (a) => {
        const { logs } = await import('./commands/ssh.js');
        commandExit = await logs({ name: a.name, machine: a.machine, unit: a.unit, lines: a.lines, follow: a.follow }, ctx);
      },
    )
    .command(
      'docker-env [name]',
      'Shell lines that point the docker CLI at a lab (eval $(cclab docker-env))',
      (y) =>
        y
          .positional('name', { type: 'string' })
          .option('shell', {
            type: 'string',
            describe: 'bash, zsh, fish, tcsh, powershell, cmd, or none (bare KEY=value lines); any other name gets POSIX lines. Default: from $SHELL',
          })
          .option('unset', { type: 'boolean', alias: 'u', default: false, describe: 'Lines that undo it' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the variables as one JSON document' })
          .option('output', { alias: 'o', choices: ['json'], describe: 'json: the same as --json (minikube’s -o json)' })
          .option('ssh', { type: 'boolean', default: false, describe: 'DOCKER_HOST=ssh://… through the machine’s forwarded SSH port (no Docker port needed)' }),
      async (a) => {
        const opts = { name: a.name, shell: a.shell, unset: a.unset, json: a.json || a.output === 'json' };
        if (a.ssh) {
          if (a.unset) throw new UsageError('--ssh and --unset: --unset alone clears what --ssh set');
          await (await import('./commands/docker-env-ssh.js')).runSsh(opts, ctx);
        } else await (await import('./commands/docker-env.js')).run(opts, ctx);
      },
    )
    .command(
      'env [name]',
      'Shell lines that point the host’s etcdctl and fleetctl at a lab (eval $(cclab env dev))',
      (y) =>
        y
          .positional('name', { type: 'string' })
          .option('shell', { type: 'string', describe: 'bash, zsh, fish, tcsh, powershell, cmd, or none; default: from $SHELL' })
          .option('unset', { type: 'boolean', alias: 'u', default: false, describe: 'Lines that undo it' })
          .option('tunnel', { type: 'boolean', default: false, describe: 'FLEETCTL_TUNNEL through a fleet machine’s SSH (fleetctl status and journal)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the variables as one JSON document' }),
      async (a) => {
        if (a.tunnel && a.unset) throw new UsageError('--tunnel and --unset: --unset alone clears what --tunnel set');
        const { env } = await import('./commands/cluster-tools.js');
        await env({ name: a.name, shell: a.shell, unset: a.unset, json: a.json, tunnel: a.tunnel }, ctx);
      },
    )
    .command(
      'etcdctl <name> [machine]',
      'etcdctl on a lab machine, with the lab’s endpoints: cclab etcdctl dev -- member list',
      (y) => y.positional('name', { type: 'string', demandOption: true }).positional('machine', { type: 'string', describe: 'Where to run it (default: the first member)' }),
      async (a) => {
        const { etcdctl } = await import('./commands/cluster-tools.js');
        commandExit = await etcdctl({ name: a.name, machine: a.machine, args: ((a['--'] as string[] | undefined) ?? []).map(String) }, ctx);
      },
    )
    .command(
      'fleetctl <name> [machine]',
      'fleetctl on a lab machine (etcd driver); unit files named on the host are uploaded: cclab fleetctl dev -- start ./web.service',
      (y) => y.positional('name', { type: 'string', demandOption: true }).positional('machine', { type: 'string', describe: 'Where to run it (default: the first fleet machine)' }),
      async (a) => {
        const { fleetctl } = await import('./commands/cluster-tools.js');
        commandExit = await fleetctl({ name: a.name, machine: a.machine, args: ((a['--'] as string[] | undefined) ?? []).map(String) }, ctx);
      },
    )
    .command(
      'docker-context [name]',
      'Create or update the docker context cclab-NAME for a lab (--unset removes it)',
      (y) =>
        y
          .positional('name', { type: 'string' })
          .option('unset', { type: 'boolean', alias: 'u', default: false, describe: 'Remove the context' })
          .option('json', { type: 'boolean', default: false, describe: 'Print what was done as one JSON document' }),
      async (a) => {
        const { run } = await import('./commands/docker-context.js');
        await run({ name: a.name, unset: a.unset, json: a.json }, ctx);
      },
    )
    .command(
      'box',
      'Vagrant boxes: `cclab box add` makes Flatcar’s QEMU image a vagrant-libvirt box',
      (y) =>
        y
          .command(
            'add',
            'Download Flatcar’s QEMU image (cached, resumable, verified) and add it as the vagrant-libvirt box flatcar-<channel>, versioned',
            (y) =>
              y
                // --version is the box's: yargs' own --version (cclab's) is off here.
                .version(false)
                .option('os', { choices: ['flatcar'] as const, default: 'flatcar' as const, describe: 'Guest OS of the box (Flatcar only)' })
                .option('channel', { choices: CHANNELS.flatcar, default: 'stable', describe: 'Release channel; the box is named flatcar-<channel>' })
                .option('version', { type: 'string', describe: 'Flatcar release (e.g. 4230.2.3) or current (default); with --image: the box version (default: derived from the image)' })
                .option('provider', { choices: ['libvirt'] as const, default: 'libvirt' as const, describe: 'Vagrant provider of the box (libvirt only)' })
                .option('image', { type: 'string', describe: 'A local qcow2 or .bz2 file, or an http(s) URL of one, instead of the release server (offline hosts, own builds)' })
                .option('digests', { type: 'string', describe: 'DIGESTS file or URL to verify an --image against (default for a URL: <URL>.DIGESTS when the server has it)' })
                .option('release-url', { type: 'string', describe: 'Release server directory to use instead of https://<channel>.release.flatcar-linux.net/amd64-usr/ (a mirror)' })
                .option('keyring', { type: 'string', describe: 'Also verify the image’s detached signature (<image>.sig) with gpgv and this keyring (Flatcar’s image signing key)' })
                .option('force', { type: 'boolean', default: false, describe: 'Add the box again even if this version is installed (replaces it)' })
                .option('json', { type: 'boolean', default: false, describe: 'Print the result (name, provider, version, image, sha512, verified, bytes, seconds) as one JSON document' })
                .example('$0 box add', 'the current stable release as box flatcar-stable')
                .example('$0 box add --channel beta --version 4344.1.0', 'a given beta release')
                .example('$0 box add --image ./flatcar_production_qemu_image.img --version 4230.2.3', 'an image downloaded elsewhere (offline hosts)'),
            async (a) => {
              const { add } = await import('./commands/box.js');
              await add(
                {
                  os: a.os,
                  channel: a.channel,
                  version: a.version,
                  provider: a.provider,
                  image: a.image,
                  digests: a.digests,
                  releaseUrl: a['release-url'],
                  keyring: a.keyring,
                  force: a.force,
                  json: a.json,
                },
                ctx,
              );
            },
          )
          .demandCommand(1, 'name a box command: cclab box add'),
      () => undefined,
    )
    .command(
      'doctor [architecture]',
      'Check that this host can run a lab (Vagrant, provider, subnet, ports, box), each with a fix',
      (y) =>
        labOptions(y, table, 'doctor')
          .positional('architecture', { choices: table.ARCHITECTURES, describe: 'Check for this architecture (default laptop)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print every check as one JSON document' })
          .option('fix', {
            type: 'boolean',
            default: false,
            describe: 'Print the commands that fix what this host lacks (Debian, Ubuntu, Fedora: packages, libvirtd, the libvirt group, VirtualBox networks), then run them after a yes',
          })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'With --fix: run the commands without asking' })
          .check((a) => {
            if (a.yes && !a.fix) throw new UsageError('--yes goes with --fix (it answers --fix’s question)');
            return true;
          }),
      async (a) => {
        const { run } = await import('./commands/doctor.js');
        await run({ ...labInput(a, table), json: a.json, fix: a.fix, yes: a.yes }, ctx);
      },
    );
  await cli.parseAsync();
}

const code = await main(process.argv.slice(2));
if (stopSignal !== undefined) {
  // Work may still be pending (a read from a FIFO blocks a thread until a writer comes): exit
  // once what was printed has been handed to the streams.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
} else {
  process.exitCode = code;
}
