/**
 * `up`'s head start: the two questions preflight always asks Vagrant (`--version`, `box list`; a
 * Ruby program, about a second each) are started before `up` loads the process layer, the lab model
 * and rendering (execa alone takes 130–160 ms to load here), and the driver adopts them when it
 * asks the same questions (src/process/early.ts). Only node built-ins.
 */
import os from 'node:os';
import { startEarly } from '../process/early.js';
import { BOX_LIST_ARGS, resolveVagrantBin, VERSION_ARGS, vagrantEnv } from './env.js';

/**
 * Starts them as the driver `createVagrantDriver({ env })` would run them (its default directory).
 * Resolves when both have ended, whatever their outcome (the driver reports that).
 */
export async function startPreflightQueries(env: Record<string, string | undefined>): Promise<void> {
  const bin = resolveVagrantBin({ env });
  const run = { cwd: os.tmpdir(), env: vagrantEnv(env) };
  await Promise.all([VERSION_ARGS, BOX_LIST_ARGS].map((args) => startEarly(bin, [...args], run)));
}
