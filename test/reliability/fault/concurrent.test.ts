/** Fault injection (concurrent): see test/helpers/faults.ts for what is checked after every run. */
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

t.test('two and three concurrent up/down of the same and of different labs', async (t) => {
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '200' });
  const rounds: string[][][] = [
    [['up', 'dev', '--no-wait'], ['up', 'dev', '--no-wait']],
    [['up', 'dev', '--no-wait'], ['down', 'dev']],
    [['down', 'dev'], ['down', 'dev'], ['up', 'dev', '--no-wait']],
    [['up', 'laptop', '--name', 'a', '--no-wait'], ['up', 'laptop', '--name', 'b', '--no-wait'], ['up', 'laptop', '--name', 'c', '--no-wait']],
    [['down', 'a'], ['up', 'laptop', '--name', 'a', '--no-wait'], ['down', 'b']],
    [['up', 'small', '--no-wait'], ['down', 'c'], ['up', 'laptop', '--name', 'c', '--no-wait']],
  ];
  for (const [i, round] of rounds.entries()) {
    const results = await Promise.all(round.map((args) => h.run(args)));
    for (const [j, r] of results.entries()) {
      const label = `round ${i}: ${round[j]!.join(' ')}`;
      await invariants(t, h, label, r, { allowed: [0, 7, 8] });
      if (r.code === 7) t.match(r.stderr, /is busy: `cclab (up|down)` \(pid \d+\) holds its lock/, `${label}: names the holder`);
    }
    const subnets = (JSON.parse((await h.run(['ls', '--json'])).stdout) as { labs: { subnet: string }[] }).labs.map((l) => l.subnet);
    t.equal(new Set(subnets).size, subnets.length, `round ${i}: no two labs share a subnet (${subnets.join(', ')})`);
  }
  await downAll(t, h, 'concurrent');
});

