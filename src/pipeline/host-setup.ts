/**
 * The host side of `cclab doctor --fix`: the facts its plan is made from (src/pipeline/host-fix.ts)
 * — /etc/os-release, root or sudo, systemd, which packages are installed, how libvirt answers, the
 * user's groups — and running the plan's commands, their output streamed to stderr.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { CommandError } from '../errors.js';
import { quoteCommand } from '../vagrant/quote.js';
import { familyOf, type HostSetupFacts, type LibvirtState, type OsRelease } from './host-fix.js';

/** Parses /etc/os-release (KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): OsRelease | undefined {
  const v: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!;
    const q = /^(["'])(.*)\1$/.exec(value);
    if (q) value = q[2]!.replace(/\\(["$`\\])/g, '$1');
    v[m[1]!] = value;
  }
  if (!v.ID) return undefined;
  return { id: v.ID.toLowerCase(), idLike: (v.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean), name: v.PRETTY_NAME ?? v.NAME ?? v.ID };
}

/** What `virsh -c URI version` failing says about libvirt. */
export function libvirtStateOf(result: { ok: true } | { ok: false; notFound: boolean; output: string }): LibvirtState {
  if (result.ok) return 'answers';
  if (result.notFound) return 'absent';
  return /permission denied|authentication (failed|unavailable)|access denied/i.test(result.output) ? 'denied' : 'not-running';
}

export interface HostFactsOptions {
  env: Record<string, string | undefined>;
  /** Where os-release is read from (tests: a file of their own). */
  osReleasePath?: string;
}

async function ran(argv: string[], env: Record<string, string | undefined>): Promise<{ ok: true; stdout: string } | { ok: false; notFound: boolean; output: string }> {
  const r = await execa(argv[0]!, argv.slice(1), { env, extendEnv: false, reject: false, all: true, stdin: 'ignore', timeout: 30_000 });
  if (r.exitCode === 0) return { ok: true, stdout: String(r.stdout) };
  return { ok: false, notFound: (r as { code?: string }).code === 'ENOENT', output: String(r.all ?? r.message ?? '') };
}

export async function realHostFacts(opts: HostFactsOptions): Promise<HostSetupFacts> {
  const { env } = opts;
  const text = await readFile(opts.osReleasePath ?? '/etc/os-release', 'utf8').catch(() => readFile('/usr/lib/os-release', 'utf8').catch(() => ''));
  const os = parseOsRelease(text);
  const family = familyOf(os);
  const root = process.getuid?.() === 0;
  const packages: Record<string, boolean> = {};
  if (family) {
    const names = family.libvirtPackages(process.arch);
    const answers = await Promise.all(names.map((p) => ran(family.query(p), env)));
    names.forEach((p, i) => {
      const a = answers[i]!;
      // dpkg-query prints the status ("install ok installed"); rpm -q --quiet only exits 0.
      packages[p] = a.ok && (a.stdout === '' || /^(install|hold) ok installed$/.test(a.stdout.trim()));
    });
  }
  const uri = env.LIBVIRT_DEFAULT_URI ?? 'qemu:///system';
  const [virsh, sudo] = await Promise.all([ran(['virsh', '-c', uri, 'version'], env), ran(['sh', '-c', 'command -v sudo'], env)]);
  const name = root ? env.SUDO_USER : (env.USER ?? env.LOGNAME);
  let user: HostSetupFacts['user'];
  if (name !== undefined && name !== '' && name !== 'root') {
    const groups = await ran(['id', '-nG', name], env);
    user = { name, inLibvirtGroup: groups.ok && groups.stdout.split(/\s+/).includes('libvirt') };
  }
  return {
    platform: process.platform,
    arch: process.arch,
    os,
    root,
    sudo: sudo.ok,
    systemd: existsSync('/run/systemd/system'),
    packages,
    libvirt: libvirtStateOf(virsh.ok ? { ok: true } : virsh),
    user,
  };
}

/** Runs one command of the plan; rejects with a CommandError naming it and the tail of its output. */
export type StepRunner = (argv: string[]) => Promise<void>;

/**
 * The real runner: the command's output goes to stderr as it comes (apt's progress is the user's to
 * see), stdin stays the terminal's (sudo asks for a password there), and Ctrl-C stops it.
 */
export function realStepRunner(opts: { env: Record<string, string | undefined>; signal: AbortSignal; err: (text: string) => void }): StepRunner {
  return async (argv) => {
    const child = execa(argv[0]!, argv.slice(1), {
      env: opts.env,
      extendEnv: false,
      stdin: 'inherit',
      all: true,
      reject: false,
      cancelSignal: opts.signal,
      encoding: 'utf8',
    });
    child.all?.on('data', (chunk: Buffer | string) => opts.err(String(chunk)));
    const r = await child;
    if (r.exitCode === 0) return;
    const how = r.exitCode === undefined ? (r.signal ? `was stopped by ${r.signal}` : `could not start (${(r as { code?: string }).code ?? r.shortMessage})`) : `exited with ${r.exitCode}`;
    throw new CommandError(
      `\`${quoteCommand(argv)}\` ${how}`,
      { command: argv, exitStatus: r.exitCode, output: String(r.all ?? '') },
      { hint: 'nothing after it ran; fix what its output says, then run `cclab doctor --fix` again (it plans only what is still missing)' },
    );
  };
}
