/**
 * Every option of every command has a description in --help: an option listed bare ("--json
 * [boolean]") tells the user nothing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { CLI, ensureBuilt } from '../helpers/cli.js';

t.before(ensureBuilt);

const help = async (args: string[]) => (await promisify(execFile)(process.execPath, [CLI, ...args, '--help'], { env: { ...process.env, COLUMNS: '200' } })).stdout;

/** The option lines of a --help text: `  --name, -n  Description  [type] [default: …]`. */
function optionLines(text: string): string[] {
  const start = text.search(/^Options:$/m);
  const rest = text.slice(start).split('\n').slice(1);
  const end = rest.findIndex((l) => /^\S/.test(l) || l === '');
  return (end < 0 ? rest : rest.slice(0, end)).filter((l) => /^\s+-/.test(l));
}

t.test('every option of every command has a description', async (t) => {
  const top = await help([]);
  const commands = [...top.matchAll(/^ {2}cclab ([a-z-]+)/gm)].map((m) => m[1]!);
  t.ok(commands.length >= 12, `commands found in cclab --help: ${commands.join(' ')}`);
  for (const command of [...new Set(commands)]) {
    const text = await help([command]);
    const lines = optionLines(text);
    t.ok(lines.length > 0, `${command}: options listed`);
    for (const line of lines) {
      // Flags, then at least two spaces, then words that are not only [type] / [default: …] / [choices: …].
      const m = /^\s+((?:--?[\w-]+(?:, )?)+)\s{2,}(.*)$/.exec(line);
      const description = (m?.[2] ?? '').replace(/\[[^\]]*\]/g, '').replace(/\[(choices|default): .*$/, '').trim();
      t.ok(description.length > 0, `${command}: ${m?.[1] ?? line.trim()} has a description`, { line });
    }
  }
});
