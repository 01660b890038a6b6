/**
 * `node bench/lib/write-floor.mjs SIZES.json OUTDIR`: writes files of the sizes listed (a JSON list
 * of [relative path, bytes]) under OUTDIR, synchronously: what writing a rendered lab costs a bare
 * Node process on this file system, without any rendering.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [sizesFile, out] = process.argv.slice(2);
const sizes = JSON.parse(readFileSync(sizesFile, 'utf8'));
const made = new Set();
for (const [rel, bytes] of sizes) {
  const file = path.join(out, rel);
  const dir = path.dirname(file);
  if (!made.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  writeFileSync(file, 'x'.repeat(bytes));
}
