#!/usr/bin/env node
/**
 * A/B comparison of commands, for finding out why a benchmark misses its target:
 *
 *   node bench/ab.mjs [--rounds N] NAME='cmd arg …' NAME='cmd arg …' …
 *
 * Runs the commands in interleaved rounds (order rotating), after one warm-up round, and prints
 * for each the median, min and max of wall time and of CPU time (user + system, from
 * /usr/bin/time, which is steadier than wall time on a busy machine), and the median of the
 * per-round ratios to the first command. `{i}` in a command is replaced by NAME-ROUND (for
 * distinct output directories). Arguments are split on spaces; no shell is involved.
 */
import { parseArgs } from 'node:util';
import { timedOk } from './lib/proc.mjs';
import { pairedRatio, rotate, summary } from './lib/stats.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '9' } } });
const variants = Object.fromEntries(
  positionals.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`expected NAME='command …', got ${p}`);
    return [p.slice(0, eq), p.slice(eq + 1).split(' ').filter(Boolean)];
  }),
);
const names = Object.keys(variants);
const rounds = Number(values.rounds);
const wall = Object.fromEntries(names.map((n) => [n, []]));
const cpu = Object.fromEntries(names.map((n) => [n, []]));
for (let i = 0; i <= rounds; i++) {
  for (const n of rotate(names, i)) {
    const r = await timedOk(variants[n].map((a) => a.replaceAll('{i}', `${n}-${i}`)), { rss: true, tmp: '/tmp' });
    if (i > 0) {
      wall[n].push(r.ms);
      cpu[n].push(r.cpuMs);
    }
  }
}
const f = (s) => `${s.median.toFixed(0).padStart(6)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
process.stdout.write(`${rounds} rounds; wall ms and CPU ms: median (min–max); ratio = median of per-round ratios to ${names[0]}\n`);
for (const n of names) {
  process.stdout.write(
    `${n.padEnd(12)} wall ${f(summary(wall[n]))} ×${pairedRatio(wall[n], wall[names[0]]).median.toFixed(2)}   cpu ${f(summary(cpu[n]))} ×${pairedRatio(cpu[n], cpu[names[0]]).median.toFixed(2)}\n`,
  );
}
