/**
 * `cclab box add`: Flatcar's QEMU image as a vagrant-libvirt box (src/box/add.ts), with the real
 * Vagrant, bzip2, gpgv and file system behind it.
 */
import { resolve } from 'node:path';
import { addBox, type BoxAddOptions, type BoxAddResult } from '../box/add.js';
import { freeBytes } from '../box/cache.js';
import { realTools } from '../box/tools.js';
import { formatSize } from '../bounded-read.js';
import { orderly, type Context } from '../context.js';
import { cacheHome, vagrantHome } from '../home/paths.js';
import { createVagrantDriver } from '../vagrant/driver.js';

export async function add(opts: BoxAddOptions & { json: boolean }, ctx: Context): Promise<void> {
  const result = await addWithRealTools(opts, ctx);
  if (opts.json) {
    ctx.io.out(JSON.stringify(jsonDocument(result), null, 2) + '\n');
    return;
  }
  ctx.io.out(summary(result));
}

/** `box add` with the real Vagrant, tools and file system (also what `up` runs for a missing Flatcar box). */
export function addWithRealTools(opts: BoxAddOptions, ctx: Context): Promise<BoxAddResult> {
  // Orderly: on Ctrl-C the download, bzip2 or Vagrant is stopped and the pack files are removed
  // before cclab exits (the .part stays for the next run).
  return orderly(ctx, () => addBox(opts, {
    vagrant: createVagrantDriver({ env: ctx.env }),
    tools: realTools(ctx.env, ctx.cwd),
    freeBytes,
    cacheRoot: resolve(ctx.cwd, cacheHome(ctx.env)),
    // Vagrant reads a relative VAGRANT_HOME against its working directory, which is ours.
    vagrantHome: resolve(ctx.cwd, vagrantHome(ctx.env)),
    io: ctx.io,
    signal: ctx.signal,
    cwd: ctx.cwd,
  }));
}

/** The --json document. */
export function jsonDocument(r: BoxAddResult): Record<string, unknown> {
  return {
    name: r.name,
    provider: r.provider,
    version: r.version,
    image: r.image,
    sha512: r.sha512,
    verified: r.verified,
    bytes: r.bytes,
    seconds: r.seconds,
    action: r.action,
    source: r.source,
    flatcarVersion: r.flatcarVersion ?? null,
    downloaded: r.downloaded,
  };
}

const VERIFIED: Record<BoxAddResult['verified'], string> = {
  digests: 'SHA-512 checked against the release’s DIGESTS',
  signature: 'signature checked with gpgv, and SHA-512 against the DIGESTS',
  none: 'NOT verified (no DIGESTS, no signature)',
};

export function summary(r: BoxAddResult): string {
  const verb = r.action === 'unchanged' ? 'is already installed' : r.action === 'replaced' ? 'replaced' : 'added';
  return [
    `Box ${r.name} ${r.version} (${r.provider}) ${verb}.`,
    `  image:    ${r.image} (${formatSize(r.bytes)}, from ${r.source})`,
    `  sha512:   ${r.sha512}`,
    `  verified: ${VERIFIED[r.verified]}`,
    `Use it in a Vagrantfile with config.vm.box = "${r.name}" and config.vm.box_version = "${r.version}".`,
    '',
  ].join('\n');
}
