/**
 * What goes into a vagrant-libvirt box and the catalog that adds it (pure).
 *
 *   metadata.json      {"provider":"libvirt","format":"qcow2","virtual_size":<GiB>}
 *   Vagrantfile        the box's defaults: user core, virtio disk and NIC
 *   box.img            the qcow2
 *   cclab-image.json   the image's SHA-512 and where it came from (ImageRecord), so that a later
 *                      `cclab box add` can tell whether the installed box holds the same image
 *
 * The catalog (Vagrant's box metadata format) names the box and its version, which a box file
 * added by itself (`vagrant box add NAME FILE`) cannot carry: such a box always has version 0.
 */
import { pathToFileURL } from 'node:url';

export const BOX_IMAGE = 'box.img';
export const BOX_METADATA = 'metadata.json';
export const BOX_VAGRANTFILE = 'Vagrantfile';
/** The record of the image inside the box, also found in the installed box's directory. */
export const BOX_RECORD = 'cclab-image.json';

export type Verification = 'digests' | 'signature' | 'none';

/** What cclab records about the image in a box (BOX_RECORD). */
export interface ImageRecord {
  /** SHA-512 of box.img (the qcow2), hex. */
  sha512: string;
  bytes: number;
  /** Where the image came from: a URL, or a local path. */
  source: string;
  /** SHA-512 of the file as it was fetched or given (the `.bz2` when it came compressed): what DIGESTS list. */
  sourceSha512: string;
  verified: Verification;
  /** The Flatcar release, when known. */
  flatcarVersion?: string | undefined;
  channel: string;
}

export function boxMetadata(virtualSizeGiB: number): string {
  return JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: virtualSizeGiB }) + '\n';
}

/**
 * The box's Vagrantfile: Flatcar's user is `core`; the QEMU image's kernel has virtio drivers and
 * its OEM (`qemu`) expects virtio devices. No synced folder: Flatcar has no tools for one.
 */
export function boxVagrantfile(name: string, version: string): string {
  return [
    `# Vagrantfile of the box ${name} ${version}: Flatcar Container Linux's QEMU image for vagrant-libvirt,`,
    '# packed by `cclab box add`.',
    'Vagrant.configure("2") do |config|',
    '  config.ssh.username = "core"',
    '  config.vm.synced_folder ".", "/vagrant", disabled: true',
    '  config.vm.provider :libvirt do |lv|',
    '    lv.disk_bus = "virtio"',
    '    lv.nic_model_type = "virtio"',
    '  end',
    'end',
    '',
  ].join('\n');
}

export function imageRecordJson(record: ImageRecord): string {
  return JSON.stringify(record, null, 2) + '\n';
}

/** The record in `text`, or undefined when it is not one (another tool's file, a damaged one). */
export function parseImageRecord(text: string): ImageRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const hex = (x: unknown) => typeof x === 'string' && /^[0-9a-f]{128}$/.test(x);
  if (!hex(r.sha512) || !hex(r.sourceSha512) || typeof r.source !== 'string' || typeof r.channel !== 'string') return undefined;
  if (typeof r.bytes !== 'number' || !Number.isSafeInteger(r.bytes) || r.bytes < 0) return undefined;
  if (r.verified !== 'digests' && r.verified !== 'signature' && r.verified !== 'none') return undefined;
  if (r.flatcarVersion !== undefined && typeof r.flatcarVersion !== 'string') return undefined;
  return {
    sha512: r.sha512 as string,
    bytes: r.bytes,
    source: r.source,
    sourceSha512: r.sourceSha512 as string,
    verified: r.verified,
    flatcarVersion: r.flatcarVersion as string | undefined,
    channel: r.channel,
  };
}

export interface CatalogInput {
  name: string;
  version: string;
  provider: string;
  /** The box file (absolute path). */
  boxPath: string;
  /** SHA-512 of the box file. */
  checksum: string;
  description?: string;
}

/** Vagrant's box catalog (metadata) JSON with one version and one provider. */
export function boxCatalog(c: CatalogInput): string {
  return (
    JSON.stringify(
      {
        name: c.name,
        ...(c.description ? { description: c.description } : {}),
        versions: [
          {
            version: c.version,
            providers: [{ name: c.provider, url: pathToFileURL(c.boxPath).href, checksum_type: 'sha512', checksum: c.checksum }],
          },
        ],
      },
      null,
      2,
    ) + '\n'
  );
}
