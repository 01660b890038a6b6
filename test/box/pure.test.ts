/**
 * The pure parts of `cclab box add`: DIGESTS, the qcow2 header (made-up headers and a real
 * `qemu-img create` file), version.txt, box versions, names, metadata, the catalog, the tar
 * header (read back by the system tar), progress text, the free-space error and option checks.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { planBoxAdd, type BoxAddOptions } from '../../src/box/add.js';
import { spaceError } from '../../src/box/cache.js';
import { parseDigests, sha512For, DigestsParseError } from '../../src/box/digests.js';
import { boxAddCommand, flatcarBoxName, isVagrantReleaseVersion, parseVersionTxt, versionFromDigest } from '../../src/box/names.js';
import { boxCatalog, boxMetadata, boxVagrantfile, imageRecordJson, parseImageRecord, type ImageRecord } from '../../src/box/pack.js';
import { progress, progressText } from '../../src/box/progress.js';
import { memoryIo } from '../../src/context.js';
import { isBzip2, parseQcow2Header, virtualSizeGiB } from '../../src/box/qcow2.js';
import { TAR_END, tarHeader, tarPadding, tarSize, writeTar } from '../../src/box/tar.js';
import { ExitCode, UsageError } from '../../src/errors.js';
import { QEMU_IMG, missingTools, qcow2, tempDir } from '../helpers/box.js';

const HEX = (c: string) => c.repeat(128);
const IMG = 'flatcar_production_qemu_image.img';

t.test('box name and the hint line other code prints', async (t) => {
  t.equal(flatcarBoxName('stable'), 'flatcar-stable');
  t.equal(flatcarBoxName('beta'), 'flatcar-beta');
  t.equal(boxAddCommand('alpha'), 'cclab box add --channel alpha');
});

t.test('DIGESTS: the three sections, several files, binary-mode names; the SHA-512 of one exact name', async (t) => {
  const text = [
    '# MD5 HASH',
    `${'a'.repeat(32)}  ${IMG}.bz2`,
    '# SHA1 HASH',
    `${'b'.repeat(40)}  ${IMG}.bz2`,
    '# SHA512 HASH',
    `${HEX('C')}  ${IMG}.bz2`,
    `${HEX('d')} *${IMG}`,
    '',
  ].join('\r\n');
  const d = parseDigests(text);
  t.equal(d.md5.get(`${IMG}.bz2`), 'a'.repeat(32));
  t.equal(d.sha1.get(`${IMG}.bz2`), 'b'.repeat(40));
  t.same(sha512For(d, `${IMG}.bz2`), { sha512: HEX('c') }, 'hex in lower case');
  t.same(sha512For(d, IMG), { sha512: HEX('d') }, '`*name` (binary mode) is read');
  const missing = sha512For(d, 'flatcar_production_qemu_image.img.gz');
  t.ok('problem' in missing && missing.problem.includes(`"${IMG}.bz2"`), 'a missing entry names what the section lists');
  t.same(sha512For(parseDigests(`# MD5 HASH\n${'a'.repeat(32)}  x\n`), 'x'), { problem: 'it has no SHA512 section' });
  // Unknown sections (a PGP armour, another algorithm) are skipped; a bad line in a known one is an error.
  t.same([...parseDigests(`# WHIRLPOOL HASH\nzzz  x\n# SHA512 HASH\n${HEX('e')}  x\n`).sha512], [['x', HEX('e')]]);
  t.ok(t.throws(() => parseDigests(`# SHA512 HASH\n${'e'.repeat(127)}  x\n`), 'a SHA-512 one digit short') instanceof DigestsParseError);
  t.throws(() => parseDigests('# SHA512 HASH\n<html>\n'), /line 2 is not/);
});

t.test('qcow2 header: magic, version 2 and 3, virtual size as big-endian u64 at offset 24', async (t) => {
  const header = (version: number, size: bigint) => {
    const b = Buffer.alloc(32);
    b.write('QFI\xfb', 0, 'latin1');
    b.writeUInt32BE(version, 4);
    b.writeBigUInt64BE(size, 24);
    return b;
  };
  t.same(parseQcow2Header(header(3, 8589934592n)), { ok: true, version: 3, virtualSize: 8589934592n });
  t.same(parseQcow2Header(header(2, 1n)), { ok: true, version: 2, virtualSize: 1n });
  t.same(parseQcow2Header(header(3, 2n ** 63n + 5n)), { ok: true, version: 3, virtualSize: 2n ** 63n + 5n }, 'all 64 bits');
  t.match(parseQcow2Header(header(1, 1n)), { ok: false, problem: /version 1/ });
  t.match(parseQcow2Header(header(4, 1n)), { ok: false, problem: /version 4/ });
  t.match(parseQcow2Header(header(3, 0n)), { ok: false, problem: /virtual size of 0/ });
  t.match(parseQcow2Header(Buffer.alloc(10)), { ok: false, problem: /10 bytes long/ });
  t.match(parseQcow2Header(Buffer.alloc(512)), { ok: false, problem: /raw disk image/ });
  t.match(parseQcow2Header(Buffer.from('BZh91AY&SY'.padEnd(32, '\0'), 'latin1')), { ok: false, problem: /bzip2-compressed/ });
  t.match(parseQcow2Header(Buffer.from([0x1f, 0x8b, ...Buffer.alloc(30)])), { ok: false, problem: /gzip/ });
  t.match(parseQcow2Header(Buffer.from('KDMV'.padEnd(32, '\0'), 'latin1')), { ok: false, problem: /VMDK/ });
  t.ok(isBzip2(Buffer.from('BZh9')));
  t.notOk(isBzip2(Buffer.from('BZh0')));
  t.equal(virtualSizeGiB(1n), 1);
  t.equal(virtualSizeGiB(8n * 1024n ** 3n), 8);
  t.equal(virtualSizeGiB(8n * 1024n ** 3n + 1n), 9, 'rounded up');
});

t.test('qcow2 header of a real `qemu-img create -f qcow2` image', { skip: missingTools(QEMU_IMG) }, async (t) => {
  const dir = tempDir(t, 'cclab-qcow2-');
  const head = fs.readFileSync(qcow2(dir, 'x.img', '64M')).subarray(0, 32);
  t.same(parseQcow2Header(head), { ok: true, version: 3, virtualSize: 64n * 1024n * 1024n });
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', path.join(dir, 'v2.img'), '10G']);
  t.same(parseQcow2Header(fs.readFileSync(path.join(dir, 'v2.img')).subarray(0, 32)), { ok: true, version: 2, virtualSize: 10n * 1024n ** 3n }, 'compat=0.10 is version 2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', path.join(dir, 'raw.img'), '1M']);
  t.match(parseQcow2Header(fs.readFileSync(path.join(dir, 'raw.img')).subarray(0, 32)), { ok: false, problem: /raw disk image/ });
});

t.test('version.txt: FLATCAR_VERSION, quoted or not; nothing valid → undefined', async (t) => {
  t.equal(parseVersionTxt('FLATCAR_BUILD=4230\nFLATCAR_BRANCH=2\nFLATCAR_PATCH=3\nFLATCAR_VERSION=4230.2.3\nFLATCAR_VERSION_ID=4230.2.3\n'), '4230.2.3');
  t.equal(parseVersionTxt('FLATCAR_VERSION="4344.0.0"\r\n'), '4344.0.0');
  t.equal(parseVersionTxt('FLATCAR_VERSION_ID=1.2.3\n'), undefined, 'not the _ID line');
  t.equal(parseVersionTxt('FLATCAR_VERSION=4230.2\n'), undefined);
  t.equal(parseVersionTxt('FLATCAR_VERSION=../../etc\n'), undefined);
  t.equal(parseVersionTxt('<html>not found</html>'), undefined);
});

t.test('a box version derived from the image: digits only, deterministic, below every release', async (t) => {
  const sha = 'ffffffffffff' + '0'.repeat(116);
  t.equal(versionFromDigest(sha), '0.0.281474976710655', '12 hex digits as a decimal number');
  t.equal(versionFromDigest('000000000001' + 'a'.repeat(116)), '0.0.1');
  t.equal(versionFromDigest('0'.repeat(128)), '0.0.0');
  t.equal(versionFromDigest(sha), versionFromDigest(sha));
  t.ok(isVagrantReleaseVersion(versionFromDigest(sha)));
  t.throws(() => versionFromDigest('abc'));
  // What Vagrant (Gem::Version) would take as a prerelease is refused.
  t.ok(isVagrantReleaseVersion('4230.2.3'));
  t.notOk(isVagrantReleaseVersion('0.0.0-1a2b3c'));
  t.notOk(isVagrantReleaseVersion('1.0.beta'));
  t.notOk(isVagrantReleaseVersion(''));
});

t.test('Gem::Version agrees: the derived version is a release that satisfies ">= 0"; a hex suffix is not', { skip: missingTools(['ruby', ['--version']]) }, async (t) => {
  const check = (v: string) =>
    execFileSync('ruby', ['-e', 'v = Gem::Version.new(ARGV[0]); print [Gem::Version.correct?(ARGV[0]) ? 1 : 0, v.prerelease? ? 1 : 0, Gem::Requirement.new(">= 0").satisfied_by?(v) ? 1 : 0].join', v], { encoding: 'utf8' });
  t.equal(check(versionFromDigest('a1b2c3d4e5f6' + '0'.repeat(116))), '101');
  t.equal(check('0.0.0-a1b2c3d4e5f6'), '110', 'what the obvious choice would be: a prerelease Vagrant skips');
});

t.test('metadata.json, the box Vagrantfile, the image record and the catalog', async (t) => {
  t.same(JSON.parse(boxMetadata(9)), { provider: 'libvirt', format: 'qcow2', virtual_size: 9 });
  const vf = boxVagrantfile('flatcar-stable', '4230.2.3');
  t.match(vf, /config\.ssh\.username = "core"/);
  t.match(vf, /lv\.disk_bus = "virtio"/);
  const record: ImageRecord = { sha512: HEX('a'), bytes: 5, source: 'https://x/y.img.bz2', sourceSha512: HEX('b'), verified: 'digests', flatcarVersion: '4230.2.3', channel: 'stable' };
  t.same(parseImageRecord(imageRecordJson(record)), record);
  t.equal(parseImageRecord('{"sha512":"zz"}'), undefined);
  t.equal(parseImageRecord('not json'), undefined);
  t.equal(parseImageRecord(imageRecordJson({ ...record, verified: 'maybe' as never })), undefined);
  const catalog = JSON.parse(boxCatalog({ name: 'flatcar-stable', version: '4230.2.3', provider: 'libvirt', boxPath: '/cache/a b/x.box', checksum: HEX('c') }));
  t.same(catalog, {
    name: 'flatcar-stable',
    versions: [{ version: '4230.2.3', providers: [{ name: 'libvirt', url: 'file:///cache/a%20b/x.box', checksum_type: 'sha512', checksum: HEX('c') }] }],
  });
});

t.test('tar: ustar headers byte by byte, and an archive the system tar lists and unpacks', async (t) => {
  const h = tarHeader({ name: 'metadata.json', size: 1234, mtime: 1_700_000_000, mode: 0o644 });
  t.equal(h.length, 512);
  t.equal(h.subarray(0, 13).toString(), 'metadata.json');
  t.equal(h.subarray(100, 108).toString('latin1'), '0000644\0');
  t.equal(h.subarray(124, 136).toString('latin1'), '00000002322\0', '1234 in octal');
  t.equal(h.subarray(156, 157).toString(), '0');
  t.equal(h.subarray(257, 265).toString('latin1'), 'ustar\u000000');
  let sum = 0;
  for (const [i, b] of h.entries()) sum += i >= 148 && i < 156 ? 0x20 : b;
  t.equal(Number.parseInt(h.subarray(148, 154).toString(), 8), sum, 'checksum');
  const big = tarHeader({ name: 'box.img', size: 9 * 1024 ** 3, mtime: 0 });
  t.equal(big[124], 0x80, 'beyond 8 GiB: base-256');
  t.equal(big.readBigUInt64BE(128), 9n * 1024n ** 3n);
  t.throws(() => tarHeader({ name: 'a/b', size: 1, mtime: 0 }));
  t.throws(() => tarHeader({ name: 'x'.repeat(101), size: 1, mtime: 0 }));
  t.equal(tarPadding(512).length, 0);
  t.equal(tarPadding(513).length, 511);
  t.equal(TAR_END.length, 1024);

  const dir = tempDir(t, 'cclab-tar-');
  const img = path.join(dir, 'img');
  fs.writeFileSync(img, Buffer.alloc(70_000, 7));
  const out = path.join(dir, 'x.box');
  const w = await writeTar(out, [{ name: 'metadata.json', data: '{"a":1}\n' }, { name: 'box.img', file: img }], { mtime: 1_700_000_000 });
  t.equal(w.bytes, fs.statSync(out).size);
  t.equal(w.bytes, tarSize([8, 70_000]));
  t.equal(w.sha512, (await import('node:crypto')).createHash('sha512').update(fs.readFileSync(out)).digest('hex'));
  const listing = execFileSync('tar', ['-tvf', out], { encoding: 'utf8' });
  t.match(listing, /metadata\.json/);
  t.match(listing, /70000 .*box\.img/);
  execFileSync('tar', ['-xf', out, '-C', dir]);
  t.same(fs.readFileSync(path.join(dir, 'box.img')), fs.readFileSync(img));
  t.equal(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'), '{"a":1}\n');
});

t.test('progress text: done, total, percent, rate; no total', async (t) => {
  t.equal(progressText({ done: 50 * 1024 * 1024, total: 200 * 1024 * 1024, moved: 20 * 1024 * 1024, elapsedMs: 2000 }), '50 MiB of 200 MiB (25 %), 10 MiB/s');
  t.equal(progressText({ done: 1024, total: undefined, moved: 1024, elapsedMs: 0 }), '1 KiB, 0 bytes/s');
});

t.test('free space: every place that is short is named, with what it needs', async (t) => {
  t.equal(spaceError([{ what: 'the cache', path: '/c', free: 10, need: 10, why: 'x' }]), undefined);
  const e = spaceError([
    { what: 'the image cache', path: '/c', free: 1024 ** 3, need: 2 * 1024 ** 3, why: 'the download and the box' },
    { what: 'VAGRANT_HOME', path: '/v', free: 5, need: 4, why: 'y' },
  ])!;
  t.equal(e.exitCode, ExitCode.fileSystem);
  t.equal(e.code, 'ENOSPC');
  t.match(e.message, 'the image cache (/c) has 1 GiB free, and needs about 2 GiB for the download and the box');
  t.notMatch(e.message, 'VAGRANT_HOME');
  t.match(e.hint, 'df -h /c');
});

t.test('options: each mistake is a usage error naming its flag', async (t) => {
  const base: BoxAddOptions = { os: 'flatcar', channel: 'stable', provider: 'libvirt', force: false };
  const plan = (o: Partial<BoxAddOptions>) => planBoxAdd({ ...base, ...o }, '/work');
  t.same(plan({}).source, { kind: 'release', base: 'https://stable.release.flatcar-linux.net/amd64-usr/', version: 'current' });
  t.same(plan({ releaseUrl: 'http://mirror/flatcar', version: '4230.2.3', channel: 'beta' }).source, { kind: 'release', base: 'http://mirror/flatcar/', version: '4230.2.3' });
  t.same(plan({ image: 'x.img' }).source, { kind: 'file', path: '/work/x.img', version: undefined });
  t.same(plan({ image: 'file:///a/x.img', version: '1.2' }).source, { kind: 'file', path: '/a/x.img', version: '1.2' });
  t.same(plan({ image: 'https://m/x.img.bz2' }).source, { kind: 'url', url: 'https://m/x.img.bz2', version: undefined });
  t.equal(plan({ keyring: 'k.gpg' }).keyring, '/work/k.gpg');
  t.equal(plan({}).name, 'flatcar-stable');
  const refused: [Partial<BoxAddOptions>, RegExp][] = [
    [{ channel: 'edge' }, /--channel: "edge" is not a Flatcar channel/],
    [{ version: 'latest' }, /--version: "latest" is not a Flatcar release/],
    [{ version: '4230.2' }, /--version/],
    [{ image: 'x.img', version: '0.0.0-abc' }, /--version: "0.0.0-abc" is not a box version/],
    [{ image: 'x.img', version: 'current' }, /--version: "current"/],
    [{ image: 'x.img', releaseUrl: 'http://m/' }, /--release-url is for release images/],
    [{ digests: 'D' }, /--digests is for --image/],
    [{ releaseUrl: 'ftp://m/' }, /--release-url: ftp:\/\/m\/: cclab downloads over http and https only/],
    [{ releaseUrl: 'http://u:p@m/' }, /user name or password/],
    [{ image: 'ftp://m/x.img' }, /--image: .*http and https only/],
    [{ image: '' }, /--image is empty/],
  ];
  for (const [o, re] of refused) {
    const e = t.throws(() => plan(o)) as unknown;
    t.ok(e instanceof UsageError, `${JSON.stringify(o)}: UsageError`);
    t.match((e as Error).message, re);
  }
});

t.test('progress: a redrawn line on a terminal (at most every 100 ms), a line per tenth elsewhere', async (t) => {
  let clock = 0;
  const now = () => clock;
  const plain = memoryIo(false);
  const p = progress(plain, 'Downloading x', { total: 1000, start: 0, now });
  for (let done = 50; done <= 1000; done += 50) {
    clock += 10;
    p.update(done);
  }
  p.finish();
  const lines = plain.stderr.trim().split('\n');
  t.same(lines.map((l) => /\((\d+) %\)/.exec(l)?.[1]), ['10', '20', '30', '40', '50', '60', '70', '80', '90', '100'], 'one line per tenth, then the final one');
  t.match(lines[0], /^Downloading x: 100 bytes of 1000 bytes \(10 %\), 4\.9 KiB\/s$/);

  const written: string[] = [];
  const tty = { ...memoryIo(true), errStream: { write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream };
  const live = progress(tty, 'Downloading x', { total: 1000, start: 400, now });
  clock = 1000;
  live.update(500); // drawn
  clock = 1050;
  live.update(600); // too soon: not drawn
  clock = 1200;
  live.update(700);
  live.finish();
  t.same(written.length, 4, 'two redraws, the final one, a newline');
  t.ok(written.slice(0, 3).every((w) => w.startsWith('\rDownloading x: ') && w.endsWith('\u001b[K')));
  t.match(written[0], '500 bytes of 1000 bytes (50 %)');
  t.equal(written[3], '\n');
  t.equal(tty.stderr, '', 'nothing through io.err, which would escape the \\r');
});

t.test('the text summary and the --json document of a result', async (t) => {
  const { summary, jsonDocument } = await import('../../src/commands/box.js');
  const r = {
    name: 'flatcar-stable',
    provider: 'libvirt',
    version: '4230.2.3',
    image: '/c/img',
    sha512: HEX('a'),
    verified: 'none' as const,
    bytes: 2048,
    seconds: 1.5,
    action: 'added' as const,
    source: '/x.img',
    flatcarVersion: undefined,
    downloaded: false,
  };
  t.equal(
    summary(r),
    [
      'Box flatcar-stable 4230.2.3 (libvirt) added.',
      '  image:    /c/img (2 KiB, from /x.img)',
      `  sha512:   ${HEX('a')}`,
      '  verified: NOT verified (no DIGESTS, no signature)',
      'Use it in a Vagrantfile with config.vm.box = "flatcar-stable" and config.vm.box_version = "4230.2.3".',
      '',
    ].join('\n'),
  );
  t.match(summary({ ...r, action: 'replaced', verified: 'signature' }), /^Box flatcar-stable 4230\.2\.3 \(libvirt\) replaced\.\n[^]*verified: signature checked with gpgv/);
  t.same(Object.keys(jsonDocument(r)), ['name', 'provider', 'version', 'image', 'sha512', 'verified', 'bytes', 'seconds', 'action', 'source', 'flatcarVersion', 'downloaded']);
  t.equal(jsonDocument(r).flatcarVersion, null);
});
