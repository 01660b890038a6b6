/**
 * Flatcar's `.DIGESTS` files (pure). Each release file has one beside it:
 *
 *   # MD5 HASH
 *   0123…ef  flatcar_production_qemu_image.img.bz2
 *   # SHA1 HASH
 *   …
 *   # SHA512 HASH
 *   89ab…01  flatcar_production_qemu_image.img.bz2
 *
 * A section may list several files; `<hex> *<name>` (binary mode of sha512sum) is read too.
 */

export type DigestAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

/** Every digest of every file, by algorithm, then file name; hex in lower case. */
export type Digests = Record<DigestAlgorithm, Map<string, string>>;

export class DigestsParseError extends Error {
  override name = 'DigestsParseError';
}

/**
 * The digests in `text`. Lines outside a known section (another algorithm, a PGP armour that some
 * mirrors add) are skipped; a line inside a known section that is not `<hex>  <name>` of the
 * section's length is an error naming its line number.
 */
export function parseDigests(text: string): Digests {
  const out: Digests = { md5: new Map(), sha1: new Map(), sha256: new Map(), sha512: new Map() };
  let section: DigestAlgorithm | undefined;
  let skipping = false;
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const header = /^#\s*([A-Za-z0-9]+)\s+HASH\s*$/i.exec(line);
    if (header) {
      const algo = header[1]!.toLowerCase();
      section = algo in HEX_LENGTH ? (algo as DigestAlgorithm) : undefined;
      skipping = section === undefined;
      continue;
    }
    if (section === undefined || skipping) continue;
    const m = /^([0-9A-Fa-f]+)\s+\*?(\S.*)$/.exec(line);
    if (!m || m[1]!.length !== HEX_LENGTH[section]) {
      throw new DigestsParseError(`line ${i + 1} is not "<${section} in hex>  <file name>": ${JSON.stringify(line.slice(0, 80))}`);
    }
    out[section].set(m[2]!.trim(), m[1]!.toLowerCase());
  }
  return out;
}

/**
 * The SHA-512 that `digests` give for `fileName` (the exact name), or a sentence saying why there
 * is none (the file names the section does list, so a wrong name is easy to see).
 */
export function sha512For(digests: Digests, fileName: string): { sha512: string } | { problem: string } {
  const found = digests.sha512.get(fileName);
  if (found !== undefined) return { sha512: found };
  if (digests.sha512.size === 0) return { problem: 'it has no SHA512 section' };
  return { problem: `its SHA512 section lists ${[...digests.sha512.keys()].map((n) => JSON.stringify(n)).join(', ')}, not "${fileName}"` };
}
