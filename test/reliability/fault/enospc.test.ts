/** Fault injection (enospc): see test/helpers/faults.ts for what is checked after every run. */
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

t.test('ENOSPC at every write of up, halt and down', { skip: needRoot }, async (t) => {
  const fsys = tmpfs(t);
  const h = cliHome(t, { CCLAB_HOME: path.join(fsys.dir, 'home') });
  // How many pages a whole `up laptop` needs: sweep from none to enough, one page at a time, so
  // that each of its writes is in turn the one that fails.
  let succeededAt: number | undefined;
  for (let pages = 0; pages <= 16 && succeededAt === undefined; pages++) {
    fsys.leave(pages);
    const r = await h.run(['up', 'laptop', '--no-wait']);
    await invariants(t, h, `up with ${pages} free pages`, r, { allowed: [0, 10] });
    if (codeOf(r) === 0) succeededAt = pages;
    else t.match(r.stderr, /no space left on the device \(ENOSPC\)[\s\S]*hint: free some space/, `up with ${pages} free pages: says the disk is full`);
    // Taking the lab down needs no space at all.
    const down = await h.run(['down', 'laptop']);
    if (fs.existsSync(path.join(h.labsDir, 'laptop')) || codeOf(down) !== 8) t.equal(codeOf(down), 0, `down with ${pages} free pages`, { stderr: down.stderr });
    await invariants(t, h, `down with ${pages} free pages`, down, { allowed: [0, 8] });
  }
  t.ok(succeededAt !== undefined, `up succeeded once there was room (${succeededAt} pages)`);

  // halt and down of a running lab, with the disk full to every level below what they write.
  for (let pages = 0; pages <= 2; pages++) {
    fsys.unfill();
    t.equal((await h.run(['up', 'laptop', '--no-wait'])).code, 0, 'a lab to halt');
    fsys.leave(pages);
    const halt = await h.run(['halt', 'laptop']);
    await invariants(t, h, `halt with ${pages} free pages`, halt, { allowed: [0, 10] });
    const down = await h.run(['down', 'laptop']);
    t.equal(down.code, 0, `down with ${pages} free pages after halt`, { stderr: down.stderr });
    await invariants(t, h, `down with ${pages} free pages after halt`, down);
  }
  fsys.unfill();
  await downAll(t, h, 'ENOSPC');
});

