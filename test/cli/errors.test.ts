import t from 'tap';
import { CommandError, LabConfigError, ExitCode, tail } from '../../src/errors.js';

t.test('CommandError keeps the argv and only the tail of the output', async (t) => {
  const out = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n\n';
  const e = new CommandError('vagrant up failed', { command: ['vagrant', 'up', 'etcd-01'], exitStatus: 1, output: out, machine: 'etcd-01' });
  t.equal(e.exitCode, ExitCode.commandFailed);
  t.same(e.command, ['vagrant', 'up', 'etcd-01']);
  t.equal(e.outputTail.split('\n').length, 20);
  t.match(e.outputTail, /line 49$/);
  t.notMatch(e.outputTail, /line 29\n/);
});

t.test('LabConfigError lists every problem', async (t) => {
  const e = new LabConfigError('lab.yaml', [
    { path: 'spec.workers', message: 'must be at least 1' },
    { path: 'spec.memry', message: 'unknown field' },
  ]);
  t.equal(e.exitCode, ExitCode.invalidLab);
  t.match(e.message, /spec\.workers: must be at least 1/);
  t.match(e.message, /spec\.memry: unknown field/);
  t.equal(e.problems.length, 2);
});

t.test('tail drops trailing blank lines and carriage returns', async (t) => {
  t.equal(tail('a\r\nb\r\n\n', 5), 'a\nb');
});
