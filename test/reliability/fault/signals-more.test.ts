/** Fault injection (signals, second seed): see test/helpers/faults.ts for what is checked after every run. */
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

// Two files of 25 runs each (signals, signals-more), so each stays well inside tap's per-file timeout.
const SEED = 16;

t.test('SIGINT, SIGTERM and SIGHUP at seeded random points of up, down, render and validate', async (t) => {
  const seed = Number(process.env.CCLAB_FAULT_SEED ?? SEED);
  const runs = Number(process.env.CCLAB_FAULT_RUNS ?? 25);
  const random = prng(seed);
  t.comment(`seed ${seed}, ${runs} runs (CCLAB_FAULT_SEED, CCLAB_FAULT_RUNS replay or lengthen them)`);
  const h = cliHome(t, { FAKE_VAGRANT_UP_DELAY_MS: '400', FAKE_VAGRANT_CLEANUP_MS: '100' });
  const cfg = path.join(h.fake.dir, 'user-data.yaml');
  fs.writeFileSync(cfg, '#cloud-config\nhostname: a\n');
  const commands = [
    ['up', 'laptop', '--no-wait'],
    ['up', 'dev', '--workers', '2', '--no-wait'],
    ['down', 'dev'],
    ['down', 'laptop'],
    ['render', 'production', '--workers', '20', '--out', 'out'],
    ['validate', cfg, cfg, cfg],
  ];
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (let i = 0; i < runs; i++) {
    const args = commands[Math.floor(random() * commands.length)]!;
    const sig = signals[Math.floor(random() * signals.length)]!;
    const delay = Math.floor(random() * 1500);
    const label = `#${i} ${args.slice(0, 2).join(' ')} + ${sig} after ${delay} ms`;
    const p = h.start(args);
    await new Promise((r) => setTimeout(r, delay));
    p.child.kill(sig);
    const r = await p.done;
    const code = codeOf(r);
    // Finished before the signal, refused (no such lab: 8), or stopped by it.
    await invariants(t, h, label, r, { allowed: [0, 8, SIGNAL_CODES[sig]!] });
    if (code === SIGNAL_CODES[sig] && r.code !== null) t.match(r.stderr, /^error: interrupted/m, `${label}: says it was interrupted`);
  }
  await downAll(t, h, 'signals');
});

