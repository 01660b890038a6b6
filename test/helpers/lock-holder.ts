/**
 * A separate process that takes a lab lock, for lock tests with real processes.
 *
 *   node --import <ts loader> test/helpers/lock-holder.ts LABDIR COMMAND [--wait-stdin] [--exit]
 *
 * --wait-stdin: load everything, print {"ready":true}, then wait for a line on stdin before
 *               acquiring (so several holders can race at the same instant).
 * Prints one JSON line: {"acquired":true,"pid":…,"tookOverFrom":…} or {"acquired":false,"error":…}.
 * Then, if acquired: holds the lock until SIGTERM (releases, exits 0) or SIGKILL (leaves it);
 * with --exit, exits at once without calling release() (the exit hook must remove the lock).
 * --exit-while-taking: looks for the lock's temporary file on every turn of the event loop while
 *               taking the lock and exits at once (process.exit, as a signal outside orderly work
 *               does) if it sees one; prints {"sawTmp":…,"turns":N,"acquired":…}.
 * Not acquired: exits 3.
 */
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { acquireLock } from '../../src/home/lock.js';
import { CclabError } from '../../src/errors.js';

const [labDir, command, ...flags] = process.argv.slice(2);
if (labDir === undefined || command === undefined) {
  process.stderr.write('usage: lock-holder LABDIR COMMAND [--wait-stdin] [--exit]\n');
  process.exit(2);
}

const say = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

if (flags.includes('--wait-stdin')) {
  say({ ready: true });
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  rl.close();
}

if (flags.includes('--exit-while-taking')) {
  let done = false;
  let turns = 0;
  let acquired = false;
  acquireLock(labDir, { command }).then(
    () => (done = acquired = true),
    () => (done = true),
  );
  const look = () => {
    turns++;
    if (readdirSync(labDir).some((f) => f.endsWith('.tmp'))) {
      say({ sawTmp: true, turns });
      process.exit(0);
    }
    if (done) {
      say({ sawTmp: false, turns, acquired });
      process.exit(0);
    }
    setImmediate(look);
  };
  look();
  await new Promise(() => undefined);
}

try {
  const lock = await acquireLock(labDir, { command });
  say({ acquired: true, pid: process.pid, tookOverFrom: lock.tookOverFrom ?? null });
  if (flags.includes('--exit')) process.exit(0);
  process.on('SIGTERM', () => {
    lock.release();
    process.exit(0);
  });
  // Hold until a signal arrives.
  setInterval(() => undefined, 60_000);
} catch (e) {
  say({ acquired: false, error: e instanceof CclabError ? e.toJSON() : String(e) });
  process.exit(3);
}
