/**
 * A lab with a machine `cclab kill` powered off, checked (src/health/powered-off.ts through
 * checkLab): the machine's failing checks say it is powered off and how to bring it back, a check
 * over SSH says it never reached the machine, and the error's hint names the machine instead of
 * suggesting a longer --timeout.
 */
import t from 'tap';
import { memoryIo, type Context } from '../../src/context.js';
import { checkLab } from '../../src/commands/check.js';
import { UnhealthyError } from '../../src/errors.js';
import { HttpFailure } from '../../src/health/http.js';
import { builtinLab } from '../helpers/render.js';

t.test('a killed worker: its checks are explained, the hint says how to bring it back', async (t) => {
  const lab = await builtinLab('dev', { workers: 1 });
  const io = memoryIo();
  const ctx: Context = { io, env: {}, cwd: '/', signal: new AbortController().signal };
  // Nothing answers (the lab is not booted here); SSH has no data for the killed worker, as
  // DirectSsh says for a machine left out of `vagrant ssh-config`.
  const http = async () => {
    throw new HttpFailure('refused', 'connection refused');
  };
  const remote = {
    async exec(machine: string): Promise<never> {
      throw new Error(`no SSH data for machine ${machine}`);
    },
  };
  const at = '2026-12-03T10:00:00.000Z';
  const e = await checkLab(lab, { timeoutMs: 0, remote, poweredOff: { 'worker-01': at } }, ctx, { http, requestTimeoutMs: 50 }).then(
    () => undefined,
    (x: unknown) => x,
  );
  t.type(e, UnhealthyError);
  t.match((e as UnhealthyError).hint, /^worker-01 is powered off by `cclab kill`: `cclab up dev` brings it back \(each check was retried for [^)]+\)$/);
  t.match(io.stdout, /^✗ etcd proxy worker-01 \(http:\/\/127\.0\.0\.1:2379 via ssh\): not reached: worker-01 is powered off$/m);
  t.match(io.stdout, new RegExp(`^ {4}hint: worker-01 was powered off by \`cclab kill\` at ${at.replace(/\./g, '\\.')}; \`cclab up dev\` brings it back$`, 'm'));
  t.notMatch(io.stdout, /no SSH data/);
  t.match(io.stdout, /^✗ etcd member etcd-01 .*connection refused/m, 'a machine that was not killed keeps what was seen');

  const none = await checkLab(lab, { timeoutMs: 0, remote }, { ...ctx, io: memoryIo() }, { http, requestTimeoutMs: 50 }).catch((x: unknown) => x);
  t.match((none as UnhealthyError).hint, /^each check was retried for .*; if the machines are still starting, run the check again with a longer --timeout$/, 'nothing killed: the usual hint');
});
