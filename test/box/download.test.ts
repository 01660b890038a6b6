/**
 * `cclab box add` from a release server on 127.0.0.1 (test/helpers/release-server.ts) serving a
 * real qcow2 (qemu-img create -f qcow2, 64 MiB virtual) and its .bz2, with DIGESTS in Flatcar's
 * format: verification, .bz2 fallback, resume with Range, a server that ignores Range, `current`,
 * the cache, redirects and statuses, free space, signatures. Vagrant is the stand-in of
 * test/helpers/box.ts (real tar and checksum); bzip2 and gpgv are real.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { addBox, type BoxAddOptions } from '../../src/box/add.js';
import { download } from '../../src/box/http.js';
import { memoryIo } from '../../src/context.js';
import { CommandError, DownloadError, ExitCode, FileSystemError, InterruptedError, InvalidImageError, LabBusyError, PreflightError, UsageError } from '../../src/errors.js';
import { acquireLock } from '../../src/home/lock.js';
import { BZIP2, QEMU_IMG, boxDeps, bzip2, digests, filesUnder, missingTools, sha512, tempDir } from '../helpers/box.js';
import { releaseServer, type ReleaseServer } from '../helpers/release-server.js';

const IMG = 'flatcar_production_qemu_image.img';
const V = '4230.2.3';
const skip = missingTools(QEMU_IMG, BZIP2);

interface Release {
  img: Buffer;
  bz2: Buffer;
}

let release: Release;
t.before(() => {
  if (skip) return;
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'cclab-release-'));
  try {
    // 64 MiB virtual, its first MiB random: a qcow2 of about 1.2 MiB whose .bz2 is about as large
    // (an empty one compresses to 229 bytes, too small to break a download of half-way).
    const raw = path.join(dir, 'raw');
    fs.writeFileSync(raw, randomBytes(1024 * 1024));
    fs.truncateSync(raw, 64 * 1024 * 1024);
    const img = path.join(dir, IMG);
    execFileSync('qemu-img', ['convert', '-O', 'qcow2', raw, img]);
    release = { img: fs.readFileSync(img), bz2: fs.readFileSync(bzip2(img)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The files of release `version` on the server: the image as .img, .bz2 or both, with DIGESTS. */
function serve(files: Record<string, Buffer | string>, version: string, what: { img?: boolean; bz2?: boolean; currentIs?: string }) {
  if (what.img) {
    files[`${version}/${IMG}`] = release.img;
    files[`${version}/${IMG}.DIGESTS`] = digests(IMG, release.img);
  }
  if (what.bz2) {
    files[`${version}/${IMG}.bz2`] = release.bz2;
    files[`${version}/${IMG}.bz2.DIGESTS`] = digests(`${IMG}.bz2`, release.bz2);
  }
  if (what.currentIs) files['current/version.txt'] = `FLATCAR_BUILD=4230\nFLATCAR_VERSION=${what.currentIs}\nFLATCAR_VERSION_ID=${what.currentIs}\n`;
  return files;
}

const opts = (server: ReleaseServer, o: Partial<BoxAddOptions> = {}): BoxAddOptions => ({
  os: 'flatcar',
  channel: 'stable',
  provider: 'libvirt',
  force: false,
  releaseUrl: server.url,
  version: V,
  ...o,
});

const cacheOf = (deps: { cacheRoot: string }, version = V) => path.join(deps.cacheRoot, 'images', 'flatcar', 'stable', version);

t.test('a release .img: downloaded, SHA-512 checked, packed, added with name and version; cached', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { img: true }));
  const deps = boxDeps(t);
  const r = await addBox(opts(server), deps);
  t.match(r, { name: 'flatcar-stable', provider: 'libvirt', version: V, verified: 'digests', bytes: release.img.length, action: 'added', downloaded: true, flatcarVersion: V });
  t.equal(r.sha512, sha512(release.img));
  t.equal(r.image, path.join(cacheOf(deps), IMG));
  t.same(fs.readFileSync(r.image), release.img);
  t.type(r.seconds, 'number');
  const [add] = deps.vagrant.adds;
  t.match(add?.catalog, { name: 'flatcar-stable', versions: [{ version: V, providers: [{ name: 'libvirt', checksum_type: 'sha512' }] }] });
  t.same(add?.opts, { provider: 'libvirt', version: V, force: false, signal: deps.signal, onLine: add?.opts.onLine });
  t.same(add?.entries, ['metadata.json', 'Vagrantfile', 'cclab-image.json', 'box.img']);
  const boxDir = path.join(deps.vagrantHome, 'boxes', 'flatcar-stable', V, 'libvirt');
  t.same(JSON.parse(fs.readFileSync(path.join(boxDir, 'metadata.json'), 'utf8')), { provider: 'libvirt', format: 'qcow2', virtual_size: 1 });
  t.match(JSON.parse(fs.readFileSync(path.join(boxDir, 'cclab-image.json'), 'utf8')), { sha512: r.sha512, sourceSha512: r.sha512, verified: 'digests', flatcarVersion: V });
  t.same(filesUnder(cacheOf(deps)), [IMG, `${IMG}.DIGESTS`, 'image.json'], 'no .part left');
  t.same(filesUnder(path.join(deps.cacheRoot, 'images', 'flatcar', 'stable', 'tmp')), [], 'pack files removed');
  t.same(server.requestsOf(`${V}/${IMG}`).map((q) => q.range), [undefined]);
  t.match(deps.io.stderr, /Downloading flatcar_production_qemu_image\.img: 1\.\d MiB of 1\.\d MiB \(100 %\), [\d.]+ [KMG]iB\/s\n/);
  t.match(deps.io.stderr, 'SHA-512 matches the release’s DIGESTS');

  // Again: the box is installed with this image, the cache has it: no network, nothing added.
  const before = server.requests.length;
  const again = await addBox(opts(server), deps);
  t.match(again, { action: 'unchanged', version: V, sha512: r.sha512, downloaded: false });
  t.equal(server.requests.length, before, 'no request');
  t.equal(deps.vagrant.adds.length, 1);
  t.match(deps.io.stderr, 'is already installed with this image');

  // --force adds it again, from the cache.
  const forced = await addBox(opts(server, { force: true }), deps);
  t.match(forced, { action: 'replaced', downloaded: false });
  t.equal(server.requests.length, before, 'still no request');
  t.equal(deps.vagrant.adds[1]?.opts.force, true);
});

t.test('an .img that is not on the server: 404 falls back to .img.bz2, decompressed in the stream', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { bz2: true }));
  const deps = boxDeps(t);
  const r = await addBox(opts(server), deps);
  t.match(r, { verified: 'digests', bytes: release.img.length, action: 'added' });
  t.equal(r.sha512, sha512(release.img), 'the SHA-512 of the qcow2');
  t.same(fs.readFileSync(r.image), release.img);
  t.same(server.requests.map((q) => [q.path, q.status]), [
    [`${V}/${IMG}.DIGESTS`, 404],
    [`${V}/${IMG}.bz2.DIGESTS`, 200],
    [`${V}/${IMG}.bz2`, 200],
  ]);
  t.same(filesUnder(cacheOf(deps)), [IMG, `${IMG}.bz2.DIGESTS`, 'image.json'], 'the .bz2 is not kept');
  t.match(JSON.parse(fs.readFileSync(path.join(cacheOf(deps), 'image.json'), 'utf8')), { sourceSha512: sha512(release.bz2), sha512: sha512(release.img), source: `${server.url}${V}/${IMG}.bz2` });

  // DIGESTS for .img but no .img: the image's own 404 falls back too.
  const server2 = await releaseServer(t, serve({ [`${V}/${IMG}.DIGESTS`]: digests(IMG, release.img) }, V, { bz2: true }));
  const deps2 = boxDeps(t);
  t.match(await addBox(opts(server2), deps2), { action: 'added', sha512: sha512(release.img) });
  t.same(server2.requests.map((q) => [q.path, q.status]).slice(0, 2), [[`${V}/${IMG}.DIGESTS`, 200], [`${V}/${IMG}`, 404]]);
  t.match(deps2.io.stderr, 'is not on the server; trying the .bz2');
});

t.test('`current`: version.txt names the release, whose URLs are then used', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, '4344.0.0', { img: true, currentIs: '4344.0.0' }));
  const deps = boxDeps(t);
  const r = await addBox(opts(server, { version: 'current' }), deps);
  t.match(r, { version: '4344.0.0', flatcarVersion: '4344.0.0', action: 'added' });
  t.equal(server.requests[0]?.path, 'current/version.txt');
  t.ok(server.requests.slice(1).every((q) => q.path.startsWith('4344.0.0/')), 'the files of that release, not of current/');
  t.match(deps.io.stderr, 'The current stable release is 4344.0.0.');
  t.ok(fs.existsSync(path.join(cacheOf(deps, '4344.0.0'), IMG)));

  const broken = await releaseServer(t, { 'current/version.txt': 'FLATCAR_BUILD=1\n' });
  const e = await addBox(opts(broken, { version: 'current' }), boxDeps(t)).catch((x: unknown) => x);
  t.ok(e instanceof DownloadError);
  t.match((e as Error).message, /current\/version\.txt names no release/);
});

t.test('a wrong digest: an error naming both, and the download removed (not kept as verified)', { skip }, async (t) => {
  const files = serve({}, V, { img: true });
  files[`${V}/${IMG}.DIGESTS`] = digests(IMG, release.img, { sha512: 'ab'.repeat(64) });
  const server = await releaseServer(t, files);
  const deps = boxDeps(t);
  const e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof InvalidImageError, 'InvalidImageError');
  t.equal((e as InvalidImageError).exitCode, ExitCode.invalidFile);
  t.match((e as Error).message, /SHA-512 of the downloaded flatcar_production_qemu_image\.img \([0-9a-f]{16}…, 1\.\d MiB\) is not the one its DIGESTS give \(abababababababab…\); the download was removed, the next run downloads it again/);
  t.same(filesUnder(cacheOf(deps)), [], 'nothing kept: no image, no record, no .part');
  t.same(deps.vagrant.adds, [], 'nothing added');

  // The next run downloads it again from the start (no Range).
  files[`${V}/${IMG}.DIGESTS`] = digests(IMG, release.img);
  server.files.set(`${V}/${IMG}.DIGESTS`, Buffer.from(files[`${V}/${IMG}.DIGESTS`] as string));
  t.match(await addBox(opts(server), deps), { action: 'added' });
  t.same(server.requestsOf(`${V}/${IMG}`).map((q) => q.range), [undefined, undefined]);
});

t.test('DIGESTS without an entry for the file: an error before anything is downloaded', { skip }, async (t) => {
  const files = serve({}, V, { img: true });
  files[`${V}/${IMG}.DIGESTS`] = digests(`${IMG}.bz2`, release.bz2);
  const server = await releaseServer(t, files);
  const e = await addBox(opts(server), boxDeps(t)).catch((x: unknown) => x);
  t.ok(e instanceof InvalidImageError);
  t.match((e as Error).message, /gives no SHA-512 for flatcar_production_qemu_image\.img: its SHA512 section lists "flatcar_production_qemu_image\.img\.bz2"/);
  t.same(server.requestsOf(`${V}/${IMG}`), [], 'the image was not requested');
});

t.test('a connection that breaks half-way: the .part is kept; the next run resumes with Range and verifies', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { img: true }));
  server.cutAfter.set(`${V}/${IMG}`, 100_000);
  const deps = boxDeps(t);
  const e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof DownloadError, 'DownloadError');
  t.equal((e as DownloadError).exitCode, ExitCode.download);
  t.match((e as Error).message, /the download of http:\/\/127\.0\.0\.1:\d+\/4230\.2\.3\/flatcar_production_qemu_image\.img broke off after [\d.]+ KiB of 1\.\d MiB: the server closed the connection/);
  const part = path.join(cacheOf(deps), `${IMG}.part`);
  t.match((e as DownloadError).hint, `kept in ${part}: run the command again to resume`);
  // Every byte read before the connection ended (Node drops what it had not handed over yet).
  const kept = fs.statSync(part).size;
  t.ok(kept > 0 && kept <= 100_000, `${kept} bytes kept`);
  t.same(deps.vagrant.adds, []);

  const r = await addBox(opts(server), deps);
  t.match(r, { action: 'added', verified: 'digests' });
  t.equal(r.sha512, sha512(release.img));
  t.same(fs.readFileSync(r.image), release.img);
  t.same(server.requestsOf(`${V}/${IMG}`).map((q) => [q.range, q.status]), [[undefined, 200], [`bytes=${kept}-`, 206]], 'the second request asked for the rest');
  t.match(deps.io.stderr, /Resuming flatcar_production_qemu_image\.img: [\d.]+ KiB already in .*\.part; hashing them first/);
  t.notOk(fs.existsSync(part));
});

t.test('a server that ignores Range: the download starts over and still verifies', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { bz2: true }));
  server.cutAfter.set(`${V}/${IMG}.bz2`, 50_000);
  const deps = boxDeps(t);
  t.ok((await addBox(opts(server), deps).catch((x: unknown) => x)) instanceof DownloadError);
  const kept = fs.statSync(path.join(cacheOf(deps), `${IMG}.bz2.part`)).size;
  t.ok(kept > 0 && kept <= 50_000, `${kept} bytes kept`);
  server.ignoreRange = true;
  const r = await addBox(opts(server), deps);
  t.equal(r.sha512, sha512(release.img));
  t.same(fs.readFileSync(r.image), release.img);
  t.same(server.requestsOf(`${V}/${IMG}.bz2`).map((q) => [q.range, q.status]), [[undefined, 200], [`bytes=${kept}-`, 200]]);
  t.match(deps.io.stderr, /the server ignored the request to resume \(it answered 200, not 206\): downloading it from the start/);
});

t.test('download(): a .part already complete is answered 416 and used as it is', { skip }, async (t) => {
  const server = await releaseServer(t, { 'f.img': release.img });
  const dir = tempDir(t, 'cclab-dl-');
  const part = path.join(dir, 'f.img.part');
  fs.writeFileSync(part, release.img);
  const r = await download(`${server.url}f.img`, part, { io: memoryIo(), label: 'Downloading f.img' });
  t.match(r, { found: true, sha512: sha512(release.img), bytes: release.img.length, rangeSent: true });
  t.same(server.requests.map((q) => q.status), [416]);
  // A part longer than the file: 416 without a match, so it starts over.
  fs.writeFileSync(part, Buffer.concat([release.img, Buffer.from('junk')]));
  const again = await download(`${server.url}f.img`, part, { io: memoryIo(), label: 'Downloading f.img' });
  t.match(again, { found: true, sha512: sha512(release.img), restarted: true });
  t.same(fs.readFileSync(part), release.img);
});

t.test('statuses, redirects and a silent server are DownloadErrors naming the URL; a stop keeps the .part', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { img: true }));
  server.statuses.set(`${V}/${IMG}.DIGESTS`, 503);
  let e = await addBox(opts(server), boxDeps(t)).catch((x: unknown) => x);
  t.ok(e instanceof DownloadError);
  t.match((e as Error).message, /cannot download http:\/\/127\.0\.0\.1:\d+\/4230\.2\.3\/flatcar_production_qemu_image\.img\.DIGESTS: the server answered 503 Service Unavailable/);
  t.equal((e as DownloadError).status, 503);
  server.statuses.clear();

  // A loop, and a chain longer than 5.
  server.redirects.set(`${V}/${IMG}.DIGESTS`, `/loop-a`);
  server.redirects.set('loop-a', `/${V}/${IMG}.DIGESTS`);
  e = await addBox(opts(server), boxDeps(t)).catch((x: unknown) => x);
  t.match((e as Error).message, /redirects in a loop/);
  for (let i = 0; i < 7; i++) server.redirects.set(i === 0 ? `${V}/${IMG}.DIGESTS` : `hop-${i}`, `/hop-${i + 1}`);
  e = await addBox(opts(server), boxDeps(t)).catch((x: unknown) => x);
  t.ok(e instanceof DownloadError);
  t.match((e as Error).message, /redirects more than 5 times/);
  server.redirects.clear();
  // One redirect is followed.
  server.redirects.set(`${V}/${IMG}`, `/elsewhere/${IMG}`);
  server.files.set(`elsewhere/${IMG}`, release.img);
  t.match(await addBox(opts(server), boxDeps(t)), { action: 'added' });
  server.redirects.clear();

  // Silent after 10,000 bytes: the idle timeout ends it, the part is kept.
  server.stallAfter.set(`${V}/${IMG}`, 10_000);
  const deps = boxDeps(t, { idleTimeoutMs: 1000 });
  e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof DownloadError, 'idle timeout');
  t.match((e as Error).message, /broke off after 9\.8 KiB of 1\.\d MiB: no answer for 1 s/);
  t.equal(fs.statSync(path.join(cacheOf(deps), `${IMG}.part`)).size, 10_000);

  // Ctrl-C while downloading: InterruptedError, the part kept for the next run.
  const deps2 = boxDeps(t);
  const running = addBox(opts(server), deps2).catch((x: unknown) => x);
  const part = path.join(cacheOf(deps2), `${IMG}.part`);
  while (!(fs.existsSync(part) && fs.statSync(part).size === 10_000)) await new Promise((r) => setTimeout(r, 10));
  deps2.controller.abort(new InterruptedError('interrupted by SIGINT', { signal: 'SIGINT' }));
  e = await running;
  t.ok(e instanceof InterruptedError, 'interrupted');
  t.match((e as InterruptedError).hint, `kept in ${part}`);
  t.equal(fs.statSync(part).size, 10_000);
});

t.test('not enough free space: an error before a byte is written, naming both places', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { img: true }));
  const deps = boxDeps(t, { freeBytes: async (p: string) => (p.includes('vagrant-home') ? 100 : 10 ** 12) });
  const e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof FileSystemError);
  t.equal((e as FileSystemError).code, 'ENOSPC');
  t.match((e as Error).message, /Vagrant’s boxes \(VAGRANT_HOME\) \(.*vagrant-home\) has 100 bytes free, and needs about 2\.\d MiB for the box while Vagrant unpacks it/);
  t.same(filesUnder(cacheOf(deps)), [], 'no .part');
});

t.test('vagrant box add fails: a CommandError, nothing added, pack files removed, the image stays cached', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { img: true }));
  const deps = boxDeps(t);
  // What a run killed while packing leaves: removed by the next run, which holds the lock.
  const stale = path.join(deps.cacheRoot, 'images', 'flatcar', 'stable', 'tmp', 'pack-old');
  fs.mkdirSync(stale, { recursive: true });
  fs.writeFileSync(path.join(stale, 'flatcar-stable-1.0.0.box'), 'x');
  deps.vagrant.failNext = true;
  const e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof CommandError);
  t.match((e as CommandError).hint, 'nothing was added; the verified image stays in the cache');
  t.same(await deps.vagrant.boxList(), []);
  t.same(filesUnder(path.join(deps.cacheRoot, 'images', 'flatcar', 'stable', 'tmp')), []);
  t.same(filesUnder(cacheOf(deps)), [IMG, `${IMG}.DIGESTS`, 'image.json']);
  const requests = server.requests.length;
  t.match(await addBox(opts(server), deps), { action: 'added', downloaded: false });
  t.equal(server.requests.length, requests, 'the retry used the cache');
});

t.test('an installed box of that version with another image is refused without --force', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { img: true }));
  const deps = boxDeps(t);
  await addBox(opts(server), deps);
  // The release is rebuilt (another image, same version): the installed box holds the old one.
  fs.rmSync(path.join(deps.cacheRoot, 'images'), { recursive: true });
  server.files.set(`${V}/${IMG}`, release.bz2);
  server.files.set(`${V}/${IMG}.DIGESTS`, Buffer.from(digests(IMG, release.bz2)));
  const e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof UsageError);
  t.match((e as Error).message, /box flatcar-stable 4230\.2\.3 \(libvirt\) is already installed, and it holds another image/);
  t.match((e as UsageError).hint, 'add --force to replace it');
  t.same(server.requestsOf(`${V}/${IMG}`).length, 1, 'refused before downloading');
});

t.test('a release whose "image" is not qcow2: refused with the qemu-img hint, removed', { skip }, async (t) => {
  const raw = Buffer.alloc(4096, 0);
  const server = await releaseServer(t, { [`${V}/${IMG}`]: raw, [`${V}/${IMG}.DIGESTS`]: digests(IMG, raw) });
  const deps = boxDeps(t);
  const e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof InvalidImageError);
  t.match((e as Error).message, /^http:\/\/127\.0\.0\.1:\d+\/4230\.2\.3\/flatcar_production_qemu_image\.img cannot be a vagrant-libvirt box: it is not a qcow2 image \(it starts with the bytes 00000000, .*raw disk image\); the download was removed$/);
  t.match((e as InvalidImageError).hint, 'qemu-img convert -O qcow2 IN OUT');
  t.same(filesUnder(cacheOf(deps)), [`${IMG}.DIGESTS`]);
  // The same inside a .bz2.
  const rawBz2 = execFileSync('bzip2', ['-c'], { input: raw });
  const server2 = await releaseServer(t, { [`${V}/${IMG}.bz2`]: rawBz2, [`${V}/${IMG}.bz2.DIGESTS`]: digests(`${IMG}.bz2`, rawBz2) });
  const deps2 = boxDeps(t);
  const e2 = await addBox(opts(server2), deps2).catch((x: unknown) => x);
  t.ok(e2 instanceof InvalidImageError);
  t.match((e2 as Error).message, /^http:\/\/127\.0\.0\.1:\d+\/4230\.2\.3\/flatcar_production_qemu_image\.img\.bz2, decompressed, cannot be a vagrant-libvirt box: it is not a qcow2 image/);
  t.same(filesUnder(cacheOf(deps2)), [`${IMG}.bz2.DIGESTS`], 'no .tmp, no .part');
});

t.test('--image URL: verified by <URL>.DIGESTS when the server has it, cached by URL; without, said to be unverified', { skip }, async (t) => {
  const server = await releaseServer(t, { [`mine/${IMG}.bz2`]: release.bz2, [`mine/${IMG}.bz2.DIGESTS`]: digests(`${IMG}.bz2`, release.bz2), 'bare/x.img': release.img });
  const deps = boxDeps(t);
  const url = `${server.url}mine/${IMG}.bz2`;
  const r = await addBox({ os: 'flatcar', channel: 'alpha', provider: 'libvirt', force: false, image: url }, deps);
  t.match(r, { name: 'flatcar-alpha', verified: 'digests', action: 'added', source: url, flatcarVersion: undefined, downloaded: true });
  t.equal(r.version, `0.0.${Number.parseInt(sha512(release.img).slice(0, 12), 16)}`, 'derived from the qcow2');
  t.equal(r.sha512, sha512(release.img));
  t.match(r.image, /images\/flatcar\/alpha\/url-[0-9a-f]{16}\/flatcar_production_qemu_image\.img$/);
  const again = await addBox({ os: 'flatcar', channel: 'alpha', provider: 'libvirt', force: false, image: url }, deps);
  t.match(again, { action: 'unchanged', downloaded: false });
  t.equal(server.requestsOf(`mine/${IMG}.bz2`).length, 1, 'the image was fetched once');

  const bare = await addBox({ os: 'flatcar', channel: 'alpha', provider: 'libvirt', force: false, image: `${server.url}bare/x.img`, version: '1.2.3' }, deps);
  t.match(bare, { verified: 'none', version: '1.2.3', action: 'added' });
  t.match(deps.io.stderr, /warning: http:\/\/127\.0\.0\.1:\d+\/bare\/x\.img\.DIGESTS was not found: the image will not be verified/);

  const e = await addBox({ os: 'flatcar', channel: 'alpha', provider: 'libvirt', force: false, image: `${server.url}nope.img` }, deps).catch((x: unknown) => x);
  t.ok(e instanceof DownloadError);
  t.match((e as Error).message, /cannot download http:\/\/127\.0\.0\.1:\d+\/nope\.img: the server answered 404 Not Found/);
});

t.test('--image FILE with --digests: a file that does not match is refused and left alone; a non-qcow2 file gets the qemu-img hint', { skip }, async (t) => {
  const deps = boxDeps(t);
  const file = path.join(deps.cwd, IMG);
  fs.writeFileSync(file, release.img);
  const d = path.join(deps.cwd, 'D');
  fs.writeFileSync(d, digests(IMG, release.img, { sha512: 'ef'.repeat(64) }));
  const base = { os: 'flatcar', channel: 'stable', provider: 'libvirt', force: false } as const;
  const e = await addBox({ ...base, image: IMG, digests: 'D' }, deps).catch((x: unknown) => x);
  t.ok(e instanceof InvalidImageError);
  t.match((e as Error).message, `the SHA-512 of ${file} is`);
  t.ok(fs.existsSync(file), 'the user’s file is not removed');
  fs.writeFileSync(d, digests(IMG, release.img));
  t.match(await addBox({ ...base, image: IMG, digests: 'D', version: V }, deps), { verified: 'digests', image: file, version: V, downloaded: false });
  const raw = path.join(deps.cwd, 'disk.raw');
  fs.writeFileSync(raw, Buffer.alloc(1024));
  const e2 = await addBox({ ...base, image: raw }, deps).catch((x: unknown) => x);
  t.ok(e2 instanceof InvalidImageError);
  t.match((e2 as Error).message, `${raw} cannot be a vagrant-libvirt box: it is not a qcow2 image`);
  t.match((e2 as InvalidImageError).hint, 'qemu-img convert -O qcow2 IN OUT');
  const e3 = await addBox({ ...base, image: 'missing.img' }, deps).catch((x: unknown) => x);
  t.ok(e3 instanceof UsageError);
  t.match((e3 as Error).message, /--image: cannot read .*missing\.img: no such file or directory/);
});

t.test('another box add of the channel running: busy (exit 7), naming the cache and its holder', { skip }, async (t) => {
  const deps = boxDeps(t);
  const channelDir = path.join(deps.cacheRoot, 'images', 'flatcar', 'stable');
  fs.mkdirSync(channelDir, { recursive: true });
  const held = await acquireLock(channelDir, { command: 'cclab box add' });
  t.teardown(() => held.release());
  const e = await addBox({ os: 'flatcar', channel: 'stable', provider: 'libvirt', force: false, releaseUrl: 'http://127.0.0.1:1/', version: V }, deps).catch((x: unknown) => x);
  t.ok(e instanceof LabBusyError);
  t.equal((e as LabBusyError).exitCode, ExitCode.busy);
  t.match((e as Error).message, `the image cache of flatcar stable (${channelDir}) is busy: \`cclab box add\` (pid ${process.pid})`);
});

t.test('bzip2 missing: a preflight error with the package to install, before the .bz2 is downloaded', { skip }, async (t) => {
  const server = await releaseServer(t, serve({}, V, { bz2: true }));
  const { realTools } = await import('../../src/box/tools.js');
  const deps = boxDeps(t);
  deps.tools = realTools({ PATH: path.join(deps.cwd, 'no-such-dir') }, deps.cwd);
  const e = await addBox(opts(server), deps).catch((x: unknown) => x);
  t.ok(e instanceof PreflightError);
  t.equal((e as PreflightError).exitCode, ExitCode.preflight);
  t.match((e as PreflightError).failures[0], { check: 'bzip2', message: '`bzip2` was not found on PATH', fix: /apt-get install bzip2/ });
  t.same(server.requestsOf(`${V}/${IMG}.bz2`), []);
});

t.test('--keyring: gpgv checks the detached signature of the downloaded file', { skip: skip || missingTools(['gpg', ['--version']], ['gpgv', ['--version']]) }, async (t) => {
  const gnupg = tempDir(t, 'cclab-gnupg-');
  fs.chmodSync(gnupg, 0o700);
  const env = { ...process.env, GNUPGHOME: gnupg };
  // gpg starts an agent for this home: stop it when the test ends.
  t.teardown(() => execFileSync('gpgconf', ['--kill', 'all'], { env }));
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'cclab test <test@example.invalid>', 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
  const keyring = path.join(gnupg, 'keyring.gpg');
  fs.writeFileSync(keyring, execFileSync('gpg', ['--export'], { env }));
  const sign = (data: Buffer) => execFileSync('gpg', ['--batch', '--detach-sign', '-o', '-'], { env, input: data });

  const files = serve({}, V, { img: true });
  files[`${V}/${IMG}.sig`] = sign(release.img);
  const server = await releaseServer(t, files);
  const deps = boxDeps(t);
  const r = await addBox(opts(server, { keyring }), deps);
  t.match(r, { verified: 'signature', action: 'added' });
  t.match(deps.io.stderr, `the signature verifies with ${keyring}`);
  t.ok(fs.existsSync(path.join(cacheOf(deps), `${IMG}.sig`)));

  // A signature of something else: refused, the download removed.
  server.files.set(`${V}/${IMG}.sig`, sign(Buffer.from('another file')));
  const deps2 = boxDeps(t);
  const e = await addBox(opts(server, { keyring }), deps2).catch((x: unknown) => x);
  t.ok(e instanceof InvalidImageError);
  t.match((e as Error).message, /the signature .*\.sig does not verify .*flatcar_production_qemu_image\.img\.part with the keys in .*keyring\.gpg:\n.*BAD signature/s);
  t.match((e as Error).message, 'The download was removed; the next run downloads it again.');
  t.same(filesUnder(cacheOf(deps2)).filter((f) => f.endsWith('.part') || f === IMG || f === 'image.json'), []);

  // The box added with DIGESTS only, asked again with --keyring: verified by signature, added again.
  server.files.set(`${V}/${IMG}.sig`, sign(release.img));
  const deps3 = boxDeps(t);
  await addBox(opts(server), deps3);
  const stronger = await addBox(opts(server, { keyring }), deps3);
  t.match(stronger, { verified: 'signature', action: 'replaced' });

  // No such keyring: a usage error naming the flag.
  const e2 = await addBox(opts(server, { keyring: path.join(gnupg, 'nope.gpg') }), boxDeps(t)).catch((x: unknown) => x);
  t.ok(e2 instanceof UsageError);
  t.match((e2 as Error).message, /--keyring: cannot read .*nope\.gpg: no such file or directory/);
});
