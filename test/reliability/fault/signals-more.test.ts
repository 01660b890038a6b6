/** Fault injection (signals, second seed): see test/helpers/faults.ts for what is checked after every run. */
import t from 'tap';
import { ensureBuilt } from '../../helpers/cli.js';
import { signalRuns } from '../../helpers/faults.js';

t.before(ensureBuilt);

t.test('SIGINT, SIGTERM and SIGHUP at seeded random points of up, down, render and validate', (t) => signalRuns(t, 16));
