/**
 * Shared helpers for the lab and rendering tests: resolve the built-in labs, render them into a
 * directory, read cloud-configs back, and hand generated files to the real tools of this machine
 * (ruby, vagrant, systemd-analyze).
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { loadBuiltinLab } from '../../src/lab/load.js';
import { resolveLab, type LabOverrides, type ResolveInput, type Resolved } from '../../src/lab/resolve.js';
import type { Architecture, Lab, OsName } from '../../src/lab/types.js';
import { dockerTlsMachines, planLab, type RenderPlan } from '../../src/render/plan.js';
import type { DockerTlsMaterial } from '../../src/render/docker-tls.js';
import type { Target } from '../../src/render/cloudconfig.js';
import type { IgnitionConfig } from '../../src/render/ignition.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const ARCHS: readonly Architecture[] = ['laptop', 'small', 'dev', 'production'];
export const OSES: readonly OsName[] = ['flatcar', 'coreos'];
/** Every architecture × OS, as rendered with default options. */
export const COMBOS: readonly { arch: Architecture; os: OsName }[] = ARCHS.flatMap((arch) => OSES.map((os) => ({ arch, os })));

/** The built-in lab file of an architecture, resolved with `overrides` (and anything else of ResolveInput). */
export async function resolveBuiltin(
  arch: Architecture,
  overrides: LabOverrides = {},
  extra: Omit<Partial<ResolveInput>, 'document' | 'overrides'> = {},
): Promise<Resolved> {
  const loaded = await loadBuiltinLab(arch);
  return resolveLab({ document: loaded.document, source: loaded.source, overrides, ...extra });
}

export async function builtinLab(arch: Architecture, overrides: LabOverrides = {}): Promise<Lab> {
  return (await resolveBuiltin(arch, overrides)).lab;
}

export const TEST_VERSION = '0.0.0-test';

/** The public half of a lab key made by ssh-keygen for these tests (what `up` and `render` would make). */
export const TEST_LAB_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEUdU7QJvYg+pGclw5oIsHYFs6LQz1j3RLbWgECQ83x cclab lab test';

/**
 * Stand-in Docker TLS material for rendering tests (fixed text, so snapshots are stable; rendering
 * does not read it): every Docker machine of `lab` gets a server pair. Tests that talk TLS make
 * real certificates (src/home/docker-certs.ts).
 */
export function testDockerTls(lab: Lab): DockerTlsMaterial {
  const pem = (what: string, body: string) => `-----BEGIN ${what}-----\n${body}\n-----END ${what}-----\n`;
  const servers: DockerTlsMaterial['servers'] = {};
  for (const { machine } of dockerTlsMachines(lab)) {
    servers[machine] = { cert: pem('CERTIFICATE', `TEST-SERVER-CERT-${machine}`), key: pem('RSA PRIVATE KEY', `TEST-SERVER-KEY-${machine}`) };
  }
  return { ca: pem('CERTIFICATE', 'TEST-CA'), client: { cert: pem('CERTIFICATE', 'TEST-CLIENT'), key: pem('RSA PRIVATE KEY', 'TEST-CLIENT-KEY') }, servers };
}

export function plan(lab: Lab, target: Target = 'vagrant', matchboxUrl?: string): RenderPlan {
  return planLab(lab, {
    target,
    version: TEST_VERSION,
    matchboxUrl,
    readFleetd: (path) => readFileSync(path),
    labPublicKey: TEST_LAB_KEY,
    dockerTls: testDockerTls(lab),
  });
}

/* ---------------------------------------------------------------- Ignition read back */

/** An Ignition config as Ignition reads it (strict JSON). */
export function parseIgnition(text: string): IgnitionConfig {
  return JSON.parse(text) as IgnitionConfig;
}

/** The bytes of an RFC 2397 data URL, decoded the way Ignition does (base64 or percent-encoding). */
export function decodeDataUrl(url: string): string {
  const m = /^data:([^,]*),(.*)$/s.exec(url);
  if (!m) throw new Error(`not a data URL: ${url.slice(0, 40)}`);
  const data = decodeURIComponent(m[2]!);
  return m[1]!.split(';').at(-1) === 'base64' ? Buffer.from(data, 'base64').toString('utf8') : data;
}

/** An Ignition config's files as path → { mode, contents }. */
export function ignitionFiles(ign: IgnitionConfig): Map<string, { mode: number; contents: string }> {
  return new Map(ign.storage.files.map((f) => [f.path, { mode: f.mode, contents: decodeDataUrl(f.contents.source) }]));
}

export function ignitionUnitsOf(ign: IgnitionConfig): UnitFile[] {
  return ign.systemd.units.map((u) => ({ name: u.name, content: u.contents, dropIns: (u.dropins ?? []).map((d) => ({ name: d.name, content: d.contents })) }));
}

/** Writes every planned file under `dir` (what `cclab render` does, without its output). */
export async function writePlan(dir: string, p: RenderPlan): Promise<void> {
  for (const f of p.files) {
    const path = join(dir, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.content);
  }
}

export function fileOf(p: RenderPlan, path: string): string {
  const f = p.files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} in the plan (${p.files.map((x) => x.path).join(', ')})`);
  return f.content;
}

export function vagrantfileOf(p: RenderPlan): string {
  return fileOf(p, 'Vagrantfile');
}

export function userDataOf(p: RenderPlan, machine: string): string {
  return fileOf(p, `user-data/${machine}.yaml`);
}

/* ---------------------------------------------------------------- cloud-configs read back */

export interface ParsedUnit {
  name: string;
  content?: string;
  enable?: boolean;
  runtime?: boolean;
  command?: string;
  drop_ins?: { name: string; content: string }[];
}

export interface ParsedCloudConfig {
  hostname?: string;
  ssh_authorized_keys?: string[];
  write_files?: { path: string; permissions: string; owner: string; content: string }[];
  coreos: {
    etcd2?: Record<string, unknown>;
    fleet?: Record<string, unknown>;
    update?: Record<string, unknown>;
    locksmith?: Record<string, unknown>;
    units: ParsedUnit[];
  };
}

/**
 * A cloud-config as coreos-cloudinit's YAML 1.1 reader sees it (`on`, `yes`, `0644` unquoted would
 * not be strings). Throws unless the first line is exactly `#cloud-config`.
 */
export function parseCloudConfig(text: string): ParsedCloudConfig {
  const first = text.split('\n', 1)[0];
  if (first !== '#cloud-config') throw new Error(`first line is ${JSON.stringify(first)}, not #cloud-config`);
  return parseYaml(text, { version: '1.1', uniqueKeys: true, strict: true }) as ParsedCloudConfig;
}

export function unit(cc: ParsedCloudConfig, name: string): ParsedUnit | undefined {
  return cc.coreos.units.find((u) => u.name === name);
}

/** Every mapping key in a parsed YAML tree, with its path (for the "no hyphenated keys" rule). */
export function mappingKeys(node: unknown, path = ''): { key: string; path: string }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => mappingKeys(v, `${path}[${i}]`));
  if (node !== null && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]) => [{ key: k, path: `${path}.${k}` }, ...mappingKeys(v, `${path}.${k}`)]);
  }
  return [];
}

/**
 * The `Environment="K=V"` assignments of a systemd drop-in, unquoted the way systemd does it
 * (`\"` and `\\` inside quotes; `%%` is a literal percent).
 */
export function environmentOf(dropIn: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of dropIn.split('\n')) {
    const m = /^Environment="((?:[^"\\]|\\.)*)"$/.exec(line);
    if (!m) continue;
    const raw = m[1]!.replace(/\\(.)/g, '$1').replace(/%%/g, '%');
    const eq = raw.indexOf('=');
    env.set(raw.slice(0, eq), raw.slice(eq + 1));
  }
  return env;
}

/* ---------------------------------------------------------------- Vagrantfile structure */

/** The lines of the block that starts with `opener` (exact line, trimmed) up to its `end` at the same indent. */
export function block(text: string, opener: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === opener);
  if (start < 0) throw new Error(`no line ${JSON.stringify(opener)}`);
  const indent = /^\s*/.exec(lines[start]!)![0];
  const end = lines.findIndex((l, i) => i > start && l === `${indent}end`);
  if (end < 0) throw new Error(`no end for ${JSON.stringify(opener)}`);
  return lines.slice(start + 1, end).map((l) => l.trim());
}

/** The body lines (trimmed) of each `config.vm.define` block, by machine name, in file order. */
export function defineBlocks(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/^ {2}config\.vm\.define "([^"]+)" do \|m\|$/gm)) {
    out.set(m[1]!, block(text, m[0].trim()));
  }
  return out;
}

/* ---------------------------------------------------------------- real tools */

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`); never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error(`${cmd} is not installed`));
          if (error.killed) return reject(new Error(`${cmd} ${args.join(' ')} timed out:\n${stdout}\n${stderr}`));
        }
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/**
 * Why a test that needs `tool` cannot run here, or false when it can. When CI=true a missing tool is
 * not a reason to skip: the test runs and fails.
 */
export async function missingTool(tool: string, versionArg = '--version'): Promise<string | false> {
  try {
    await run(tool, [versionArg], { timeoutMs: 30_000 });
    return false;
  } catch {
    return process.env.CI === 'true' ? false : `${tool} is not installed`;
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, slot: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async (_, slot) => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, slot);
      }
    }),
  );
  return results;
}

/** Environment for a `vagrant` run that touches nothing outside `vagrantHome`. */
export function vagrantEnv(vagrantHome: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.VAGRANT_DEFAULT_PROVIDER;
  delete env.VAGRANT_CWD;
  delete env.VAGRANT_VAGRANTFILE;
  return {
    ...env,
    VAGRANT_HOME: vagrantHome,
    VAGRANT_CHECKPOINT_DISABLE: '1',
    VAGRANT_BOX_UPDATE_CHECK_DISABLE: '1',
    VAGRANT_NO_COLOR: '1',
    ...extra,
  };
}

/**
 * `vagrant validate` in `dir`: 'default' lets Vagrant pick its provider (libvirt on this machine);
 * 'virtualbox' asks for VirtualBox and ignores provider blocks (`-p`), which VirtualBox's absence
 * would otherwise fail.
 */
export function vagrantValidate(dir: string, mode: 'default' | 'virtualbox', vagrantHome: string): Promise<RunResult> {
  const env = vagrantEnv(vagrantHome, mode === 'virtualbox' ? { VAGRANT_DEFAULT_PROVIDER: 'virtualbox' } : {});
  return run('vagrant', mode === 'virtualbox' ? ['validate', '-p'] : ['validate'], { cwd: dir, env, timeoutMs: 120_000 });
}

/** Evaluates Ruby string literals in one real Ruby process; returns each value's UTF-8 bytes as hex. */
export async function rubyValues(literals: readonly string[]): Promise<RunResult & { hex: string[] }> {
  const script =
    'vals = [\n' +
    literals.map((l) => `  ${l},\n`).join('') +
    ']\nvals.each { |v| raise "not UTF-8: #{v.inspect}" unless v.encoding == Encoding::UTF_8 && v.valid_encoding?; puts v.unpack1("H*") }\n';
  // A file, not -e: one argument may not exceed 128 KiB.
  const dir = mkdtempSync(join(tmpdir(), 'cclab-ruby-'));
  try {
    const file = join(dir, 'values.rb');
    writeFileSync(file, script);
    const r = await run('ruby', [file], { timeoutMs: 60_000 });
    return { ...r, hex: r.stdout.split('\n').filter((l, i, all) => i < all.length - 1 || l !== '') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hexOf = (s: string) => Buffer.from(s, 'utf8').toString('hex');

/* ---------------------------------------------------------------- systemd units */

export interface UnitFile {
  name: string;
  content?: string | undefined;
  dropIns: { name: string; content: string }[];
}

/** Units that ship with the OS image and that cloud-configs only start or extend with drop-ins. */
const OS_UNITS: Record<string, string> = {
  'etcd-member.service':
    '[Unit]\nDescription=etcd (System Application Container)\nWants=network-online.target\nAfter=network-online.target\n\n' +
    '[Service]\nType=notify\nRestart=on-failure\nExecStart=/usr/lib/flatcar/etcd-wrapper $ETCD_OPTS\n\n[Install]\nWantedBy=multi-user.target\n',
  'etcd2.service':
    '[Unit]\nDescription=etcd2\n\n[Service]\nType=notify\nExecStart=/usr/bin/etcd2\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n',
  'fleet.service': '[Unit]\nDescription=fleet daemon\n\n[Service]\nExecStart=/usr/bin/fleetd\n\n[Install]\nWantedBy=multi-user.target\n',
  'docker.service':
    '[Unit]\nDescription=Docker Application Container Engine\nAfter=docker.socket\nRequires=docker.socket\n\n' +
    '[Service]\nType=notify\nExecStart=/usr/bin/dockerd --host=fd://\n\n[Install]\nWantedBy=multi-user.target\n',
  'docker.socket': '[Unit]\nDescription=Docker Socket for the API\n\n[Socket]\nListenStream=/run/docker.sock\nSocketMode=0660\n\n[Install]\nWantedBy=sockets.target\n',
  'locksmithd.service': '[Unit]\nDescription=Cluster reboot manager\n\n[Service]\nExecStart=/usr/lib/locksmith/locksmithd\n\n[Install]\nWantedBy=multi-user.target\n',
};

/** Stand-in executables for the binaries a unit names (they exist in the guest, not on this machine). */
const STAND_IN_BINARIES = [
  '/opt/bin/fleetd',
  '/opt/cclab/install-fleetd.sh',
  '/usr/lib/flatcar/etcd-wrapper',
  '/usr/bin/etcd2',
  '/usr/bin/fleetd',
  '/usr/bin/dockerd',
  '/usr/bin/systemctl',
  '/usr/lib/locksmith/locksmithd',
];

/**
 * A scratch root for `systemd-analyze verify --root`: this machine's own /usr/lib/systemd/system
 * (for the standard targets), stand-in unit files for the units the OS image ships, and stand-in
 * executables for the binaries units name. Prepare one per concurrent verify and reuse it.
 */
export function prepareVerifyRoot(root: string): string {
  const lib = join(root, 'usr/lib/systemd/system');
  mkdirSync(dirname(lib), { recursive: true });
  cpSync('/usr/lib/systemd/system', lib, { recursive: true, dereference: false, verbatimSymlinks: true });
  for (const [name, content] of Object.entries(OS_UNITS)) writeOver(join(lib, name), content);
  for (const bin of STAND_IN_BINARIES) {
    const path = join(root, bin);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '#!/bin/sh\nexit 0\n');
    chmodSync(path, 0o755);
  }
  return root;
}

/**
 * Every unit of `units` and its drop-ins checked by `systemd-analyze verify` inside a root made by
 * prepareVerifyRoot (its /etc/systemd/system is replaced by these units). Units with neither
 * content nor drop-ins (`etcd2.service` with only `command: start`) have nothing to verify and are
 * left out; so are .network files (systemd-networkd's, not units).
 */
export async function systemdVerify(root: string, units: readonly UnitFile[]): Promise<RunResult & { verified: string[] }> {
  const etc = join(root, 'etc/systemd/system');
  rmSync(etc, { recursive: true, force: true });
  mkdirSync(etc, { recursive: true });
  const verified: string[] = [];
  for (const u of units) {
    if (u.name.endsWith('.network')) continue;
    if (u.content === undefined && u.dropIns.length === 0) continue;
    if (u.content !== undefined) writeFileSync(join(etc, u.name), u.content);
    else if (OS_UNITS[u.name] === undefined) throw new Error(`drop-ins for ${u.name}, which has no stand-in unit file`);
    for (const d of u.dropIns) {
      mkdirSync(join(etc, `${u.name}.d`), { recursive: true });
      writeFileSync(join(etc, `${u.name}.d`, d.name), d.content);
    }
    verified.push(u.name);
  }
  if (verified.length === 0) return { code: 0, stdout: '', stderr: '', verified };
  const r = await run('systemd-analyze', ['verify', `--root=${root}`, '--man=no', ...verified], {
    env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: 'cat' },
    timeoutMs: 60_000,
  });
  return { ...r, verified };
}

/** Replaces a file that may be a symlink in the copied unit directory (never writes through it). */
function writeOver(path: string, content: string): void {
  rmSync(path, { force: true });
  writeFileSync(path, content);
}

export function unitsOf(cc: ParsedCloudConfig): UnitFile[] {
  return cc.coreos.units.map((u) => ({ name: u.name, content: u.content, dropIns: u.drop_ins ?? [] }));
}
