/**
 * Defects 2, 3, 4, 5, 8, 10, 11 and 13 of the reliability review, each against the real CLI (or
 * the real lab home), with the fake vagrant where VMs would be needed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { memoryIo, type Context } from '../../src/context.js';
import { downLab } from '../../src/pipeline/lifecycle.js';
import { homeStore } from '../../src/pipeline/home-store.js';
import type { VagrantDriver } from '../../src/vagrant/driver.js';
import { CLI, cliHome, ensureBuilt } from '../helpers/cli.js';

t.before(ensureBuilt);

const NO_STACK = /internal error|this is a bug|\n\s+at /i;

t.test('5: file-system errors are typed (exit 10), name the path and a fix, never a stack trace', async (t) => {
  const h = cliHome(t);
  const file = path.join(h.fake.dir, 'a-file');
  fs.writeFileSync(file, 'x');
  const cases: [string[], RegExp][] = [
    [['render', 'laptop', '--out', file], /a-file: a file is in the way \(EEXIST\)|a-file.*not a directory/],
    [['render', 'laptop', '--out', path.join(file, 'sub')], /a-file\/sub.*\(ENOTDIR\)/],
  ];
  for (const [args, re] of cases) {
    const r = await h.run(args);
    t.equal(r.code, 10, args.join(' '), { stderr: r.stderr });
    t.match(r.stderr, re);
    t.match(r.stderr, /^hint: /m);
    t.notMatch(r.stderr, NO_STACK);
  }
  // A YAML alias bomb in a lab file: an invalid lab, not a crash.
  const bomb = path.join(h.fake.dir, 'bomb.yaml');
  const rows = ['a: &a [x,x,x,x,x,x,x,x,x]'];
  for (const [prev, cur] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f']]) rows.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  fs.writeFileSync(bomb, `apiVersion: cclab.dev/v1alpha1\nkind: Lab\nmetadata:\n  name: bomb\nspec:\n  architecture: laptop\n  metadata:\n${rows.map((r) => `    ${r}`).join('\n')}\n`);
  const r = await h.run(['render', '--config', bomb, '--out', path.join(h.fake.dir, 'o')]);
  t.equal(r.code, 3, 'alias bomb: exit 3', { stderr: r.stderr });
  t.notMatch(r.stderr, NO_STACK);
});

t.test('5: a read-only CCLAB_HOME and a lab directory deleted during up', { skip: process.getuid?.() !== 0 && 'needs root to mount a tmpfs' }, async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-ro-'));
  t.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mnt]).status, 0, 'mounted');
  t.teardown(() => {
    spawnSync('umount', [mnt]);
    fs.rmdirSync(mnt);
  });
  const h = cliHome(t, { CCLAB_HOME: mnt });
  const r = await h.run(['up', 'laptop', '--no-wait']);
  t.equal(r.code, 10, 'read-only home', { stderr: r.stderr });
  t.match(r.stderr, new RegExp(`${mnt}.*read-only \\(EROFS\\)`));
  t.match(r.stderr, /hint: .*CCLAB_HOME/);
  t.notMatch(r.stderr, NO_STACK);

  // The lab directory removed while `up` boots: a typed error, no stack trace.
  const h2 = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '3000' });
  const up = h2.start(['up', 'laptop', '--no-wait']);
  await up.waitForStderr(/Waiting for machine to boot/);
  fs.rmSync(h2.labDir('laptop'), { recursive: true, force: true });
  const r2 = await up.done;
  t.not(r2.code, 0);
  t.not(r2.code, 1, 'not an internal error', { stderr: r2.stderr });
  t.notMatch(r2.stderr, NO_STACK);
});

t.test('8: docker-env after an interrupted up laptop says to resume, not to recreate', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '60000' });
  const up = h.start(['up', 'laptop', '--no-wait']);
  await up.waitForStderr(/Waiting for machine to boot/);
  up.child.kill('SIGINT');
  t.equal((await up.done).code, 130);
  for (const args of [['docker-env', 'laptop'], ['docker-env']]) {
    const r = await h.run(args);
    t.equal(r.code, 8, args.join(' '));
    t.match(r.stderr, /has not finished coming up/);
    t.match(r.stderr, /hint: resume it with `cclab up laptop`/);
    t.notMatch(r.stderr, /--recreate/);
  }
});

