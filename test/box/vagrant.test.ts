/**
 * `cclab box add` end to end: the built CLI (`node bin/cclab.js`) against a release server on
 * 127.0.0.1, the real `vagrant box add` into a temporary VAGRANT_HOME (no libvirtd needed), then
 * `vagrant box list` and `vagrant validate` (which loads the box's own Vagrantfile with the
 * libvirt provider's settings) read what was added.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parseBoxList } from '../../src/vagrant/parse.js';
import { BZIP2, QEMU_IMG, bzip2, digests, missingTools, qcow2, sha512, tempDir } from '../helpers/box.js';
import { CLI, ensureBuilt } from '../helpers/cli.js';
import { releaseServer } from '../helpers/release-server.js';

const run = promisify(execFile);
const IMG = 'flatcar_production_qemu_image.img';
const V = '4230.2.3';
const skip = missingTools(QEMU_IMG, BZIP2, ['vagrant', ['--version']]);

t.before(async () => {
  if (!skip) await ensureBuilt();
});
// Each test has its own VAGRANT_HOME and cache.
t.jobs = 2;

interface Host {
  dir: string;
  env: Record<string, string>;
  vagrantHome: string;
  cache: string;
  cclab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  vagrant(args: string[], cwd?: string): Promise<string>;
}

function host(t: { teardown(fn: () => unknown): void }): Host {
  const dir = tempDir(t, 'cclab-box-e2e-');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    LANG: 'C.UTF-8',
    TMPDIR: process.env.TMPDIR ?? '/tmp',
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    VAGRANT_HOME: path.join(dir, 'vagrant-home'),
    VAGRANT_CHECKPOINT_DISABLE: '1',
    VAGRANT_BOX_UPDATE_CHECK_DISABLE: '1',
  };
  return {
    dir,
    env,
    vagrantHome: env.VAGRANT_HOME!,
    cache: path.join(env.XDG_CACHE_HOME!, 'cclab'),
    async cclab(args) {
      try {
        const r = await run(process.execPath, [CLI, ...args], { env, cwd: dir });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        const x = e as { code: number; stdout: string; stderr: string };
        return { code: x.code, stdout: x.stdout, stderr: x.stderr };
      }
    },
    async vagrant(args, cwd = dir) {
      return (await run('vagrant', args, { env, cwd })).stdout;
    },
  };
}

t.test('box add from a release: in `vagrant box list` with name, version and provider; again a no-op; --force re-adds', { skip }, async (t) => {
  const src = tempDir(t, 'cclab-box-src-');
  const img = fs.readFileSync(qcow2(src, IMG, '8G'));
  const server = await releaseServer(t, { [`${V}/${IMG}`]: img, [`${V}/${IMG}.DIGESTS`]: digests(IMG, img) });
  const h = host(t);
  const args = ['box', 'add', '--release-url', server.url, '--version', V, '--json'];

  const first = await h.cclab(args);
  t.equal(first.code, 0, first.stderr);
  const doc = JSON.parse(first.stdout);
  t.match(doc, { name: 'flatcar-stable', provider: 'libvirt', version: V, verified: 'digests', bytes: img.length, action: 'added', downloaded: true });
  t.equal(doc.sha512, sha512(img));
  t.equal(doc.image, path.join(h.cache, 'images', 'flatcar', 'stable', V, IMG));
  t.type(doc.seconds, 'number');
  t.match(first.stderr, /Adding box flatcar-stable 4230\.2\.3 \(libvirt\) to Vagrant\n/);
  t.match(first.stderr, /Successfully added box 'flatcar-stable' \(v4230\.2\.3\) for 'libvirt'!/);

  t.same(parseBoxList(await h.vagrant(['box', 'list', '--machine-readable'])), [{ name: 'flatcar-stable', provider: 'libvirt', version: V }]);
  const boxDir = path.join(h.vagrantHome, 'boxes', 'flatcar-stable', V, 'libvirt');
  t.same(JSON.parse(fs.readFileSync(path.join(boxDir, 'metadata.json'), 'utf8')), { provider: 'libvirt', format: 'qcow2', virtual_size: 8 });
  t.same(fs.readFileSync(path.join(boxDir, 'box.img')), img);
  t.match(JSON.parse(fs.readFileSync(path.join(boxDir, 'cclab-image.json'), 'utf8')), { sha512: doc.sha512, verified: 'digests', flatcarVersion: V });
  t.same(fs.readdirSync(path.join(h.cache, 'images', 'flatcar', 'stable', 'tmp')), [], 'no pack files left');

  // A lab's Vagrantfile on this box: Vagrant loads the box's Vagrantfile, libvirt settings included.
  const lab = path.join(h.dir, 'lab');
  fs.mkdirSync(lab);
  fs.writeFileSync(path.join(lab, 'Vagrantfile'), `Vagrant.configure("2") do |config|\n  config.vm.box = "flatcar-stable"\n  config.vm.box_version = "${V}"\nend\n`);
  const validated = await run('vagrant', ['validate'], { env: { ...h.env, VAGRANT_DEFAULT_PROVIDER: 'libvirt' }, cwd: lab });
  t.match(validated.stdout, 'Vagrantfile validated successfully.');

  const requests = server.requests.length;
  const again = await h.cclab(args);
  t.equal(again.code, 0, again.stderr);
  t.match(JSON.parse(again.stdout), { action: 'unchanged', version: V, sha512: doc.sha512, downloaded: false });
  t.match(again.stderr, 'is already installed with this image');
  t.notMatch(again.stderr, 'Adding box');
  t.equal(server.requests.length, requests, 'no network: the cache and the installed box say it all');

  const forced = await h.cclab([...args, '--force']);
  t.equal(forced.code, 0, forced.stderr);
  t.match(JSON.parse(forced.stdout), { action: 'replaced', downloaded: false });
  t.match(forced.stderr, /Successfully added box 'flatcar-stable' \(v4230\.2\.3\)/);
});

t.test('box add --image FILE.bz2 (offline): decompressed, a version derived from the image, "not verified" said', { skip }, async (t) => {
  const src = tempDir(t, 'cclab-box-src-');
  const img = qcow2(src, IMG, '2G');
  const bz2 = bzip2(img);
  const h = host(t);
  const r = await h.cclab(['box', 'add', '--image', bz2, '--channel', 'beta', '--json']);
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  t.match(doc, { name: 'flatcar-beta', verified: 'none', action: 'added', source: bz2, flatcarVersion: null });
  t.match(doc.version, /^0\.0\.\d+$/);
  t.equal(doc.version, `0.0.${Number.parseInt(sha512(fs.readFileSync(img)).slice(0, 12), 16)}`);
  t.match(r.stderr, `note: ${bz2} is not verified`);
  t.same(parseBoxList(await h.vagrant(['box', 'list', '--machine-readable'])), [{ name: 'flatcar-beta', provider: 'libvirt', version: doc.version }]);

  // Again: the image decompressed before is used, and the installed box holds it: a no-op.
  const again = await h.cclab(['box', 'add', '--image', bz2, '--channel', 'beta', '--json']);
  t.equal(again.code, 0, again.stderr);
  t.match(JSON.parse(again.stdout), { action: 'unchanged', version: doc.version });
  t.match(again.stderr, 'Using the image decompressed before');
});

t.test('errors from the CLI: one JSON document, the exit code of the failure', { skip }, async (t) => {
  const src = tempDir(t, 'cclab-box-src-');
  const img = fs.readFileSync(qcow2(src, IMG, '1G'));
  const server = await releaseServer(t, { [`${V}/${IMG}`]: img, [`${V}/${IMG}.DIGESTS`]: digests(IMG, img, { sha512: 'cd'.repeat(64) }) });
  const h = host(t);
  const [bad, missing, usage, noSub] = await Promise.all([
    h.cclab(['box', 'add', '--release-url', server.url, '--version', V, '--json']),
    h.cclab(['box', 'add', '--release-url', server.url, '--version', '9999.0.0', '--channel', 'beta']),
    h.cclab(['box', 'add', '--version', 'latest']),
    h.cclab(['box']),
  ]);
  t.equal(bad.code, 9, 'an image that fails verification: 9');
  t.match(JSON.parse(bad.stdout), { error: { kind: 'invalid-image', exitCode: 9 } });
  t.match(bad.stderr, /^error: the SHA-512 of the downloaded flatcar_production_qemu_image\.img .* the download was removed, the next run downloads it again$/m);

  t.equal(missing.code, 11, 'no such release: a download error');
  t.match(missing.stderr, /error: http:\/\/127\.0\.0\.1:\d+\/9999\.0\.0\/ has no QEMU image of Flatcar 9999\.0\.0 \(not found: flatcar_production_qemu_image\.img\.DIGESTS, flatcar_production_qemu_image\.img\.bz2\.DIGESTS\)/);

  t.equal(usage.code, 2);
  t.match(usage.stderr, 'error: --version: "latest" is not a Flatcar release');
  t.equal(noSub.code, 2);
  t.match(noSub.stderr, 'name a box command: cclab box add');
  t.same(fs.existsSync(path.join(h.vagrantHome, 'boxes')) ? fs.readdirSync(path.join(h.vagrantHome, 'boxes')) : [], [], 'nothing added');
});

t.test('Ctrl-C while downloading: exit 130, the .part kept for the next run, which resumes it', { skip }, async (t) => {
  const src = tempDir(t, 'cclab-box-src-');
  const img = fs.readFileSync(qcow2(src, IMG, '1G'));
  const server = await releaseServer(t, { [`${V}/${IMG}`]: img, [`${V}/${IMG}.DIGESTS`]: digests(IMG, img) });
  server.stallAfter.set(`${V}/${IMG}`, 10_000);
  const h = host(t);
  const child = spawn(process.execPath, [CLI, 'box', 'add', '--release-url', server.url, '--version', V, '--json'], { env: h.env, cwd: h.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const part = path.join(h.cache, 'images', 'flatcar', 'stable', V, `${IMG}.part`);
  while (!(fs.existsSync(part) && fs.statSync(part).size === 10_000)) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  t.equal(await closed, 130, stderr);
  t.match(JSON.parse(stdout), { error: { kind: 'interrupted', exitCode: 130 } });
  t.match(stderr, /error: interrupted while downloading http:\/\/127\.0\.0\.1:\d+\/4230\.2\.3\/flatcar_production_qemu_image\.img\nhint: the 9\.8 KiB received are kept in .*\.part: run the command again to resume/);
  t.equal(fs.statSync(part).size, 10_000);
  t.notOk(fs.existsSync(path.join(h.cache, 'images', 'flatcar', 'stable', 'lock')), 'the lock released');

  server.stallAfter.clear();
  const again = await h.cclab(['box', 'add', '--release-url', server.url, '--version', V, '--json']);
  t.equal(again.code, 0, again.stderr);
  t.equal(server.requestsOf(`${V}/${IMG}`).at(-1)?.range, 'bytes=10000-');
});

t.test('box add --help: every option described', { skip: missingTools(['vagrant', ['--version']]) }, async (t) => {
  const { stdout } = await run(process.execPath, [CLI, 'box', 'add', '--help'], { env: { ...process.env, COLUMNS: '200' } });
  const options = stdout.slice(stdout.indexOf('Options:')).split('\n').slice(1).filter((l) => /^\s+--/.test(l));
  t.same(
    options.map((l) => /^\s+(--[\w-]+)/.exec(l)![1]),
    ['--help', '--os', '--channel', '--version', '--provider', '--image', '--digests', '--release-url', '--keyring', '--force', '--json'],
  );
  for (const l of options) t.match(l, /^\s+--[\w-]+\s{2,}\S/, l.trim().split(/\s+/)[0]!);
  t.notMatch(stdout, 'Show version number', "cclab's --version is off: --version is the box's");
});
