/**
 * The image cache of `cclab box add`, under cclab's cache directory (src/home/paths.ts:
 * `$XDG_CACHE_HOME/cclab`, else `~/.cache/cclab`):
 *
 *   images/flatcar/<channel>/lock                 held while a `box add` of the channel runs
 *   images/flatcar/<channel>/tmp/pack-*           a box being packed (removed when done; one left by
 *                                                  a killed run is removed by the next, under the lock)
 *   images/flatcar/<channel>/<version>/           a release's image
 *       flatcar_production_qemu_image.img         the verified qcow2 (decompressed when it came as .bz2)
 *       image.json                                 what is known of it (ImageRecord); written last:
 *                                                  an image without it is not used
 *       <file>.part                                an interrupted download, resumed by the next run
 *       <file>.DIGESTS, <file>.sig                 what it was verified with
 *   images/flatcar/<channel>/url-<hash of URL>/   the same, for --image URL
 *   images/flatcar/<channel>/file-<sha512 prefix>/ a --image FILE that was .bz2, decompressed
 *
 * Plus the free-space check, and where Vagrant keeps an installed box.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatSize } from '../bounded-read.js';
import { FileSystemError } from '../errors.js';
import { errnoCode } from '../home/errno.js';
import { BOX_RECORD, parseImageRecord, type ImageRecord } from './pack.js';
import { QEMU_IMAGE } from './names.js';

export const CACHE_RECORD = 'image.json';

export function channelCacheDir(cacheRoot: string, channel: string): string {
  return join(cacheRoot, 'images', 'flatcar', channel);
}

export function releaseCacheDir(cacheRoot: string, channel: string, version: string): string {
  return join(channelCacheDir(cacheRoot, channel), version);
}

export function urlCacheDir(cacheRoot: string, channel: string, url: string): string {
  return join(channelCacheDir(cacheRoot, channel), `url-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`);
}

export function fileCacheDir(cacheRoot: string, channel: string, sourceSha512: string): string {
  return join(channelCacheDir(cacheRoot, channel), `file-${sourceSha512.slice(0, 16)}`);
}

/** Where boxes are packed: beside the images (the same file system), under the channel's lock. */
export function packRoot(cacheRoot: string, channel: string): string {
  return join(channelCacheDir(cacheRoot, channel), 'tmp');
}

/** The qcow2 and its record in a cache directory. */
export function cachedImagePaths(dir: string): { image: string; record: string } {
  return { image: join(dir, QEMU_IMAGE), record: join(dir, CACHE_RECORD) };
}

/**
 * The verified image cached in `dir`, or undefined: its record must parse and the image must have
 * the recorded size (a record never outlives its image's rename, but a user may have removed or
 * truncated the file).
 */
export async function readCachedImage(dir: string): Promise<(ImageRecord & { path: string }) | undefined> {
  const { image, record } = cachedImagePaths(dir);
  let text: string;
  try {
    text = await readFile(record, 'utf8');
  } catch {
    return undefined;
  }
  const r = parseImageRecord(text);
  if (r === undefined) return undefined;
  try {
    if ((await stat(image)).size !== r.bytes) return undefined;
  } catch {
    return undefined;
  }
  return { ...r, path: image };
}

/** Free bytes (for an unprivileged user) on the file system that holds `path`, or its nearest existing parent. */
export async function freeBytes(path: string): Promise<number> {
  let p = path;
  for (;;) {
    try {
      const s = await statfs(p);
      return s.bavail * s.bsize;
    } catch (e) {
      const parent = dirname(p);
      if (errnoCode(e) !== 'ENOENT' || parent === p) throw e;
      p = parent;
    }
  }
}

export interface SpaceNeed {
  /** What the space is for: `the image cache`. */
  what: string;
  path: string;
  free: number;
  need: number;
  /** Why that much: `the image and the box packed from it`. */
  why: string;
}

/** A FileSystemError (ENOSPC) naming every place short of space, or undefined. */
export function spaceError(needs: SpaceNeed[]): FileSystemError | undefined {
  const short = needs.filter((n) => n.free < n.need);
  if (short.length === 0) return undefined;
  const lines = short.map((n) => `${n.what} (${n.path}) has ${formatSize(n.free)} free, and needs about ${formatSize(n.need)} for ${n.why}`);
  return new FileSystemError(`not enough free space: ${lines.join('; ')}`, {
    path: short[0]!.path,
    code: 'ENOSPC',
    hint: `free some space (\`df -h ${short.map((n) => n.path).join(' ')}\`), or move the cache (XDG_CACHE_HOME) or Vagrant's boxes (VAGRANT_HOME) to a larger file system; an interrupted download is kept and resumed`,
  });
}

/**
 * The directory of an installed box: `boxes/<name>/<version>/<provider>` (Vagrant ≤ 2.3), or
 * `boxes/<name>/<version>/<architecture>/<provider>` (Vagrant 2.4 and later); undefined when
 * there is neither.
 */
export async function installedBoxDir(vagrantHome: string, name: string, version: string, provider: string): Promise<string | undefined> {
  const versionDir = join(vagrantHome, 'boxes', name.replaceAll('/', '-VAGRANTSLASH-'), version);
  const direct = join(versionDir, provider);
  if (await isFile(join(direct, 'metadata.json'))) return direct;
  let entries: string[];
  try {
    entries = await readdir(versionDir);
  } catch {
    return undefined;
  }
  for (const arch of entries.sort()) {
    const dir = join(versionDir, arch, provider);
    if (await isFile(join(dir, 'metadata.json'))) return dir;
  }
  return undefined;
}

/** The image record in an installed box's directory, or undefined (not added by cclab, or damaged). */
export async function readInstalledRecord(boxDir: string): Promise<ImageRecord | undefined> {
  try {
    return parseImageRecord(await readFile(join(boxDir, BOX_RECORD), 'utf8'));
  } catch {
    return undefined;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
