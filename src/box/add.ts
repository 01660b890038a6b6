/**
 * `cclab box add`: Flatcar's QEMU image as a vagrant-libvirt box with a name and a version.
 *
 *   1. the source: the channel's release server (version.txt for `current`), or --image FILE|URL
 *   2. the image: from the cache when a verified copy is there (no network); else its DIGESTS,
 *      then the image itself (`.img`, or `.img.bz2` when the release has only that), downloaded
 *      into a resumable `.part` and hashed as it arrives
 *   3. verification: SHA-512 against DIGESTS; with --keyring, also gpgv on the detached signature
 *   4. qcow2: decompressed (bzip2 -dc) and checked (magic, version, virtual size) on the way in
 *   5. idempotency: an installed box of that name, provider and version holding the same image is
 *      left alone (checked as early as possible: before downloading anything)
 *   6. the box: packed into the cache's tmp/, added with `vagrant box add CATALOG`, tmp removed
 *
 * Side effects go through BoxAddDeps (Vagrant, bzip2/gpgv, free space); HTTP is Node's own,
 * which tests point at a server on 127.0.0.1 (--release-url).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { formatSize } from '../bounded-read.js';
import type { Io } from '../context.js';
import { CclabError, CommandError, DownloadError, InterruptedError, InvalidImageError, LabBusyError, UsageError, fileSystemError } from '../errors.js';
import { makeDirectory } from '../home/errno.js';
import { acquireLock } from '../home/lock.js';
import { atomicWriteFile } from '../home/manifest.js';
import type { VagrantDriver } from '../vagrant/driver.js';
import {
  cachedImagePaths,
  channelCacheDir,
  fileCacheDir,
  installedBoxDir,
  packRoot,
  readCachedImage,
  readInstalledRecord,
  releaseCacheDir,
  spaceError,
  urlCacheDir,
  type SpaceNeed,
} from './cache.js';
import { DigestsParseError, parseDigests, sha512For } from './digests.js';
import { download, fetchBytes, fetchText, interrupted, sha512OfFile, shownUrl, urlProblem } from './http.js';
import { FLATCAR_CHANNELS, QEMU_IMAGE, defaultReleaseBase, flatcarBoxName, isFlatcarVersion, isVagrantReleaseVersion, parseVersionTxt, versionFromDigest } from './names.js';
import {
  BOX_IMAGE,
  BOX_METADATA,
  BOX_RECORD,
  BOX_VAGRANTFILE,
  boxCatalog,
  boxMetadata,
  boxVagrantfile,
  imageRecordJson,
  type ImageRecord,
  type Verification,
} from './pack.js';
import { progress } from './progress.js';
import { QCOW2_HEADER_BYTES, isBzip2, parseQcow2Header, virtualSizeGiB } from './qcow2.js';
import { tarSize, writeTar } from './tar.js';
import type { ImageTools } from './tools.js';

export const BOX_PROVIDERS = ['libvirt'] as const;
export const BOX_OSES = ['flatcar'] as const;

export interface BoxAddOptions {
  os: (typeof BOX_OSES)[number];
  channel: string;
  /** A release (`4230.2.3`), `current`, or with --image any Vagrant release version. */
  version?: string | undefined;
  provider: (typeof BOX_PROVIDERS)[number];
  /** A local qcow2 or .bz2, or an http(s) URL of one. */
  image?: string | undefined;
  /** DIGESTS for --image (a file or an http(s) URL). */
  digests?: string | undefined;
  /** The release server's directory of versions (default: the channel's). */
  releaseUrl?: string | undefined;
  /** A keyring for gpgv: the image's detached signature must verify with it. */
  keyring?: string | undefined;
  force: boolean;
}

export interface BoxAddResult {
  name: string;
  provider: string;
  version: string;
  /** The qcow2 the box was made from (in the cache, or the --image file). */
  image: string;
  /** SHA-512 of that qcow2. */
  sha512: string;
  verified: Verification;
  /** Size of the qcow2. */
  bytes: number;
  seconds: number;
  /** added: it was not installed; replaced: --force over an installed one; unchanged: already installed with this image. */
  action: 'added' | 'replaced' | 'unchanged';
  /** Where the image came from (URL or path). */
  source: string;
  flatcarVersion: string | undefined;
  /** Whether the image came from the cache (or a local file) without downloading it. */
  downloaded: boolean;
}

export interface BoxAddDeps {
  vagrant: Pick<VagrantDriver, 'boxAdd'>;
  tools: ImageTools;
  /** Free bytes on the file system of a path (src/box/cache.ts freeBytes). */
  freeBytes(path: string): Promise<number>;
  /** cclab's cache directory. */
  cacheRoot: string;
  /** Vagrant's data directory (VAGRANT_HOME). */
  vagrantHome: string;
  io: Io;
  signal: AbortSignal;
  cwd: string;
  now?: () => number;
  /** Idle timeout of HTTP connections (tests shorten it). */
  idleTimeoutMs?: number;
}

/** The limit for DIGESTS, version.txt and signatures: kilobytes in reality. */
const SMALL_FILE_LIMIT = 1024 * 1024;
const MIB = 1024 * 1024;

/** What the options mean, checked before anything runs (pure). */
export interface Plan {
  name: string;
  channel: string;
  provider: string;
  source:
    | { kind: 'release'; base: string; version: string }
    | { kind: 'url'; url: string; version: string | undefined }
    | { kind: 'file'; path: string; version: string | undefined };
  digests: string | undefined;
  keyring: string | undefined;
  force: boolean;
}

const looksLikeUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** The options as a plan, or a UsageError naming the flag. Paths are made absolute against `cwd`. */
export function planBoxAdd(opts: BoxAddOptions, cwd: string): Plan {
  if (!FLATCAR_CHANNELS.includes(opts.channel)) throw new UsageError(`--channel: "${opts.channel}" is not a Flatcar channel (${FLATCAR_CHANNELS.join(', ')})`);
  const local = (flag: string, p: string) => {
    if (p === '') throw new UsageError(`--${flag} is empty`);
    if (/^file:\/\//i.test(p)) return fileURLToPath(p);
    return isAbsolute(p) ? p : resolve(cwd, p);
  };
  const checkUrl = (flag: string, u: string) => {
    const problem = urlProblem(u);
    if (problem !== undefined) throw new UsageError(`--${flag}: ${shownUrl(u)}: ${problem}`, { hint: `give an http(s) URL${flag === 'release-url' ? '' : ' or a local file'}` });
    return u;
  };
  const keyring = opts.keyring === undefined ? undefined : local('keyring', opts.keyring);
  const name = flatcarBoxName(opts.channel);
  if (opts.image !== undefined) {
    if (opts.releaseUrl !== undefined) throw new UsageError('--release-url is for release images; --image names the image itself', { hint: 'leave out one of them' });
    if (opts.version !== undefined && !isVagrantReleaseVersion(opts.version)) {
      throw new UsageError(`--version: "${opts.version}" is not a box version Vagrant can use (digits and dots, e.g. 4230.2.3)`, {
        hint: opts.version === 'current' ? 'with --image, --version names the box version: give the image’s Flatcar release, or leave it out' : 'letters make a prerelease version, which `vagrant box add` and Vagrantfiles skip',
      });
    }
    const digests = opts.digests === undefined ? undefined : looksLikeUrl(opts.digests) && !/^file:/i.test(opts.digests) ? checkUrl('digests', opts.digests) : local('digests', opts.digests);
    const isUrl = looksLikeUrl(opts.image) && !/^file:/i.test(opts.image);
    const source: Plan['source'] = isUrl ? { kind: 'url', url: checkUrl('image', opts.image), version: opts.version } : { kind: 'file', path: local('image', opts.image), version: opts.version };
    return { name, channel: opts.channel, provider: opts.provider, source, digests, keyring, force: opts.force };
  }
  if (opts.digests !== undefined) throw new UsageError('--digests is for --image: a release’s DIGESTS are downloaded from beside its image');
  const version = opts.version ?? 'current';
  if (version !== 'current' && !isFlatcarVersion(version)) {
    throw new UsageError(`--version: "${version}" is not a Flatcar release (e.g. 4230.2.3) or current`, { hint: 'https://www.flatcar.org/releases lists the releases of each channel' });
  }
  let base = opts.releaseUrl === undefined ? defaultReleaseBase(opts.channel) : checkUrl('release-url', opts.releaseUrl);
  if (!base.endsWith('/')) base += '/';
  return { name, channel: opts.channel, provider: opts.provider, source: { kind: 'release', base, version }, digests: undefined, keyring, force: opts.force };
}

/** The image a box is made of, once it is at hand and verified. */
interface Image extends ImageRecord {
  path: string;
  virtualSize: bigint;
  downloaded: boolean;
}

export async function addBox(opts: BoxAddOptions, deps: BoxAddDeps): Promise<BoxAddResult> {
  const now = deps.now ?? Date.now;
  const t0 = now();
  const plan = planBoxAdd(opts, deps.cwd);
  if (plan.keyring !== undefined) {
    await deps.tools.checkGpgv();
    await readable(plan.keyring, '--keyring');
  }
  const channelDir = channelCacheDir(deps.cacheRoot, plan.channel);
  await makeDirectory(channelDir);
  let lock;
  try {
    lock = await acquireLock(channelDir, { command: 'cclab box add' });
  } catch (e) {
    if (e instanceof LabBusyError) throw new LabBusyError(e.message.replace(/^lab \S+ is busy/, `the image cache of flatcar ${plan.channel} (${channelDir}) is busy`), { hint: e.hint, cause: e });
    throw e;
  }
  try {
    // Pack directories of a run that was killed (this run holds the lock: nobody else packs here).
    await rm(packRoot(deps.cacheRoot, plan.channel), { recursive: true, force: true });
    const run = new BoxAdd(plan, deps);
    const outcome = await run.go();
    return { ...outcome, seconds: Math.round((now() - t0) / 100) / 10 };
  } finally {
    lock.release();
  }
}

type Outcome = Omit<BoxAddResult, 'seconds'>;

/** An installed box of the name, provider and version, and what it holds. */
interface Installed {
  dir: string;
  record: ImageRecord | undefined;
}

class BoxAdd {
  private readonly io: Io;
  private readonly signal: AbortSignal;

  constructor(
    private readonly plan: Plan,
    private readonly deps: BoxAddDeps,
  ) {
    this.io = deps.io;
    this.signal = deps.signal;
  }

  private get required(): Verification {
    return this.plan.keyring !== undefined ? 'signature' : 'digests';
  }

  async go(): Promise<Outcome> {
    const { source } = this.plan;
    if (source.kind === 'release') return this.fromRelease(source.base, source.version);
    if (source.kind === 'url') return this.fromUrl(source.url, source.version);
    return this.fromFile(source.path, source.version);
  }

  // ---------------------------------------------------------------------------------------------
  // Sources

  private async fromRelease(base: string, asked: string): Promise<Outcome> {
    let version = asked;
    if (asked === 'current') {
      const url = `${base}current/version.txt`;
      const text = await fetchText(url, { limit: SMALL_FILE_LIMIT, signal: this.signal, idleTimeoutMs: this.deps.idleTimeoutMs });
      if (text === undefined) throw new DownloadError(`cannot learn the current ${this.plan.channel} release: ${shownUrl(url)} answered 404 Not Found`, { url, status: 404, hint: 'check --channel and --release-url, or give --version' });
      const found = parseVersionTxt(text);
      if (found === undefined) throw new DownloadError(`${shownUrl(url)} names no release (no FLATCAR_VERSION=<version> line)`, { url, hint: 'give --version, or check --release-url' });
      version = found;
      this.io.err(`The current ${this.plan.channel} release is ${version}.\n`);
    }
    const dir = releaseCacheDir(this.deps.cacheRoot, this.plan.channel, version);
    const installed = await this.installed(version);
    const cached = await readCachedImage(dir);
    if (cached && atLeast(cached.verified, this.required)) {
      const unchanged = this.unchanged(installed, version, (r) => r.sha512 === cached.sha512);
      if (unchanged) return { ...unchanged, source: cached.source, downloaded: false, flatcarVersion: version };
      this.io.err(`Using the verified image in the cache: ${cached.path}\n`);
      return this.pack({ ...cached, virtualSize: await this.qcow2Size(cached.path, false), downloaded: false }, version, installed);
    }
    const dirUrl = `${base}${version}/`;
    const tried: string[] = [];
    for (const file of [QEMU_IMAGE, `${QEMU_IMAGE}.bz2`]) {
      const url = new URL(file, dirUrl).href;
      const digestsUrl = `${url}.DIGESTS`;
      const digestsText = await fetchText(digestsUrl, { limit: SMALL_FILE_LIMIT, signal: this.signal, idleTimeoutMs: this.deps.idleTimeoutMs });
      if (digestsText === undefined) {
        tried.push(`${file}.DIGESTS`);
        continue;
      }
      const expected = this.expectedSha512(digestsText, file, shownUrl(digestsUrl));
      // The installed box holds this very file: nothing to download.
      const unchanged = this.unchanged(installed, version, (r) => r.sourceSha512 === expected);
      if (unchanged) return { ...unchanged, source: installed!.record!.source, downloaded: false, flatcarVersion: version };
      // Before hundreds of megabytes arrive that could not be decompressed.
      if (file.endsWith('.bz2')) await this.deps.tools.checkBzip2();
      const got = await this.fetchImage({ url, file, dir, expected, digestsText, flatcarVersion: version, sigUrl: `${url}.sig` });
      if (got === undefined) {
        tried.push(file);
        this.io.err(`${shownUrl(url)} is not on the server${file.endsWith('.bz2') ? '' : '; trying the .bz2'}\n`);
        continue;
      }
      return this.pack(got, version, installed);
    }
    throw new DownloadError(`${shownUrl(dirUrl)} has no QEMU image of Flatcar ${version} (not found: ${tried.join(', ')})`, {
      url: dirUrl,
      status: 404,
      hint: `check --channel ${this.plan.channel} and --version (https://www.flatcar.org/releases), or --release-url`,
    });
  }

  private async fromUrl(url: string, askedVersion: string | undefined): Promise<Outcome> {
    const dir = urlCacheDir(this.deps.cacheRoot, this.plan.channel, url);
    const file = decodeURIComponent(basename(new URL(url).pathname)) || 'image';
    const cached = await readCachedImage(dir);
    let digestsText: string | undefined;
    let digestsFrom: string | undefined;
    if (this.plan.digests !== undefined) {
      digestsFrom = this.plan.digests;
      digestsText = await this.readDigests(this.plan.digests);
    } else {
      digestsFrom = shownUrl(`${url}.DIGESTS`);
      digestsText = await fetchText(`${url}.DIGESTS`, { limit: SMALL_FILE_LIMIT, signal: this.signal, idleTimeoutMs: this.deps.idleTimeoutMs });
    }
    const expected = digestsText === undefined ? undefined : this.expectedSha512(digestsText, file, digestsFrom);
    const wanted: Verification = this.plan.keyring !== undefined ? 'signature' : expected !== undefined ? 'digests' : 'none';
    if (cached && cached.source === url && atLeast(cached.verified, wanted) && (expected === undefined || cached.sourceSha512 === expected)) {
      this.io.err(`Using the image in the cache: ${cached.path}\n`);
      return this.finishLocal({ ...cached, virtualSize: await this.qcow2Size(cached.path, false), downloaded: false }, askedVersion);
    }
    if (expected === undefined) this.io.err(`warning: ${digestsFrom} was not found: the image will not be verified (--digests FILE|URL verifies it)\n`);
    const got = await this.fetchImage({ url, file, dir, expected, digestsText, flatcarVersion: askedVersion, sigUrl: `${url}.sig` });
    if (got === undefined) throw new DownloadError(`cannot download ${shownUrl(url)}: the server answered 404 Not Found`, { url, status: 404, hint: 'check the --image URL' });
    return this.finishLocal(got, askedVersion);
  }

  private async fromFile(path: string, askedVersion: string | undefined): Promise<Outcome> {
    await readable(path, '--image');
    const file = basename(path);
    const digestsText = this.plan.digests === undefined ? undefined : await this.readDigests(this.plan.digests);
    const expected = digestsText === undefined ? undefined : this.expectedSha512(digestsText, file, this.plan.digests!);
    const head = await readHead(path);
    const compressed = isBzip2(head);
    if (!compressed) {
      const header = parseQcow2Header(head);
      if (!header.ok) throw notQcow2(path, header.problem, 'it was not changed');
    }
    const hashed = await this.hashWithProgress(path);
    if (expected !== undefined && hashed.sha512 !== expected) {
      throw new InvalidImageError(`the SHA-512 of ${path} is ${hashed.sha512.slice(0, 16)}…, the DIGESTS (${this.plan.digests}) say ${expected.slice(0, 16)}…`, {
        path,
        hint: 'the file is damaged or another release’s: download it again, or give its own DIGESTS',
      });
    }
    let verified: Verification = expected !== undefined ? 'digests' : 'none';
    if (this.plan.keyring !== undefined) {
      await readable(`${path}.sig`, 'the signature (--keyring needs <image>.sig beside the image)');
      await this.deps.tools.verifySignature(this.plan.keyring, `${path}.sig`, path, this.signal);
      verified = 'signature';
    }
    if (verified === 'none') this.io.err(`note: ${path} is not verified (no --digests; --keyring checks its .sig)\n`);
    const base = { source: path, sourceSha512: hashed.sha512, verified, flatcarVersion: askedVersion, channel: this.plan.channel };
    if (!compressed) {
      const header = parseQcow2Header(head);
      const image: Image = { ...base, path, sha512: hashed.sha512, bytes: hashed.bytes, virtualSize: header.ok ? header.virtualSize : 0n, downloaded: false };
      return this.finishLocal(image, askedVersion);
    }
    const dir = fileCacheDir(this.deps.cacheRoot, this.plan.channel, hashed.sha512);
    const cached = await readCachedImage(dir);
    if (cached && cached.sourceSha512 === hashed.sha512) {
      this.io.err(`Using the image decompressed before: ${cached.path}\n`);
      return this.finishLocal({ ...cached, ...base, verified, virtualSize: await this.qcow2Size(cached.path, false), downloaded: false }, askedVersion);
    }
    await makeDirectory(dir);
    const image = await this.decompressInto(path, dir, { removeSource: false, shown: path });
    const record: ImageRecord = { ...base, sha512: image.sha512, bytes: image.bytes };
    await atomicWriteFile(cachedImagePaths(dir).record, imageRecordJson(record));
    return this.finishLocal({ ...record, path: image.path, virtualSize: image.virtualSize, downloaded: false }, askedVersion);
  }

  /** An image from --image: its version (given, or derived from it), then the idempotency check and the box. */
  private async finishLocal(image: Image, askedVersion: string | undefined): Promise<Outcome> {
    const version = askedVersion ?? versionFromDigest(image.sha512);
    if (askedVersion === undefined) this.io.err(`Box version ${version}, derived from the image’s SHA-512 (--version sets one).\n`);
    const installed = await this.installed(version);
    const unchanged = this.unchanged(installed, version, (r) => r.sha512 === image.sha512, image.verified);
    if (unchanged) return { ...unchanged, image: image.path, source: image.source, downloaded: image.downloaded, flatcarVersion: image.flatcarVersion };
    return this.pack(image, version, installed);
  }

  // ---------------------------------------------------------------------------------------------
  // Downloading and verifying

  /**
   * Downloads `url` into `<dir>/<file>.part` (resuming), checks it against `expected` and, with
   * --keyring, its signature; then makes the qcow2 and its record in `dir`. undefined on 404.
   */
  private async fetchImage(a: { url: string; file: string; dir: string; expected: string | undefined; digestsText: string | undefined; flatcarVersion: string | undefined; sigUrl: string }): Promise<Image | undefined> {
    await makeDirectory(a.dir);
    const part = join(a.dir, `${a.file}.part`);
    const result = await download(a.url, part, {
      io: this.io,
      label: `Downloading ${a.file}`,
      signal: this.signal,
      idleTimeoutMs: this.deps.idleTimeoutMs,
      now: this.deps.now,
      beforeWrite: async ({ total, toWrite }) => {
        if (total === undefined) return;
        // The download, then a box of about the same size beside it; Vagrant copies the box
        // into its tmp/ and unpacks it from there.
        const err = spaceError([
          { what: 'the image cache', path: a.dir, free: await this.deps.freeBytes(a.dir), need: (toWrite ?? total) + total, why: `the download (${formatSize(total)}) and the box packed from it` },
          { what: 'Vagrant’s boxes (VAGRANT_HOME)', path: this.deps.vagrantHome, free: await this.deps.freeBytes(this.deps.vagrantHome), need: 2 * total, why: 'the box while Vagrant unpacks it, and the box itself' },
        ]);
        if (err) throw err;
      },
    });
    if (!result.found) return undefined;
    if (result.restarted && result.rangeSent) this.io.err(`(the server did not resume: ${a.file} was downloaded again from the start)\n`);
    let verified: Verification = 'none';
    if (a.expected !== undefined) {
      if (result.sha512 !== a.expected) {
        await rm(part, { force: true });
        throw new InvalidImageError(
          `the SHA-512 of the downloaded ${a.file} (${result.sha512.slice(0, 16)}…, ${formatSize(result.bytes)}) is not the one its DIGESTS give (${a.expected.slice(0, 16)}…); the download was removed, the next run downloads it again`,
          { path: part, hint: 'run the command again; if it fails the same way, the mirror serves a damaged or altered file: try another --release-url' },
        );
      }
      verified = 'digests';
      this.io.err(`${a.file}: SHA-512 matches the release’s DIGESTS\n`);
      await writeFile(join(a.dir, `${a.file}.DIGESTS`), a.digestsText!).catch(() => undefined);
    }
    if (this.plan.keyring !== undefined) {
      const sig = await fetchBytes(a.sigUrl, { limit: SMALL_FILE_LIMIT, signal: this.signal, idleTimeoutMs: this.deps.idleTimeoutMs });
      if (sig === undefined) throw new InvalidImageError(`--keyring: there is no signature at ${shownUrl(a.sigUrl)}`, { path: part, hint: 'leave out --keyring to rely on the DIGESTS, or use a mirror that has the .sig files' });
      const sigPath = join(a.dir, `${a.file}.sig`);
      await writeFile(sigPath, sig);
      try {
        await this.deps.tools.verifySignature(this.plan.keyring, sigPath, part, this.signal);
      } catch (e) {
        if (e instanceof InvalidImageError) {
          await rm(part, { force: true });
          throw new InvalidImageError(`${e.message}\nThe download was removed; the next run downloads it again.`, { path: part, hint: e.hint, cause: e });
        }
        throw e;
      }
      verified = 'signature';
      this.io.err(`${a.file}: the signature verifies with ${this.plan.keyring}\n`);
    }
    const base = { source: a.url, sourceSha512: result.sha512, verified, flatcarVersion: a.flatcarVersion, channel: this.plan.channel };
    const head = await readHead(part);
    let image: { path: string; sha512: string; bytes: number; virtualSize: bigint };
    if (isBzip2(head)) {
      image = await this.decompressInto(part, a.dir, { removeSource: true, shown: shownUrl(a.url) });
    } else {
      const header = parseQcow2Header(head);
      if (!header.ok) {
        await rm(part, { force: true });
        throw notQcow2(shownUrl(a.url), header.problem, 'the download was removed');
      }
      const { image: target } = cachedImagePaths(a.dir);
      await rename(part, target);
      image = { path: target, sha512: result.sha512, bytes: result.bytes, virtualSize: header.virtualSize };
    }
    const record: ImageRecord = { ...base, sha512: image.sha512, bytes: image.bytes };
    await atomicWriteFile(cachedImagePaths(a.dir).record, imageRecordJson(record));
    return { ...record, path: image.path, virtualSize: image.virtualSize, downloaded: true };
  }

  /**
   * `bzip2 -dc SOURCE` into the cache's qcow2, checking the qcow2 header as the first bytes pass
   * and hashing all of them. The qcow2 is written as `.tmp` and renamed when complete.
   */
  private async decompressInto(source: string, dir: string, o: { removeSource: boolean; shown: string }) {
    await this.deps.tools.checkBzip2();
    const { image: target } = cachedImagePaths(dir);
    const tmp = `${target}.tmp`;
    const hash = createHash('sha512');
    let head = Buffer.alloc(0);
    let header: ReturnType<typeof parseQcow2Header> | undefined;
    let bytes = 0;
    const shown = progress(this.io, `Decompressing ${basename(source).replace(/\.part$/, '')}`, { total: undefined, start: 0, now: this.deps.now });
    const sink = inspectingFileSink(tmp, {
      chunk(chunk) {
        if (header === undefined) {
          head = Buffer.concat([head, chunk]);
          if (head.length >= QCOW2_HEADER_BYTES) {
            header = parseQcow2Header(head);
            if (!header.ok) throw new NotQcow2(header.problem);
          }
        }
        hash.update(chunk);
        bytes += chunk.length;
        shown.update(bytes);
      },
      end() {
        if (header === undefined) header = parseQcow2Header(head);
        if (!header.ok) throw new NotQcow2(header.problem);
      },
    });
    try {
      await this.deps.tools.decompress(source, sink, this.signal);
    } catch (e) {
      await rm(tmp, { force: true });
      shown.finish();
      if (e instanceof NotQcow2) {
        if (o.removeSource) await rm(source, { force: true });
        throw notQcow2(`${o.shown}, decompressed,`, e.message, o.removeSource ? 'the download was removed' : 'it was not changed');
      }
      if (e instanceof CclabError) throw e;
      throw fileSystemError(e, 'cannot write', tmp) ?? e;
    }
    shown.finish();
    await rename(tmp, target);
    if (o.removeSource) await rm(source, { force: true });
    const h = header as Extract<ReturnType<typeof parseQcow2Header>, { ok: true }>;
    return { path: target, sha512: hash.digest('hex'), bytes, virtualSize: h.virtualSize };
  }

  private expectedSha512(digestsText: string, file: string, from: string): string {
    let parsed;
    try {
      parsed = parseDigests(digestsText);
    } catch (e) {
      if (e instanceof DigestsParseError) throw new InvalidImageError(`${from} is not a DIGESTS file: ${e.message}`, { hint: 'check the URL or file given' });
      throw e;
    }
    const found = sha512For(parsed, file);
    if ('problem' in found) throw new InvalidImageError(`${from} gives no SHA-512 for ${file}: ${found.problem}`, { hint: 'the DIGESTS must be those of this very file (a renamed file is not found in them)' });
    return found.sha512;
  }

  private async readDigests(where: string): Promise<string> {
    if (looksLikeUrl(where)) {
      const text = await fetchText(where, { limit: SMALL_FILE_LIMIT, signal: this.signal, idleTimeoutMs: this.deps.idleTimeoutMs });
      if (text === undefined) throw new DownloadError(`--digests: ${shownUrl(where)} answered 404 Not Found`, { url: where, status: 404 });
      return text;
    }
    const { readBounded, binaryProblem } = await import('../bounded-read.js');
    let r;
    try {
      r = await readBounded(where, SMALL_FILE_LIMIT);
    } catch (e) {
      throw fileSystemError(e, 'cannot read', where) ?? e;
    }
    const problem = r.tooLarge ? `it is larger than ${formatSize(SMALL_FILE_LIMIT)}` : binaryProblem(r.bytes);
    if (problem !== undefined) throw new InvalidImageError(`--digests ${where} is not a DIGESTS file: ${problem}`, { path: where });
    return r.bytes.toString('utf8');
  }

  private async hashWithProgress(path: string): Promise<{ sha512: string; bytes: number }> {
    this.io.err(`Hashing ${path} (SHA-512)\n`);
    return sha512OfFile(path, this.signal);
  }

  private async qcow2Size(path: string, removeOnError: boolean): Promise<bigint> {
    const header = parseQcow2Header(await readHead(path));
    if (!header.ok) {
      if (removeOnError) await rm(path, { force: true });
      throw notQcow2(path, header.problem, 'it was not changed');
    }
    return header.virtualSize;
  }

  // ---------------------------------------------------------------------------------------------
  // The installed box

  /**
   * The installed box of this name, provider and version. Read from VAGRANT_HOME directly: Vagrant
   * lists a box whose `boxes/NAME/VERSION/PROVIDER/metadata.json` exists (BoxCollection#all), and
   * not starting Vagrant for `box list` saves 2–3 s, most of the time of a run that has nothing to do.
   */
  private async installed(version: string): Promise<Installed | undefined> {
    const dir = await installedBoxDir(this.deps.vagrantHome, this.plan.name, version, this.plan.provider);
    if (dir === undefined) return undefined;
    return { dir, record: await readInstalledRecord(dir) };
  }

  /**
   * Whether the installed box of `version` can stay: it holds the same image (`same` says, from
   * its record) verified at least as well as this run requires. Then the outcome, said on stderr.
   * Without --force, a box of that version that holds another image (or one cclab did not add) is
   * refused with a UsageError; the same image verified less well than asked (--keyring now,
   * DIGESTS then) is added again. undefined: go on and add.
   */
  private unchanged(installed: Installed | undefined, version: string, same: (r: ImageRecord) => boolean, required = this.required): (Omit<Outcome, 'source' | 'downloaded' | 'flatcarVersion'>) | undefined {
    if (installed === undefined) return undefined;
    const r = installed.record;
    const isSame = r !== undefined && same(r);
    if (this.plan.force) return undefined;
    if (!isSame) this.refuseOther(installed, version);
    if (!atLeast(r!.verified, required)) {
      this.io.err(`Box ${this.plan.name} ${version} is installed with this image, verified by ${r!.verified}: verifying it by ${required} and adding it again.\n`);
      return undefined;
    }
    this.io.err(`Box ${this.plan.name} ${version} (${this.plan.provider}) is already installed with this image (SHA-512 ${r!.sha512.slice(0, 16)}…): nothing to do. --force adds it again.\n`);
    return { name: this.plan.name, provider: this.plan.provider, version, image: join(installed.dir, BOX_IMAGE), sha512: r!.sha512, verified: r!.verified, bytes: r!.bytes, action: 'unchanged' };
  }

  /** Refuses (UsageError) to replace an installed box of this version that holds another image, or one cclab did not add. */
  private refuseOther(installed: Installed, version: string): never {
    const what =
      installed.record === undefined
        ? `it was not added by \`cclab box add\` (no ${BOX_RECORD} in ${installed.dir})`
        : `it holds another image (SHA-512 ${installed.record.sha512.slice(0, 16)}…, from ${installed.record.source})`;
    throw new UsageError(`box ${this.plan.name} ${version} (${this.plan.provider}) is already installed, and ${what}`, {
      hint: `add --force to replace it, or remove it first: vagrant box remove ${this.plan.name} --provider ${this.plan.provider} --box-version ${version}`,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The box

  private async pack(image: Image, version: string, installed: Installed | undefined): Promise<Outcome> {
    const { io, deps, plan } = this;
    const root = packRoot(deps.cacheRoot, plan.channel);
    await makeDirectory(root);
    const needs: SpaceNeed[] = [
      { what: 'the image cache', path: root, free: await deps.freeBytes(root), need: image.bytes + MIB, why: `the box (${formatSize(image.bytes)})` },
      { what: 'Vagrant’s boxes (VAGRANT_HOME)', path: deps.vagrantHome, free: await deps.freeBytes(deps.vagrantHome), need: 2 * image.bytes + MIB, why: 'the box while Vagrant unpacks it, and the box itself' },
    ];
    const err = spaceError(needs);
    if (err) throw err;
    const packDir = await mkdtemp(join(root, 'pack-'));
    try {
      const boxPath = join(packDir, `${plan.name}-${version}.box`);
      const record: ImageRecord = {
        sha512: image.sha512,
        bytes: image.bytes,
        source: image.source,
        sourceSha512: image.sourceSha512,
        verified: image.verified,
        flatcarVersion: image.flatcarVersion,
        channel: plan.channel,
      };
      const small = [
        { name: BOX_METADATA, data: boxMetadata(virtualSizeGiB(image.virtualSize)) },
        { name: BOX_VAGRANTFILE, data: boxVagrantfile(plan.name, version) },
        { name: BOX_RECORD, data: imageRecordJson(record) },
      ];
      const total = tarSize([...small.map((e) => Buffer.byteLength(e.data)), image.bytes]);
      const shown = progress(io, `Packing ${basename(boxPath)}`, { total, start: 0, now: deps.now });
      let box;
      try {
        box = await writeTar(
          boxPath,
          [...small, { name: BOX_IMAGE, file: image.path }],
          { mtime: Math.floor(Date.now() / 1000), signal: this.signal, onProgress: (n) => shown.update(n) },
        );
      } catch (e) {
        shown.finish();
        if (this.signal.aborted) throw interrupted(this.signal, 'interrupted while packing the box', 'nothing was added; the image stays in the cache');
        throw fileSystemError(e, 'cannot write', boxPath) ?? e;
      }
      shown.finish();
      const catalog = join(packDir, `${plan.name}.json`);
      await writeFile(catalog, boxCatalog({ name: plan.name, version, provider: plan.provider, boxPath, checksum: box.sha512, description: `Flatcar Container Linux (${plan.channel}) for vagrant-libvirt, from ${image.source}` }));
      const replace = installed !== undefined;
      io.err(`Adding box ${plan.name} ${version} (${plan.provider}) to Vagrant${replace ? ', replacing the installed one' : ''}\n`);
      try {
        await deps.vagrant.boxAdd(catalog, {
          provider: plan.provider,
          version,
          force: replace || plan.force,
          signal: this.signal,
          // Vagrant's copy and unpack progress (`Progress: 40%`) would be a line per redraw.
          onLine: (line) => {
            if (!/Progress: \d+%/.test(line)) io.err(`  ${line}\n`);
          },
        });
      } catch (e) {
        if (e instanceof InterruptedError) throw e.restated('interrupted while Vagrant added the box', 'Vagrant removes a box it did not finish adding; run the command again (the image stays in the cache)');
        if (e instanceof CommandError) {
          throw new CommandError(e.message, { command: e.command, exitStatus: e.exitStatus, output: e.outputTail }, { hint: 'nothing was added; the verified image stays in the cache, so running the command again does not download it', cause: e });
        }
        throw e;
      }
      return {
        name: plan.name,
        provider: plan.provider,
        version,
        image: image.path,
        sha512: image.sha512,
        verified: image.verified,
        bytes: image.bytes,
        action: replace ? 'replaced' : 'added',
        source: image.source,
        flatcarVersion: image.flatcarVersion,
        downloaded: image.downloaded,
      };
    } finally {
      await rm(packDir, { recursive: true, force: true });
    }
  }
}

/** Whether verification `have` is at least `want` (signature ⊃ digests ⊃ none). */
function atLeast(have: Verification, want: Verification): boolean {
  const rank: Record<Verification, number> = { none: 0, digests: 1, signature: 2 };
  return rank[have] >= rank[want];
}

class NotQcow2 extends Error {}

function notQcow2(what: string, problem: string, fate: string): InvalidImageError {
  return new InvalidImageError(`${what} cannot be a vagrant-libvirt box: ${problem}; ${fate}`, {
    path: what,
    hint: 'vagrant-libvirt boxes hold a qcow2 image: convert it with `qemu-img convert -O qcow2 IN OUT` and pass --image OUT',
  });
}

/** The first bytes of a file (enough for the qcow2 header and bzip2's magic). */
async function readHead(path: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileSystemError(e, 'cannot read', path) ?? e;
  }
  try {
    const buf = Buffer.alloc(QCOW2_HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readable(path: string, what: string): Promise<void> {
  try {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    await fh.close();
    if (!st.isFile()) throw new UsageError(`${what}: ${path} is not a regular file`);
  } catch (e) {
    if (e instanceof CclabError) throw e;
    const fsError = fileSystemError(e, 'cannot read', path);
    if (fsError) throw new UsageError(`${what}: ${fsError.message}`, { hint: fsError.hint, cause: e });
    throw e;
  }
}

/**
 * A file written from a stream, each chunk shown to `inspect` first (which may refuse it by
 * throwing). The stream finishes only once the file is closed, so a caller that waits for it can
 * rename the file at once.
 */
function inspectingFileSink(path: string, inspect: { chunk(chunk: Buffer): void; end(): void }): Writable {
  let fh: FileHandle | undefined;
  return new Writable({
    construct(cb) {
      open(path, 'w').then((h) => {
        fh = h;
        cb();
      }, cb);
    },
    write(chunk: Buffer, _enc, cb) {
      try {
        inspect.chunk(chunk);
      } catch (e) {
        cb(e as Error);
        return;
      }
      fh!.write(chunk).then(() => cb(), cb);
    },
    final(cb) {
      try {
        inspect.end();
      } catch (e) {
        cb(e as Error);
        return;
      }
      const h = fh!;
      fh = undefined;
      h.close().then(() => cb(), cb);
    },
    destroy(err, cb) {
      const h = fh;
      fh = undefined;
      if (h === undefined) cb(err);
      else h.close().then(() => cb(err), () => cb(err));
    },
  });
}
