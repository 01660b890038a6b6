/**
 * Quoting argv words for the remote POSIX shell, checked by running the quoted line through the
 * shells installed here: each must hand the program exactly the words we started from.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { quoteCommand, quoteWord } from '../../src/vagrant/quote.js';

const run = promisify(execFile);

function hostileWords(marker: string): string[] {
  return [
    '',
    ' ',
    "'",
    "''",
    '"',
    "it's",
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `; touch ${marker}`,
    `&& touch ${marker}`,
    `| touch ${marker}`,
    `> ${marker}`,
    '$HOME',
    '${HOME}',
    '$((1+1))',
    '\\',
    '\\\\n',
    'a\nb',
    '\t',
    '\r',
    '*',
    '?',
    '[a]',
    '{a,b}',
    '~',
    '~root',
    '=ls',
    'a=b',
    '-n',
    '--',
    '#not a comment',
    '!',
    '!!',
    '^',
    '%s',
    '\x01\x1b[31m',
    'é ü 日本 🚀',
    'x'.repeat(5000),
  ];
}

const SHELLS = ['sh', 'bash', 'dash', 'zsh', 'busybox'];
const installed = (s: string): boolean => {
  try {
    return fs.statSync(`/usr/bin/${s}`).isFile() || fs.statSync(`/bin/${s}`).isFile();
  } catch {
    return false;
  }
};
/** Why a shell's check is skipped: not installed here (under CI=true nothing is skipped: it fails). */
const missing = (shell: string): string | false =>
  installed(shell) || process.env.CI === 'true' ? false : `${shell} is not installed (Debian: ${shell === 'busybox' ? 'busybox-static' : shell})`;

t.test('bare words stay bare, everything else is single-quoted', async (t) => {
  t.equal(quoteWord('etcdctl'), 'etcdctl');
  t.equal(quoteWord('/v2/keys/a,b:c@d%e+f-g_h.i'), '/v2/keys/a,b:c@d%e+f-g_h.i');
  t.equal(quoteWord(''), "''");
  t.equal(quoteWord('a b'), "'a b'");
  t.equal(quoteWord("it's"), "'it'\\''s'");
  t.equal(quoteWord('~'), "'~'");
  t.equal(quoteWord('a=b'), "'a=b'");
  t.equal(quoteCommand(['docker', 'ps', '--format', '{{.Names}}']), "docker ps --format '{{.Names}}'");
  t.throws(() => quoteWord('a\0b'), TypeError);
});

t.test('hostile words survive the remote shell unchanged', async (t) => {
  for (const shell of SHELLS) {
    t.test(shell, { skip: missing(shell) }, async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-quote-'));
      t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
      const marker = path.join(dir, 'pwned');
      const words = hostileWords(marker);
      const argv = shell === 'busybox' ? ['sh', '-c'] : ['-c'];
      // printf repeats its format for every argument: each word ends with a NUL.
      const line = quoteCommand(['printf', '%s\\0', ...words]);
      const { stdout } = await run(shell, [...argv, line], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24, env: { PATH: process.env.PATH, HOME: '/home/nobody' } });
      const got = stdout.split('\0');
      t.equal(got.pop(), '', 'output ends with a NUL');
      t.same(got, words, 'every word arrives unchanged');
      t.notOk(fs.existsSync(marker), 'no word was run as a command');
      t.same(fs.readdirSync(dir), [], 'no glob or redirection touched the directory');
    });
  }
});

t.test('quoting composes: a quoted line, quoted again, survives two shells', async (t) => {
  const words = ["it's", '$(id)', 'a b'];
  const inner = quoteCommand(['printf', '%s\\n', ...words]);
  const { stdout } = await run('sh', ['-c', quoteCommand(['sh', '-c', inner])], { encoding: 'utf8' });
  t.equal(stdout, words.join('\n') + '\n');
});
