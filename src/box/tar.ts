/**
 * Writing a box file: a tar archive of a few entries, streamed.
 *
 * Why Node streams and not the system `tar`: the box must be hashed (its SHA-512 goes into the
 * catalog Vagrant checks it against), and here one pass writes and hashes it, reading box.img
 * straight from the image cache — no staging directory of copies or links, no second read of
 * 1 GB. Nothing depends on which tar is installed (GNU and BSD tar differ in flags and in the
 * headers they write), and the format needed is small: POSIX ustar headers for four regular files
 * (GNU's base-256 size field beyond 8 GiB, which bsdtar — what Vagrant unpacks boxes with — and GNU
 * tar read). The header is a pure function the tests check byte by byte; `tar -tvf` and a real
 * `vagrant box add` read the result in the tests.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const BLOCK = 512;
/** The largest size ustar's 11 octal digits hold (8 GiB − 1). */
const OCTAL_SIZE_MAX = 8 ** 11 - 1;

export interface TarEntryHeader {
  /** A plain file name (no directory), at most 100 bytes. */
  name: string;
  size: number;
  mode?: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(h: TarEntryHeader): Buffer {
  const name = Buffer.from(h.name, 'utf8');
  if (name.length === 0 || name.length > 100 || h.name.includes('/') || h.name.includes('\0')) {
    throw new Error(`tar entry name must be a plain name of 1–100 bytes: ${JSON.stringify(h.name)}`);
  }
  if (!Number.isSafeInteger(h.size) || h.size < 0) throw new Error(`bad tar entry size ${h.size}`);
  const b = Buffer.alloc(BLOCK, 0);
  name.copy(b, 0);
  octal(b, 100, 8, h.mode ?? 0o644);
  octal(b, 108, 8, 0); // uid
  octal(b, 116, 8, 0); // gid
  if (h.size <= OCTAL_SIZE_MAX) octal(b, 124, 12, h.size);
  else base256(b, 124, 12, h.size);
  octal(b, 136, 12, Math.max(0, Math.floor(h.mtime)));
  b.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  b.write('0', 156, 'latin1'); // typeflag: regular file
  b.write('ustar\u000000', 257, 'latin1'); // magic "ustar\0", version "00"
  let sum = 0;
  for (const byte of b) sum += byte;
  // Six octal digits, NUL, space: what GNU and BSD tar write.
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return b;
}

/** `value` as `width - 1` octal digits and a NUL. */
function octal(b: Buffer, offset: number, width: number, value: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, 'latin1');
}

/** GNU's base-256 number: the first byte's high bit set, the value big-endian in the rest. */
function base256(b: Buffer, offset: number, width: number, value: number): void {
  let v = BigInt(value);
  for (let i = offset + width - 1; i > offset; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[offset] = 0x80;
}

/** Zero bytes that fill an entry of `size` bytes up to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest, 0);
}

/** The size of an archive of files of these sizes. */
export function tarSize(sizes: number[]): number {
  return sizes.reduce((sum, size) => sum + BLOCK + size + tarPadding(size).length, 0) + 2 * BLOCK;
}

/** The end of an archive: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK, 0);

/** An entry of the box: its bytes, or a file read as it is written. */
export type TarEntry = { name: string; mode?: number; data: string | Buffer } | { name: string; mode?: number; file: string };

export interface WrittenTar {
  bytes: number;
  sha512: string;
}

/**
 * Writes the archive of `entries` to `path` and returns its size and SHA-512. A file entry must
 * keep its size while it is read (a file that grows or shrinks is an error, not a corrupt box).
 * `onProgress` gets the bytes written so far.
 */
export async function writeTar(path: string, entries: TarEntry[], opts: { mtime: number; signal?: AbortSignal; onProgress?: (bytes: number) => void }): Promise<WrittenTar> {
  const sized = await Promise.all(
    entries.map(async (e) => ('file' in e ? { ...e, size: (await stat(e.file)).size } : { ...e, bytes: Buffer.from(e.data), size: Buffer.byteLength(e.data) })),
  );
  async function* archive(): AsyncGenerator<Buffer> {
    for (const e of sized) {
      yield tarHeader({ name: e.name, size: e.size, mode: e.mode, mtime: opts.mtime });
      if ('bytes' in e) yield e.bytes;
      else {
        let read = 0;
        for await (const chunk of createReadStream(e.file, { highWaterMark: 1024 * 1024 })) {
          read += (chunk as Buffer).length;
          if (read > e.size) break;
          yield chunk as Buffer;
        }
        if (read !== e.size) throw new Error(`${e.file} changed size while it was packed (${e.size} bytes, then ${read})`);
      }
      yield tarPadding(e.size);
    }
    yield TAR_END;
  }
  const hash = createHash('sha512');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      opts.onProgress?.(bytes);
      cb(null, chunk);
    },
  });
  await pipeline(archive(), tap, createWriteStream(path, { flags: 'wx' }), opts.signal ? { signal: opts.signal } : {});
  return { bytes, sha512: hash.digest('hex') };
}
