/**
 * Lab files (`--config FILE` and labs/*.yaml): versioned header, strict body (unknown fields are
 * errors), every problem at once with its line, and relative paths taken from the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { prepareLab } from '../../src/commands/lab-input.js';
import { memoryIo, type Context } from '../../src/context.js';
import { LabConfigError, NotFoundError, OptionValuesError, UsageError, type Problem } from '../../src/errors.js';
import { BUILTIN_LABS_DIR, loadBuiltinLab, loadLabFile } from '../../src/lab/load.js';
import { parseLabDocument } from '../../src/lab/schema.js';
import { ARCHITECTURES } from '../../src/lab/types.js';
import { REPO } from '../helpers/render.js';

const FIXTURES = join(REPO, 'test/fixtures/labs');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

function ctx(env: Record<string, string> = {}): Context {
  return { io: memoryIo(), env, cwd: REPO, signal: new AbortController().signal };
}

async function rejection<E extends Error>(t: Test, p: Promise<unknown> | (() => unknown), type: new (...a: never[]) => E): Promise<E> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    t.type(e, type, `throws ${type.name}`);
    return e as E;
  }
  t.fail(`expected ${type.name}, nothing was thrown`);
  throw new Error('unreachable');
}

const byPath = (problems: Problem[]) => [...problems].sort((a, b) => a.path.localeCompare(b.path));

t.test('the built-in labs are valid lab files of the current version', async (t) => {
  for (const arch of ARCHITECTURES) {
    const text = readFileSync(join(BUILTIN_LABS_DIR, `${arch}.yaml`), 'utf8');
    t.match(text, /^apiVersion: cclab\.dev\/v1alpha1\nkind: Lab\n/m, `${arch}: versioned header`);
    const loaded = await loadBuiltinLab(arch);
    t.equal(loaded.document.name, arch, `${arch}: named after its architecture`);
    t.equal(loaded.document.spec.architecture, arch);
    t.equal(loaded.source, `labs/${arch}.yaml`);
  }
  const e = await rejection(t, () => loadBuiltinLab('cluster'), UsageError);
  t.match(e.message, /unknown architecture "cluster"/);
  t.match(e.hint, /laptop, small, dev, production/);
});

t.test('a complete lab file: every field read, relative paths from the file’s directory', async (t) => {
  const { lab, warnings } = await prepareLab({ config: 'test/fixtures/labs/full.yaml', overrides: {} }, ctx());
  t.equal(lab.name, 'full-lab');
  t.equal(lab.architecture, 'production');
  t.equal(lab.channel, 'beta');
  t.strictSame(lab.box, { name: 'my-flatcar', url: 'https://boxes.example/flatcar_production_vagrant.json', version: '>= 3815.2.0' });
  t.equal(lab.machines.length, 8, '5 services + 3 workers');
  t.equal(lab.memory, 1536);
  t.equal(lab.cpus, 2);
  t.strictSame(lab.subnet, { cidr: '10.42.0.0/24', network: '10.42.0.0', prefix: 24, gateway: '10.42.0.254' });
  t.same(lab.dns, ['10.42.0.2', '10.42.0.3']);
  t.ok(lab.machines.every((m) => m.dockerTcp));
  t.strictSame(lab.userMetadata, { zone: 'eu-1', rack: '0644', ssd: 'true' }, 'metadata values as written (0644 stays 0644)');
  t.same(lab.sshAuthorizedKeys, [fixture('keys/lab.pub').trim(), fixture('keys/second.pub').trim()], 'keys read relative to the file');
  t.same(lab.machines.map((m) => m.updateGroup), ['central', 'central', 'central', 'central', 'central', 'workers', 'workers', 'workers']);
  t.equal(lab.update.server, 'https://nebraska.example/v1/update/');
  t.equal(lab.update.rebootStrategy, 'reboot');
  t.equal(lab.fleet.localFile, join(FIXTURES, 'bin/fleetd'), 'fleetd resolved against the file’s directory');
  t.strictSame(lab.libvirt, { driver: 'qemu', cpuMode: 'custom', cpuModel: 'Nehalem', managementNetwork: '10.43.0.0/24' });
  t.same(warnings, [], 'nothing to warn about');
});

t.test('unknown fields are errors, each with its line', async (t) => {
  const e = await rejection(t, () => parseLabDocument(fixture('unknown-fields.yaml'), 'unknown-fields.yaml'), LabConfigError);
  t.strictSame(byPath(e.problems), [
    { path: 'metadata.labels (line 5)', message: 'unknown field "labels"' },
    { path: 'spec.box.nmae (line 10)', message: 'unknown field "nmae"' },
    { path: 'spec.update.reboot_strategy (line 13)', message: 'unknown field "reboot_strategy"' },
    { path: 'spec.workerz (line 8)', message: 'unknown field "workerz"' },
  ]);
  t.match(e.message, /^unknown-fields\.yaml is not a valid lab:\n {2}- /, 'the message names the file');
  t.equal(e.message.split('\n').length, 5, 'a heading and four problems');
});

t.test('wrong types and values: every one reported, with its line', async (t) => {
  const e = await rejection(t, () => parseLabDocument(fixture('wrong-types.yaml'), 'wrong-types.yaml'), LabConfigError);
  t.equal(e.problems.length, 9, 'nine problems at once');
  t.match(byPath(e.problems), [
    { path: 'spec.architecture (line 4)', message: /expected one of "laptop"\|"small"\|"dev"\|"production"/ },
    { path: 'spec.dns (line 9)', message: /expected array/ },
    { path: 'spec.dockerTcp (line 8)', message: /expected boolean/ },
    { path: 'spec.libvirt.driver (line 14)', message: /expected one of "kvm"\|"qemu"/ },
    { path: 'spec.members (line 10)', message: />=0/ },
    { path: 'spec.memory (line 7)', message: /expected int/ },
    { path: 'spec.metadata.rack (line 12)', message: /string, number or boolean/ },
    { path: 'spec.os (line 5)', message: /expected one of "flatcar"\|"coreos"/ },
    { path: 'spec.workers (line 6)', message: /expected number, received string/ },
  ]);
});

t.test('the header is checked first: apiVersion and kind', async (t) => {
  for (const [file, found] of [
    ['wrong-api-version.yaml', 'found apiVersion: "cclab.dev/v1", kind: "Lab"'],
    ['wrong-kind.yaml', 'found apiVersion: "cclab.dev/v1alpha1", kind: "Cluster"'],
    ['no-header.yaml', 'found apiVersion: null, kind: null'],
  ] as const) {
    const e = await rejection(t, () => parseLabDocument(fixture(file), file), LabConfigError);
    t.strictSame(e.problems, [{ path: 'apiVersion', message: `expected apiVersion: cclab.dev/v1alpha1 and kind: Lab, ${found}` }], file);
  }
  const list = await rejection(t, () => parseLabDocument(fixture('not-a-mapping.yaml'), 'x'), LabConfigError);
  t.match(list.problems, [{ message: /a lab file is a YAML mapping with apiVersion: cclab\.dev\/v1alpha1 and kind: Lab/ }]);
  const empty = await rejection(t, () => parseLabDocument('', 'empty.yaml'), LabConfigError);
  t.equal(empty.problems.length, 1, 'an empty file is refused too');
});

t.test('YAML syntax errors carry their line', async (t) => {
  const e = await rejection(t, () => parseLabDocument(fixture('syntax-error.yaml'), 'syntax-error.yaml'), LabConfigError);
  t.equal(e.problems.length, 1);
  const line = Number(/^line (\d+)$/.exec(e.problems[0]!.path)?.[1]);
  t.ok(line === 5 || line === 6, `at the unclosed flow sequence (line ${line})`);
  t.match(e.problems[0]!.message, /Flow sequence/);
  const dup = await rejection(t, () => parseLabDocument(fixture('duplicate-key.yaml'), 'duplicate-key.yaml'), LabConfigError);
  t.strictSame(dup.problems, [{ path: 'line 6', message: 'Map keys must be unique' }], 'a repeated key is an error, not last-one-wins');
  const tabs = await rejection(t, () => parseLabDocument('apiVersion: cclab.dev/v1alpha1\nkind: Lab\nspec:\n\tarchitecture: dev\n', 'tabs.yaml'), LabConfigError);
  t.match(tabs.problems, [{ path: /^line \d+$/ }]);
});

t.test('several problems of one file are reported together', async (t) => {
  const text = [
    'apiVersion: cclab.dev/v1alpha1',
    'kind: Lab',
    'spec:',
    '  architecture: dev',
    '  workers: many',
    '  memroy: 2048',
    '  os: flatcar-linux',
    '  fleet:',
    '    sha: abc',
    '  dockerTcp: 1',
    '',
  ].join('\n');
  const e = await rejection(t, () => parseLabDocument(text, 'several.yaml'), LabConfigError);
  t.same(
    e.problems.map((p) => p.path).sort(),
    ['spec.dockerTcp (line 10)', 'spec.fleet.sha (line 9)', 'spec.memroy (line 6)', 'spec.os (line 7)', 'spec.workers (line 5)'],
    'five problems, five lines',
  );
});

t.test('a lab file that parses but breaks the rules: every problem, source named', async (t) => {
  const e = await rejection(t, prepareLab({ config: 'test/fixtures/labs/invalid-values.yaml', overrides: {} }, ctx()), LabConfigError);
  t.match(e.message, /^test\/fixtures\/labs\/invalid-values\.yaml is not a valid lab:/);
  t.same(e.problems.map((p) => p.path), ['sshKeys', 'sshKeys'], 'the unreadable key files first (nothing else can be checked without them)');
  t.match(e.problems, [{ message: /cannot read keys\/missing\.pub/ }, { message: /cannot read keys\/also-missing\.pub/ }]);

  const text = fixture('invalid-values.yaml').replace(/ {2}sshKeys:.*\n/, '');
  const doc = parseLabDocument(text, 'inline.yaml');
  const { resolveLab } = await import('../../src/lab/resolve.js');
  const e2 = await rejection(t, () => resolveLab({ document: doc, source: 'inline.yaml' }), LabConfigError);
  t.same(e2.problems.map((p) => p.path), ['name', 'members', 'subnet'], 'name, count and subnet at once');
  t.match(e2.problems, [{ message: /"Not_A_Name" is not a valid lab name/ }, { message: /3–9/ }, { message: /did you mean 192\.168\.57\.0\/24/ }]);
});

t.test('ssh keys: all unreadable files at once; --ssh-key relative to the working directory', async (t) => {
  const e = await rejection(t, prepareLab({ config: 'test/fixtures/labs/bad-ssh-keys.yaml', overrides: {} }, ctx()), LabConfigError);
  t.equal(e.problems.length, 2);
  const flags = await prepareLab({ architecture: 'laptop', overrides: {}, sshKeys: ['test/fixtures/labs/keys/second.pub'] }, ctx());
  t.same(flags.lab.sshAuthorizedKeys, [fixture('keys/second.pub').trim()]);
  // Files named by --ssh-key are the command line's problem (exit 2), named by the flag.
  const both = await rejection(t, prepareLab({ architecture: 'laptop', overrides: {}, sshKeys: ['nope.pub', 'test/fixtures/labs/full.yaml'] }, ctx()), OptionValuesError);
  t.match(both.problems, [{ path: 'sshKeys', flag: 'ssh-key', message: /cannot read nope\.pub/ }]);
  const notKey = await rejection(t, prepareLab({ architecture: 'laptop', overrides: {}, sshKeys: ['test/fixtures/labs/full.yaml'] }, ctx()), OptionValuesError);
  t.match(notKey.problems, [{ path: 'sshKeys', flag: 'ssh-key', message: /test\/fixtures\/labs\/full\.yaml is not one OpenSSH public key line/ }]);
  t.match(notKey.message, /^--ssh-key: /);
});

t.test('--config problems outside the file', async (t) => {
  const missing = await rejection(t, loadLabFile('no/such/lab.yaml', REPO), NotFoundError);
  t.match(missing.message, /lab file no\/such\/lab\.yaml does not exist/);
  const dir = await rejection(t, loadLabFile('test/fixtures/labs', REPO), LabConfigError);
  t.match(dir.problems, [{ message: /cannot read it/ }]);
  const both = await rejection(t, prepareLab({ architecture: 'dev', config: 'x.yaml', overrides: {} }, ctx()), UsageError);
  t.match(both.message, /give an architecture or --config, not both/);
  const neither = await rejection(t, prepareLab({ overrides: {} }, ctx()), UsageError);
  t.match(neither.message, /which lab\?/);
  const fleetd = await rejection(t, prepareLab({ architecture: 'dev', overrides: {}, fleetd: 'no/fleetd' }, ctx()), OptionValuesError);
  t.match(fleetd.problems, [{ path: 'fleet.localFile', flag: 'fleetd', message: /no\/fleetd does not exist/ }]);
});

t.test('the environment reaches the lab through the context: VAGRANT_DEFAULT_PROVIDER', async (t) => {
  const prl = await prepareLab({ architecture: 'dev', overrides: {} }, ctx({ VAGRANT_DEFAULT_PROVIDER: 'parallels' }));
  t.equal(prl.lab.provider, 'parallels');
  const empty = await prepareLab({ architecture: 'dev', overrides: {} }, ctx({ VAGRANT_DEFAULT_PROVIDER: '' }));
  t.equal(empty.lab.provider, 'virtualbox', 'an empty variable is no choice');
  const bad = await rejection(t, prepareLab({ architecture: 'dev', overrides: {} }, ctx({ VAGRANT_DEFAULT_PROVIDER: 'hyperv' })), LabConfigError);
  t.match(bad.problems, [{ path: 'provider', message: /"hyperv"/ }]);
  const taken = await prepareLab({ architecture: 'dev', overrides: {} }, ctx(), () => ({ taken: ['192.168.57.0/24', '192.168.58.0/24', '192.168.59.0/24', '192.168.60.0/24', '192.168.61.0/24', '192.168.62.0/24'] }));
  t.equal(taken.lab.subnet.cidr, '192.168.63.0/24', 'taken subnets are passed on');
});
