/**
 * Reading a file the user named, with a size limit, and never in a way a signal cannot end.
 *
 * - A limit: /dev/urandom, /dev/zero or a huge log ends in `tooLarge` after `limit` bytes instead
 *   of a buffer that grows until memory runs out (the size the file system reports is not trusted).
 * - Interruptible: the file is opened with O_NONBLOCK, so opening a FIFO does not wait for a writer
 *   in a libuv thread-pool thread (a blocked pool thread keeps the process from exiting, even
 *   with process.exit). A FIFO or socket is then read through a net.Socket on its descriptor
 *   (epoll, no thread), which waits for its writer as `cat` would; a character device that has
 *   nothing yet (EAGAIN) is polled.
 */
import { close, constants, fstat, open, read, type Stats } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';

export interface BoundedRead {
  /** At most `limit` bytes. */
  bytes: Buffer;
  /** True when the file holds more than `limit` bytes (then `bytes` is only its beginning). */
  tooLarge: boolean;
}

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);
const readAsync = promisify(read);
const CHUNK = 64 * 1024;

export async function readBounded(path: string, limit: number): Promise<BoundedRead> {
  const fd = await openAsync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let stats: Stats;
  try {
    stats = await fstatAsync(fd);
  } catch (e) {
    await closeAsync(fd).catch(() => undefined);
    throw e;
  }
  if (stats.isFIFO() || stats.isSocket()) return readStream(fd, limit);
  try {
    return await readFd(fd, limit);
  } finally {
    await closeAsync(fd).catch(() => undefined);
  }
}

async function readFd(fd: number, limit: number): Promise<BoundedRead> {
  const chunks: Buffer[] = [];
  let total = 0;
  // One byte past the limit tells "exactly the limit" from "more".
  while (total <= limit) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
    let bytesRead: number;
    try {
      ({ bytesRead } = await readAsync(fd, buffer, 0, buffer.length, null));
    } catch (e) {
      // A character device with nothing to read yet (a terminal): wait a little, in the event loop.
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        await new Promise((resolve) => setTimeout(resolve, 25));
        continue;
      }
      throw e;
    }
    if (bytesRead === 0) break;
    chunks.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    total += bytesRead;
  }
  return result(chunks, total, limit);
}

function readStream(fd: number, limit: number): Promise<BoundedRead> {
  return new Promise((resolve, reject) => {
    const socket = new net.Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result(chunks, total, limit));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total > limit) finish();
    });
    socket.on('end', finish);
    socket.on('error', (e) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(e);
    });
  });
}

function result(chunks: Buffer[], total: number, limit: number): BoundedRead {
  const all = Buffer.concat(chunks, total);
  return total > limit ? { bytes: all.subarray(0, limit), tooLarge: true } : { bytes: all, tooLarge: false };
}

/** "64 KiB", "1 MiB", "20.5 MiB" for messages. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Why these bytes are not text, or undefined: a NUL byte, or a byte sequence that is not UTF-8.
 * Names the offset so the user can look.
 */
export function binaryProblem(bytes: Buffer): string | undefined {
  const nul = bytes.indexOf(0);
  if (nul >= 0) return `it contains a NUL byte (at byte ${nul})`;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'it is not UTF-8 text';
  }
  return undefined;
}

/**
 * A text file the user named, read with readBounded: at most `limit` bytes, interruptible on a
 * FIFO. Too large or not text is `invalid(message)`; a read error is `failed(error)`.
 */
export async function readText(file: string, limit: number, what: string, failed: (e: unknown) => Error, invalid: (message: string) => Error): Promise<string> {
  let read;
  try {
    read = await readBounded(file, limit);
  } catch (e) {
    throw failed(e);
  }
  if (read.tooLarge) throw invalid(`it is larger than ${formatSize(limit)}, more than ${what} holds; is it the right file?`);
  const binary = binaryProblem(read.bytes);
  if (binary) throw invalid(`it is not a text file: ${binary}`);
  return read.bytes.toString('utf8');
}
