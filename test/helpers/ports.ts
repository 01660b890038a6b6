/**
 * Local resources for tests: free TCP ports and daemons (from ./process.mjs, shared with the
 * benchmarks), and which tools this machine has.
 */

import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export { freePort, freePorts, spawnDaemon, waitUntil, type Daemon } from './process.mjs';

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

interface TapLike {
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
}

/**
 * True when every binary is installed. Otherwise: under CI=true the test fails (a CI machine must
 * have them); elsewhere the test is skipped with a message naming what is missing.
 */
export function requireBinaries(t: TapLike, binaries: string[]): boolean {
  const missing = binaries.filter((b) => !onPath(b));
  if (missing.length === 0) return true;
  const what = `${missing.join(', ')} not installed`;
  if (process.env.CI === 'true') t.fail(`${what} (CI=true: these tests must run)`);
  else t.plan(0, `skipped: ${what} (install them to run these tests against real processes)`);
  return false;
}
