/**
 * What the `cclab box add` tests share: real qcow2 images (qemu-img) and their .bz2 (bzip2), DIGESTS
 * in Flatcar's format, a stand-in Vagrant that installs a box from a catalog the way Vagrant does
 * (checks the box file's checksum, unpacks it with tar into VAGRANT_HOME/boxes/NAME/VERSION/PROVIDER),
 * and BoxAddDeps over temporary directories.
 *
 * The tools are real. Without one the tests skip — except under CI=true, where they must run.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeBytes } from '../../src/box/cache.js';
import type { BoxAddDeps } from '../../src/box/add.js';
import { realTools } from '../../src/box/tools.js';
import { memoryIo } from '../../src/context.js';
import { CommandError } from '../../src/errors.js';
import type { BoxAddOptions as DriverBoxAddOptions, InstalledBox } from '../../src/vagrant/driver.js';

interface TestLike {
  teardown(fn: () => unknown): void;
}

/** false when every tool runs; else why the test skips (never under CI: there it fails). */
export function missingTools(...tools: [string, string[]][]): string | false {
  for (const [bin, args] of tools) {
    try {
      execFileSync(bin, args, { stdio: 'ignore', env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
    } catch {
      return process.env.CI === 'true' ? false : `${bin} is not installed`;
    }
  }
  return false;
}

export const QEMU_IMG: [string, string[]] = ['qemu-img', ['--version']];
export const BZIP2: [string, string[]] = ['bzip2', ['--help']];

export function tempDir(t: TestLike, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A qcow2 made by `qemu-img create -f qcow2 FILE SIZE`. */
export function qcow2(dir: string, name = 'flatcar_production_qemu_image.img', size = '64M'): string {
  const file = path.join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, size]);
  return file;
}

/** FILE.bz2 beside FILE (kept). */
export function bzip2(file: string): string {
  execFileSync('bzip2', ['-k', '-f', file]);
  return `${file}.bz2`;
}

export const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');

/** A DIGESTS file as Flatcar publishes it: MD5, SHA1 and SHA512 sections. */
export function digests(name: string, data: Buffer, opts: { sha512?: string } = {}): string {
  const h = (algo: string) => createHash(algo).update(data).digest('hex');
  return [`# MD5 HASH`, `${h('md5')}  ${name}`, `# SHA1 HASH`, `${h('sha1')}  ${name}`, `# SHA512 HASH`, `${opts.sha512 ?? h('sha512')}  ${name}`, ''].join('\n');
}

export interface FakeVagrant {
  boxList(): Promise<InstalledBox[]>;
  boxAdd(catalog: string, opts: DriverBoxAddOptions): Promise<void>;
  /** Every box add: the catalog as parsed, the options, and the tar's listing. */
  adds: { catalog: any; opts: DriverBoxAddOptions; entries: string[] }[];
  /** The next box add fails like Vagrant (CommandError), after Vagrant would have copied the box. */
  failNext: boolean;
}

/** Vagrant's box add and list over VAGRANT_HOME, without Vagrant (tar and the checksum are real). */
export function fakeVagrant(vagrantHome: string): FakeVagrant {
  const boxes: InstalledBox[] = [];
  const self: FakeVagrant = {
    adds: [],
    failNext: false,
    async boxList() {
      return boxes.map((b) => ({ ...b }));
    },
    async boxAdd(catalogPath, opts) {
      const catalog = JSON.parse(fs.readFileSync(catalogPath, 'utf8'));
      const version = catalog.versions.find((v: any) => v.version === opts.version) ?? catalog.versions[0];
      const provider = version.providers.find((p: any) => p.name === opts.provider);
      const boxFile = new URL(provider.url).pathname;
      const entries = execFileSync('tar', ['-tf', boxFile], { encoding: 'utf8' }).trim().split('\n');
      self.adds.push({ catalog, opts, entries });
      if (createHash('sha512').update(fs.readFileSync(boxFile)).digest('hex') !== provider.checksum) throw new Error('box checksum mismatch');
      if (self.failNext) {
        self.failNext = false;
        throw new CommandError('vagrant box add failed (exit 1)', { command: ['vagrant', 'box', 'add', catalogPath], exitStatus: 1, output: 'The box failed to unpack properly.' });
      }
      const have = boxes.findIndex((b) => b.name === catalog.name && b.version === version.version && b.provider === opts.provider);
      if (have >= 0 && !opts.force) throw new CommandError('vagrant box add failed (exit 1)', { command: ['vagrant', 'box', 'add'], exitStatus: 1, output: 'The box you are attempting to add already exists' });
      const dir = path.join(vagrantHome, 'boxes', catalog.name, version.version, opts.provider);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      execFileSync('tar', ['-xf', boxFile, '-C', dir]);
      if (have < 0) boxes.push({ name: catalog.name, provider: opts.provider, version: version.version });
    },
  };
  return self;
}

export interface BoxTestDeps extends BoxAddDeps {
  io: ReturnType<typeof memoryIo>;
  vagrant: FakeVagrant;
  controller: AbortController;
  cwd: string;
}

/** BoxAddDeps over temporary directories, with the fake Vagrant and the real bzip2 and gpgv. */
export function boxDeps(t: TestLike, overrides: Partial<BoxAddDeps> = {}): BoxTestDeps {
  const root = tempDir(t, 'cclab-box-');
  const vagrantHome = path.join(root, 'vagrant-home');
  const controller = new AbortController();
  return {
    vagrant: fakeVagrant(vagrantHome),
    tools: realTools(process.env, root),
    freeBytes,
    cacheRoot: path.join(root, 'cache'),
    vagrantHome,
    io: memoryIo(),
    signal: controller.signal,
    controller,
    cwd: root,
    idleTimeoutMs: 5_000,
    ...overrides,
  } as BoxTestDeps;
}

/** Files under `dir`, relative, sorted (for "what is left in the cache"). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
