/**
 * The lab options table (src/lab/options.ts) is the one definition of every option: its flags
 * reach --help, its lab-file fields reach the schema, and a flag's value lands where the lab file
 * has the same setting.
 */
import t from 'tap';
import { UsageError } from '../../src/errors.js';
import { LAB_FLAG_NAMES, LAB_OPTIONS, labFlags, overridesFromFlags, type LabOption } from '../../src/lab/options.js';
import { parseLabDocument } from '../../src/lab/schema.js';
import { CLI, ensureBuilt } from '../helpers/cli.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const options = LAB_OPTIONS as readonly LabOption[];

t.test('every flag of the table is in --help of the commands it belongs to', async (t) => {
  await ensureBuilt();
  const help = async (cmd: string) => (await promisify(execFile)(process.execPath, [CLI, cmd, '--help'])).stdout;
  const [render, up, doctor] = await Promise.all([help('render'), help('up'), help('doctor')]);
  for (const o of options) {
    if (!o.flag) continue;
    const line = new RegExp(`--${o.flag.name}\\b.*${o.flag.describe.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
    t.match(render, line, `render --help: --${o.flag.name}`);
    if (o.flag.only === 'render') {
      t.notMatch(up, new RegExp(`--${o.flag.name}\\b`), `up has no --${o.flag.name}`);
    } else {
      t.match(up, line, `up --help: --${o.flag.name}`);
      t.match(doctor, line, `doctor --help: --${o.flag.name}`);
    }
  }
  t.same(Object.keys(labFlags('up')), LAB_FLAG_NAMES, 'what `up NAME` refuses is every shared lab flag');
});

t.test('every lab-file field of the table is accepted by the schema, and nothing else', async (t) => {
  const sample = (o: LabOption): unknown => {
    const f = o.file!;
    if (typeof f === 'object') return f.enum[0];
    return { string: 'x', strings: ['x'], boolean: true, count: 1, positive: 1, metadata: { k: 'v' }, macs: { 'core-01': '52:54:00:00:00:01' } }[f];
  };
  const spec: Record<string, unknown> = {};
  for (const o of options) {
    if (!o.key || !o.file) continue;
    const [head, field] = o.key.split('.') as [string, string | undefined];
    if (field === undefined) spec[head] = sample(o);
    else spec[head] = { ...(spec[head] as object), [field]: sample(o) };
  }
  const yaml = `apiVersion: cclab.dev/v1alpha1\nkind: Lab\nspec: ${JSON.stringify(spec)}\n`;
  const doc = parseLabDocument(yaml, 'all.yaml');
  t.same(doc.spec, spec, 'every field parsed');
  try {
    parseLabDocument(yaml.replace('"architecture"', '"nope": 1, "architecture"'), 'extra.yaml');
    t.fail('a field the table does not have is refused');
  } catch (e) {
    t.match(e, { problems: [{ message: 'unknown field "nope"' }] }, 'a field the table does not have is refused');
  }
});

t.test('a flag value lands where the lab file keeps it', async (t) => {
  t.same(
    overridesFromFlags({ 'box-url': 'https://b/x.json', box: 'b', workers: 3, 'docker-tcp': false, metadata: ['a=1,b=2', 'c=3'], 'ssh-key': ['k.pub'], fleetd: 'f', config: 'c.yaml' }),
    { box: { name: 'b', url: 'https://b/x.json' }, workers: 3, dockerTcp: false, metadata: { a: '1', b: '2', c: '3' } },
    'files named by flags (--ssh-key, --fleetd, --config) are read by the command, not merged',
  );
  t.throws(() => overridesFromFlags({ workers: 1.5 }), new UsageError('--workers takes a whole number written in decimal digits (such as 3), not 1.5'));
  t.throws(() => overridesFromFlags({ metadata: ['novalue'] }), new UsageError('--metadata takes k=v pairs, not "novalue"'));
});
