/**
 * Early runs (src/process/early.ts) with real processes: a run started early is adopted by exactly
 * the same program and no other, once; how it ended reads as runInGroup's result does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startEarly, takeEarly } from '../../src/process/early.js';
import { runInGroup, type GroupResult } from '../../src/process/run.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' };
const cwd = os.tmpdir();
const GRACE = { interruptGraceMs: 1000, killGraceMs: 1000 };

t.test('an adopted run is the run itself: its exit status, stdout, stderr and combined output, as runInGroup reports them', async (t) => {
  const script = 'printf "out 1\\n"; sleep 0.05; printf "err 1\\n" >&2; sleep 0.05; printf "out 2\\n"; exit 3';
  const dir = t.testdir({});
  const marker = path.join(dir, 'runs');
  const args = ['-c', `echo run >> ${marker}; ${script}`];
  startEarly('/bin/sh', args, { cwd, env });
  const early = takeEarly('/bin/sh', args, { cwd, env });
  t.ok(early, 'taken by the same binary, arguments, directory and environment');
  const adopted = await early!;
  const direct = await runInGroup('/bin/sh', ['-c', script], { cwd, env, ...GRACE });
  // How two pipes' bytes interleave depends on when each is read (a loaded machine reads both at
  // once): `output` is compared as its lines, everything else exactly.
  const lines = (r: GroupResult) => ({ ...r, output: r.output.split('\n').sort() });
  t.same(lines(adopted), lines(direct), 'the same result as running it through the process layer');
  t.same(lines(adopted), lines({ kind: 'exited', exitCode: 3, stdout: 'out 1\nout 2\n', stderr: 'err 1\n', output: 'out 1\nerr 1\nout 2\n', aborted: false }));
  t.equal(fs.readFileSync(marker, 'utf8'), 'run\n', 'the program ran once');
  t.equal(takeEarly('/bin/sh', args, { cwd, env }), undefined, 'taken once: the next one runs anew');
});

t.test('only exactly the same program is adopted: other arguments, directory or environment run anew', async (t) => {
  const args = ['-c', 'echo early'];
  startEarly('/bin/sh', args, { cwd, env });
  t.equal(takeEarly('/bin/sh', ['-c', 'echo other'], { cwd, env }), undefined, 'other arguments');
  t.equal(takeEarly('/bin/sh', args, { cwd: '/', env }), undefined, 'another directory');
  t.equal(takeEarly('/bin/sh', args, { cwd, env: { ...env, EXTRA: '1' } }), undefined, 'a variable more');
  t.equal(takeEarly('/bin/sh', args, { cwd, env: { PATH: env.PATH, LANG: 'C.UTF-8' } }), undefined, 'a variable changed');
  t.equal(takeEarly('/bin/bash', args, { cwd, env }), undefined, 'another binary');
  const same = takeEarly('/bin/sh', args, { cwd, env: { LANG: 'C', PATH: env.PATH } });
  t.ok(same, 'the same environment in another order is the same');
  t.same(await same, { kind: 'exited', exitCode: 0, stdout: 'early\n', stderr: '', output: 'early\n', aborted: false });
});

t.test('a program that cannot start, or is killed, reads as runInGroup says it: failed, with the code or the signal', async (t) => {
  const missing = path.join(t.testdir({}), 'no-such-program');
  startEarly(missing, ['--version'], { cwd, env });
  const notFound = await takeEarly(missing, ['--version'], { cwd, env })!;
  t.match(notFound, { kind: 'failed', code: 'ENOENT', signal: undefined, output: '', aborted: false });
  const viaLayer = await runInGroup(missing, ['--version'], { cwd, env, ...GRACE });
  t.match(viaLayer, { kind: 'failed', code: 'ENOENT' }, 'the process layer says the same');

  startEarly('/bin/sh', ['-c', 'echo before; kill -KILL $$'], { cwd, env });
  t.match(await takeEarly('/bin/sh', ['-c', 'echo before; kill -KILL $$'], { cwd, env })!, {
    kind: 'failed',
    code: undefined,
    signal: 'SIGKILL',
    output: 'before\n',
    aborted: false,
  });
});

t.test('an early run is in a process group of its own, registered until it ends', async (t) => {
  const { runningChildren } = await import('../../src/process/children.js');
  const args = ['-c', 'ps -o pgid= -p $$; ps -o pid= -p $$'];
  const before = runningChildren();
  startEarly('/bin/sh', args, { cwd, env });
  t.equal(runningChildren(), before + 1, 'registered while it runs');
  const r = await takeEarly('/bin/sh', args, { cwd, env })!;
  t.equal(r.kind, 'exited');
  const [pgid, pid] = (r.kind === 'exited' ? r.stdout : '').trim().split(/\s+/);
  t.equal(pgid, pid, 'it leads its own process group');
  t.equal(runningChildren(), before, 'unregistered once it ended');
});
