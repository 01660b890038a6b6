/**
 * The qcow2 header (pure), as far as a box needs it: the magic `QFI\xfb`, the version (2 or 3),
 * and the virtual disk size (big-endian u64 at offset 24), which metadata.json announces in GiB.
 * QEMU's docs/interop/qcow2.txt describes the layout.
 */

/** Bytes of the header read: magic (4), version (4), backing file offset (8), its size (4), cluster bits (4), size (8). */
export const QCOW2_HEADER_BYTES = 32;
const MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const BZIP2_MAGIC = Buffer.from('BZh');
const GIB = 1024 ** 3;

export type Qcow2Header = { ok: true; version: 2 | 3; virtualSize: bigint } | { ok: false; problem: string };

/** What the first bytes of an image say it is. */
export function parseQcow2Header(head: Uint8Array): Qcow2Header {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length < QCOW2_HEADER_BYTES) {
    return { ok: false, problem: `it is ${b.length} bytes long, shorter than a qcow2 header (${QCOW2_HEADER_BYTES} bytes)` };
  }
  if (!b.subarray(0, 4).equals(MAGIC)) return { ok: false, problem: `it is not a qcow2 image (${describeMagic(b)})` };
  const version = b.readUInt32BE(4);
  if (version !== 2 && version !== 3) return { ok: false, problem: `it is a qcow2 image of version ${version}; QEMU and vagrant-libvirt read versions 2 and 3` };
  const virtualSize = b.readBigUInt64BE(24);
  if (virtualSize === 0n) return { ok: false, problem: 'its qcow2 header gives a virtual size of 0 bytes' };
  return { ok: true, version, virtualSize };
}

/** What a file that is not qcow2 looks like, for the message. */
function describeMagic(b: Buffer): string {
  if (b.subarray(0, 3).equals(BZIP2_MAGIC)) return 'it is bzip2-compressed';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'it is gzip-compressed';
  if (b.subarray(0, 4).equals(Buffer.from('KDMV'))) return 'it is a VMDK image';
  if (b.subarray(0, 8).equals(Buffer.from('conectix'))) return 'it is a VHD image';
  if (b.subarray(0, 4).equals(Buffer.from([0x3c, 0x3c, 0x3c, 0x20]))) return 'it is a VirtualBox VDI image';
  return `it starts with the bytes ${b.subarray(0, 4).toString('hex')}, not qcow2's 514649fb; it may be a raw disk image`;
}

/** Whether the bytes start like a bzip2 stream (`BZh` and a block size digit). */
export function isBzip2(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68 && head[3]! >= 0x31 && head[3]! <= 0x39;
}

/** The virtual size in whole GiB, rounded up (metadata.json's `virtual_size`). */
export function virtualSizeGiB(virtualSize: bigint): number {
  return Number((virtualSize + BigInt(GIB) - 1n) / BigInt(GIB));
}
