import t from 'tap';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CclabError, CorruptManifestError, NotFoundError, UsageError } from '../../src/errors.js';
import {
  assertSafeName,
  cclabHome,
  labDir,
  labPaths,
  labsRoot,
  userDataFile,
} from '../../src/home/paths.js';
import {
  atomicWriteFile,
  listLabs,
  parseManifest,
  prepareAtomicWrite,
  readManifest,
  writeManifest,
} from '../../src/home/manifest.js';
import { addLab, makeManifest } from '../helpers/lab-home.js';
import { upgradeLab } from '../../src/lab/upgrade.js';

/** What JSON keeps of a value (fields that are undefined are not written). */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

t.test('home directory: CCLAB_HOME, then XDG_DATA_HOME/cclab, then ~/.local/share/cclab', async (t) => {
  t.equal(cclabHome({ CCLAB_HOME: '/srv/cclab', XDG_DATA_HOME: '/x', HOME: '/home/u' }), '/srv/cclab');
  t.equal(cclabHome({ XDG_DATA_HOME: '/x/data', HOME: '/home/u' }), '/x/data/cclab');
  t.equal(cclabHome({ HOME: '/home/u' }), '/home/u/.local/share/cclab');
  t.equal(cclabHome({ CCLAB_HOME: '', XDG_DATA_HOME: '', HOME: '/home/u' }), '/home/u/.local/share/cclab', 'empty means unset');
  t.equal(cclabHome({ XDG_DATA_HOME: 'relative/data', HOME: '/home/u' }), '/home/u/.local/share/cclab', 'a relative XDG_DATA_HOME is ignored (XDG spec)');
  t.equal(cclabHome({}), join(homedir(), '.local', 'share', 'cclab'), 'no HOME: the account home');
  t.throws(() => cclabHome({ CCLAB_HOME: 'rel/dir' }), UsageError, 'a relative CCLAB_HOME is refused');
});

t.test('one directory per lab with its files', async (t) => {
  const env = { CCLAB_HOME: '/h' };
  t.equal(labsRoot(env), '/h/labs');
  t.equal(labDir(env, 'dev'), '/h/labs/dev');
  t.same(labPaths(env, 'dev'), {
    dir: '/h/labs/dev',
    vagrantfile: '/h/labs/dev/Vagrantfile',
    userDataDir: '/h/labs/dev/user-data',
    manifest: '/h/labs/dev/lab.json',
    lock: '/h/labs/dev/lock',
  });
  t.equal(userDataFile('/h/labs/dev', 'core-01'), '/h/labs/dev/user-data/core-01.yaml');
});

t.test('names that could escape the labs directory are refused', async (t) => {
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', 'x..y', 'a\0b', 'a\nb']) {
    t.throws(() => labDir({ CCLAB_HOME: '/h' }, bad), UsageError, JSON.stringify(bad));
    t.throws(() => userDataFile('/h/labs/dev', bad), UsageError, `machine ${JSON.stringify(bad)}`);
  }
  t.doesNotThrow(() => assertSafeName('lab', 'dev-2'));
});

t.test('writeManifest then readManifest round-trips, leaving no temporary file', async (t) => {
  const dir = t.testdir({});
  const m = makeManifest('dev', 'dev');
  const labDirPath = join(dir, 'dev');
  await mkdir(labDirPath);
  await writeManifest(labDirPath, m);
  await writeManifest(labDirPath, { ...m, state: 'halted' });
  t.strictSame(await readManifest(labDirPath), plain({ ...m, state: 'halted' }));
  t.same(await readdir(labDirPath), ['lab.json']);
});

t.test('atomicWriteFile replaces the whole file and cleans up after a failure', async (t) => {
  const dir = t.testdir({ 'f.txt': 'old' });
  const path = join(dir, 'f.txt');
  await atomicWriteFile(path, 'new content');
  t.equal(await readFile(path, 'utf8'), 'new content');
  t.same(await readdir(dir), ['f.txt']);

  // The target is a directory: rename fails, the temporary file must not stay behind.
  await mkdir(join(dir, 'sub'));
  await t.rejects(atomicWriteFile(join(dir, 'sub'), 'x'));
  t.same((await readdir(dir)).sort(), ['f.txt', 'sub']);
});

t.test('a crash between writing and renaming leaves the old manifest intact', async (t) => {
  const dir = t.testdir({ dev: {} });
  const labDirPath = join(dir, 'dev');
  const m = makeManifest('dev', 'dev');
  await writeManifest(labDirPath, m);
  // The new manifest is fully written and synced, but the process "dies" before the rename.
  const pending = await prepareAtomicWrite(join(labDirPath, 'lab.json'), JSON.stringify({ ...m, state: 'destroying' }));
  t.strictSame(await readManifest(labDirPath), plain(m), 'readers still see the old manifest');
  t.match(await readFile(pending.tmpPath, 'utf8'), /"destroying"/);
  // A lab directory listing ignores the leftover.
  const listed = await listLabs(dir);
  t.equal(listed.length, 1);
  t.strictSame(listed[0]!.manifest, plain(m));
  await pending.commit();
  t.equal((await readManifest(labDirPath)).state, 'destroying');
  t.same(await readdir(labDirPath), ['lab.json']);
});

t.test('readManifest: missing, corrupt, foreign, newer, misplaced', async (t) => {
  const m = makeManifest('dev', 'dev');
  const dir = t.testdir({
    labs: {
      missing: {},
      empty: { 'lab.json': '' },
      truncated: { 'lab.json': JSON.stringify(m).slice(0, 200) },
      foreign: { 'lab.json': JSON.stringify({ name: 'foo', version: '1.0.0', dependencies: {} }) },
      newer: { 'lab.json': JSON.stringify({ ...m, name: 'newer', schemaVersion: 2 }) },
      badfields: { 'lab.json': JSON.stringify({ ...m, name: 'badfields', state: 'exploded', machines: [{ name: 'x' }] }) },
      moved: { 'lab.json': JSON.stringify(m) },
    },
  });
  const at = (name: string) => join(dir, 'labs', name);

  const missing = await readManifest(at('missing')).catch((e: unknown) => e);
  t.type(missing, NotFoundError);
  t.match((missing as Error).message, /lab "missing" does not exist/);

  for (const [name, reason] of [
    ['empty', /the file is empty/],
    ['truncated', /invalid JSON/],
    ['foreign', /schemaVersion is undefined, expected 1/],
    ['badfields', /state must be one of .*machines\[0\] must have name, role and ip/],
    ['moved', /describes lab "dev" but lies in the directory of lab "moved"/],
  ] as const) {
    const e = await readManifest(at(name)).catch((e: unknown) => e);
    t.type(e, CorruptManifestError, name);
    t.match((e as CclabError).message, reason, name);
    t.match((e as CclabError).message, join(at(name), 'lab.json'), `${name}: names the file`);
    t.match((e as CclabError).hint, /remove the directory/, `${name}: has a hint`);
  }
  const newer = await readManifest(at('newer')).catch((e: unknown) => e);
  t.type(newer, CorruptManifestError);
  t.match((newer as CclabError).message, /schema version 2, written by a newer cclab/);
  t.match((newer as CclabError).hint, /upgrade cclab/);
});

t.test('parseManifest accepts what writeManifest writes and refuses a non-tcp Docker endpoint', async (t) => {
  const m = makeManifest('laptop', 'laptop');
  t.ok(m.docker, 'the laptop lab has a Docker endpoint');
  t.strictSame(parseManifest(JSON.stringify(m), '/x/lab.json', 'laptop'), plain(m));
  t.throws(
    () => parseManifest(JSON.stringify({ ...m, docker: { ...m.docker, endpoint: 'unix:///var/run/docker.sock' } }), '/x/lab.json'),
    { message: /docker must have .* tcp:\/\/ endpoint/ },
  );
});

t.test('a manifest written by an older cclab (with options and discovery fields) still reads', async (t) => {
  const m = makeManifest('dev', 'dev');
  const old = parseManifest(JSON.stringify({ ...m, options: {}, discovery: 'https://discovery.etcd.io/x' }), '/x/lab.json', 'dev');
  t.equal(old.name, 'dev');
  t.same(old.machines, plain(m).machines);
});

t.test('listLabs lists every lab, a broken one with its error, in name order', async (t) => {
  const home = t.testdir({ labs: { broken: { 'lab.json': '{"schemaVersion": 1, "name": "bro' }, 'not-a-dir': 'x', '.hidden': {} } });
  await addLab(home, makeManifest('small', 'small'));
  await addLab(home, makeManifest('dev', 'dev'));
  await mkdir(join(home, 'labs', 'half-made'));
  const labs = await listLabs(join(home, 'labs'));
  t.same(
    labs.map((l) => [l.name, l.manifest?.architecture ?? l.error?.constructor.name]),
    [
      ['broken', 'CorruptManifestError'],
      ['dev', 'dev'],
      ['half-made', 'NotFoundError'],
      ['small', 'small'],
    ],
  );
  t.same(await listLabs(join(home, 'nothing-here')), [], 'no labs directory: no labs');
});

t.test('a manifest is written with a trailing newline and is readable JSON', async (t) => {
  const dir = t.testdir({ dev: {} });
  await writeManifest(join(dir, 'dev'), makeManifest('dev', 'dev'));
  const text = await readFile(join(dir, 'dev', 'lab.json'), 'utf8');
  t.ok(text.endsWith('}\n'));
  t.equal(JSON.parse(text).schemaVersion, 1);
  await writeFile(join(dir, 'dev', 'lab.json'), text.replace('"schemaVersion": 1', '"schemaVersion": "1"'));
  await t.rejects(readManifest(join(dir, 'dev')), CorruptManifestError);
});

t.test('a manifest written before MACs and the etcd pin reads with the values the lab gets now', async (t) => {
  const dir = t.testdir({});
  const m = makeManifest('dev', 'dev');
  const labDirPath = join(dir, 'dev');
  await mkdir(labDirPath);
  await writeManifest(labDirPath, m);
  const current = await readManifest(labDirPath);
  const old = plain(m) as unknown as { lab: { machines: Record<string, unknown>[]; etcd: Record<string, unknown> } };
  for (const x of old.lab.machines) {
    delete x.mac;
    delete x.macGiven;
  }
  delete old.lab.etcd.imageTag;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(labDirPath, 'lab.json'), JSON.stringify(old));
  const read = await readManifest(labDirPath);
  t.notOk('mac' in read.lab.machines[0]!, 'the parser reads the file as it is');
  t.strictSame(upgradeLab(read.lab), current.lab, 'upgradeLab fills in the derived MACs and the default etcd image');
});
