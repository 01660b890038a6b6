/** Fault injection (directories): see test/helpers/faults.ts for what is checked after every run. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { cliHome, ensureBuilt } from '../../helpers/cli.js';
import {
  DOCUMENTED, SIGNAL_CODES, STACK, codeOf, downAll, invariants, needRoot, prng, tmpfs,
} from '../../helpers/faults.js';

t.before(ensureBuilt);

t.test('read-only and vanished directories', { skip: needRoot }, async (t) => {
  const fsys = tmpfs(t);
  const h = cliHome(t, { CCLAB_HOME: path.join(fsys.dir, 'home') });
  t.equal((await h.run(['up', 'dev', '--workers', '1', '--no-wait'])).code, 0);
  fsys.readOnly(true);
  for (const args of [['up', 'dev'], ['up', 'laptop', '--no-wait'], ['halt', 'dev'], ['down', 'dev'], ['status', 'dev', '--no-health'], ['render', 'dev', '--out', path.join(fsys.dir, 'out')]]) {
    const r = await h.run(args);
    await invariants(t, h, `read-only: ${args.join(' ')}`, r, { allowed: [0, 5, 10] });
  }
  t.ok(fs.existsSync(h.labDir('dev')), 'the lab is intact');
  fsys.readOnly(false);
  t.equal(h.manifest('dev').name, 'dev');

  // The lab directory vanishes (someone removed it by hand).
  fs.rmSync(h.labDir('dev'), { recursive: true, force: true });
  for (const args of [['status', 'dev', '--no-health'], ['down', 'dev'], ['halt', 'dev'], ['docker-env', 'dev'], ['check', 'dev']]) {
    const r = await h.run(args);
    await invariants(t, h, `vanished: ${args.join(' ')}`, r, { allowed: [8] });
  }
  // The whole home vanishes.
  fs.rmSync(path.join(fsys.dir, 'home'), { recursive: true, force: true });
  for (const args of [['ls'], ['down', '--all'], ['up', 'laptop', '--no-wait']]) {
    const r = await h.run(args);
    await invariants(t, h, `no home: ${args.join(' ')}`, r, { allowed: [0] });
  }
  await downAll(t, h, 'vanished');
});

