/**
 * Hostile values: every user value that can reach a generated file is either refused with a
 * message naming its field, or written so that the file still parses and gives back exactly that
 * value — checked with real Ruby (and Vagrant) for the Vagrantfile and the yaml library for the
 * cloud-configs.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { prepareLab } from '../../src/commands/lab-input.js';
import { memoryIo } from '../../src/context.js';
import { LabConfigError, OptionValuesError, UsageError } from '../../src/errors.js';
import { parseLabDocument } from '../../src/lab/schema.js';
import { resolveLab, type LabOverrides } from '../../src/lab/resolve.js';
import type { Architecture, Lab, Machine, OsName } from '../../src/lab/types.js';
import { rubyLiteral } from '../../src/render/ruby.js';
import { compileVagrantfileTemplate, renderVagrantfile, vagrantfileData, VAGRANTFILE_TEMPLATE } from '../../src/render/vagrantfile.js';
import { validateCloudConfig } from '../../src/validate/cloudconfig.js';
import { validateIgnition } from '../../src/validate/ignition.js';
import {
  builtinLab,
  defineBlocks,
  environmentOf,
  hexOf,
  ignitionFiles,
  parseIgnition,
  missingTool,
  parseCloudConfig,
  plan,
  pool,
  resolveBuiltin,
  rubyValues,
  run,
  unit,
  userDataOf,
  vagrantfileOf,
  vagrantValidate,
  writePlan,
  type ParsedCloudConfig,
} from '../helpers/render.js';

const rubyMissing = await missingTool('ruby');
const vagrantMissing = await missingTool('vagrant');

/** A value shown in a test name: printable ASCII only (TAP is line-based), at most 40 characters. */
function show(v: string): string {
  const cut = v.length > 40 ? `${v.slice(0, 40)}…` : v;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/* ------------------------------------------------------------------------------ rubyLiteral corpus */

function nastyStrings(pwned: string): string[] {
  return [
    '',
    'plain',
    '"',
    '\\',
    '\\"',
    '"\\',
    '#',
    '#{1+1}',
    `#{system("touch ${pwned}")}`,
    `#{File.write(%q(${pwned}), 1)}`,
    '#@foo',
    '#@@bar',
    '#$0',
    '#$PROGRAM_NAME',
    '"; system("id"); "',
    "'; system('id'); '",
    '`id`',
    '$(id)',
    '%q(x)',
    '\\#{1}',
    '\\\\#{1}',
    '\\u{0}',
    '\\x41',
    '\\',
    'a\nb',
    '\r\n',
    '\t',
    '\u0000',
    'nul\u0000in the middle',
    '\u0007\u0008\u000b\u000c\u001b[31mred',
    '\u007f',
    'é',
    '日本語',
    '😀',
    '👨‍👩‍👧',
    '\u2028\u2029',
    '\ufeffbom',
    '\u{10ffff}',
    '__END__',
    '\n__END__\n',
    '=begin\n',
    'end',
    '}',
    'x'.repeat(100_000),
    '#{'.repeat(1000),
  ];
}

t.test('rubyLiteral: real Ruby gives back exactly every nasty string, and runs none of it', { skip: rubyMissing }, async (t) => {
  const dir = t.testdir({});
  const pwned = join(dir, 'pwned');
  const corpus = nastyStrings(pwned);
  const literals = corpus.map((s) => rubyLiteral(s));
  for (const [i, lit] of literals.entries()) {
    t.ok(/^"[\x20-\x7e]*"$/.test(lit), `literal ${i} is one printable ASCII line`, { diagnostic: false });
  }
  const r = await rubyValues(literals);
  t.equal(r.code, 0, 'ruby evaluated them', { stderr: r.stderr });
  t.equal(r.hex.length, corpus.length, 'one value per literal');
  for (const [i, s] of corpus.entries()) {
    t.equal(r.hex[i], hexOf(s), `byte for byte: ${show(s)}`);
  }
  t.notOk(existsSync(pwned), 'no interpolation ran');
  t.notOk(existsSync(join(process.cwd(), 'p')), 'nothing written where ruby ran');
});

t.test('rubyLiteral: integers and booleans only, besides strings', async (t) => {
  t.equal(rubyLiteral(true), 'true');
  t.equal(rubyLiteral(false), 'false');
  t.equal(rubyLiteral(2048), '2048');
  t.equal(rubyLiteral(-1), '-1');
  for (const v of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, undefined, null, {}, [], 1n, Symbol('x'), () => 1]) {
    t.throws(() => rubyLiteral(v), TypeError, `refuses ${typeof v} ${String(typeof v === 'symbol' ? 'symbol' : v)}`);
  }
  t.throws(() => rubyLiteral('a\ud800b'), TypeError, 'refuses an unpaired surrogate (no UTF-8 form; Ruby rejects \\u{d800})');
  t.throws(() => rubyLiteral('\udfff'), TypeError);
  t.equal(rubyLiteral('😀'), '"\\u{1f600}"', 'a surrogate pair is one code point');
});

/* ------------------------------------------------------------------------------ the template */

/** The mustaches of a template that print something other than through `rb`. */
function unsafeMustaches(template: string): string[] {
  const bad: string[] = [];
  for (const m of template.matchAll(/\{\{(\{?)([~]?)\s*([^}]*?)\s*([~]?)\}\}(\}?)/g)) {
    const [whole, triple, , body] = m;
    if (triple) {
      bad.push(whole);
      continue;
    }
    const b = body!;
    if (/^#(if|unless|each|with)\s/.test(b)) continue;
    if (/^\/(if|unless|each|with)$/.test(b)) continue;
    if (b === 'else') continue;
    if (/^!/.test(b)) continue; // comment
    if (/^rb\s+\S+$/.test(b)) continue;
    bad.push(whole);
  }
  return bad;
}

t.test('Vagrantfile.hbs prints values only through rb', async (t) => {
  const template = readFileSync(VAGRANTFILE_TEMPLATE, 'utf8');
  const all = [...template.matchAll(/\{\{[^}]*\}\}/g)].map((m) => m[0]);
  t.ok(all.filter((m) => m.startsWith('{{rb ')).length >= 20, 'the template does print values');
  t.same(unsafeMustaches(template), [], 'every other mustache is a block helper, else, or a closing tag');
  t.notMatch(template, /\{\{\{|\{\{&/, 'no unescaped-output forms');
  // The scan itself catches what it is for.
  t.same(unsafeMustaches('a {{lab.name}} b {{{raw}}} c {{rb lab.name}} {{#if x}}{{else}}{{/if}} {{rb (concat a b)}} {{> partial}}'), [
    '{{lab.name}}',
    '{{{raw}}}',
    '{{rb (concat a b)}}',
    '{{> partial}}',
  ]);
});

t.test('a missing field fails the render instead of printing nothing', async (t) => {
  const fresh = () => builtinLab('laptop');
  const noName = await fresh();
  delete (noName.box as Partial<Lab['box']>).name;
  t.throws(() => renderVagrantfile(noName, { version: '1' }), /refusing to write a undefined/, 'a missing value: rb refuses it');
  const noMemory = (await fresh()) as Partial<Lab>;
  delete noMemory.memory;
  t.throws(() => renderVagrantfile(noMemory as Lab, { version: '1' }), /refusing to write a undefined/);
  const noBox = (await fresh()) as Partial<Lab>;
  delete noBox.box;
  t.throws(() => renderVagrantfile(noBox as Lab, { version: '1' }), TypeError, 'a missing object');
  const noDocker = (await fresh()) as Partial<Lab>;
  delete noDocker.docker;
  t.throws(() => renderVagrantfile(noDocker as Lab, { version: '1' }), TypeError, 'inside a machine block too');
  const noUrl = await fresh();
  delete (noUrl.box as Partial<Lab['box']>).url;
  t.doesNotThrow(() => renderVagrantfile(noUrl, { version: '1' }), 'an optional value may be absent');
  t.doesNotThrow(() => renderVagrantfile({ ...(noMemory as Lab), memory: 1024 }, { version: '1' }), 'renders once the field is back');

  // Block helpers on a misspelt field: an error, not a silently skipped block.
  const source = readFileSync(VAGRANTFILE_TEMPLATE, 'utf8');
  const lab = await builtinLab('dev', { libvirt: { driver: 'qemu' } });
  const rendered = renderVagrantfile(lab, { version: '1' });
  t.ok(rendered.includes('lv.cpu_mode = "custom"') && defineBlocks(rendered).size === 3, 'the real template renders');
  for (const [from, to] of [
    ['{{#if libvirtCpu}}', '{{#if libvirtCPU}}'],
    ['{{#each machines}}', '{{#each machine}}'],
    ['{{#if dockerHostPort}}', '{{#if dockerPort}}'],
  ] as const) {
    t.ok(source.includes(from), `the template has ${from}`);
    const doctored = compileVagrantfileTemplate(source.replace(from, to));
    t.throws(() => doctored(vagrantfileData(lab, { version: '1' })), /Vagrantfile template line \d+: \{\{#(if|each)\}\} of a missing field/, `${to} fails`);
  }
});

/* ------------------------------------------------------------------------------ every field */

/** Where an accepted value must come back from. */
interface Sites {
  /** Ruby literals after `prefix` (the first such line of the Vagrantfile) and the value each must give. */
  ruby?: (v: string, lab: Lab) => { prefix: string; expected: string }[];
  /** A value read from a machine's parsed cloud-config and the value it must be. */
  yaml?: (v: string, cc: ParsedCloudConfig, m: Machine, os: OsName) => [unknown, unknown] | undefined;
}

interface FieldSpec extends Sites {
  field: string;
  arch: Architecture;
  oses: OsName[];
  overrides: (v: string) => LabOverrides;
  values: (base: string[]) => string[];
}

const URL_BASE = 'https://example.com/';
const asUrls = (vals: string[]) => [...vals.map((v) => URL_BASE + v), ...vals.slice(0, 6)];
const env = (cc: ParsedCloudConfig, unitName: string, key: string) => environmentOf(unit(cc, unitName)?.drop_ins?.[0]?.content ?? '').get(key);

function fieldSpecs(): FieldSpec[] {
  const same = (vals: string[]) => vals;
  return [
    {
      field: 'name',
      arch: 'small',
      oses: ['flatcar', 'coreos'],
      overrides: (v) => ({ name: v }),
      values: same,
      ruby: (v) => [
        { prefix: 'vb.name = ', expected: `${v}-core-01` },
        { prefix: 'lv.default_prefix = ', expected: `cclab-${v}-` },
      ],
      yaml: (v, cc, _m, os) => [
        os === 'coreos' ? cc.coreos.etcd2?.initial_cluster_token : env(cc, 'etcd-member.service', 'ETCD_INITIAL_CLUSTER_TOKEN'),
        `cclab-${v}`,
      ],
    },
    {
      field: 'metadata.',
      arch: 'dev',
      oses: ['flatcar', 'coreos'],
      overrides: (v) => ({ metadata: { k: v } }),
      values: same,
      yaml: (v, cc, m, os) => [
        os === 'coreos' ? cc.coreos.fleet?.metadata : env(cc, 'fleet.service', 'FLEET_METADATA'),
        `role=${m.role === 'etcd' ? 'etcd' : 'worker'},k=${v}`,
      ],
    },
    {
      field: 'metadata.',
      arch: 'dev',
      oses: ['coreos'],
      overrides: (v) => ({ metadata: { [v]: 'x' } }),
      values: same,
      yaml: (v, cc, m) => [cc.coreos.fleet?.metadata, `role=${m.role === 'etcd' ? 'etcd' : 'worker'},${v}=x`],
    },
    { field: 'box.name', arch: 'laptop', oses: ['flatcar'], overrides: (v) => ({ box: { name: v } }), values: same, ruby: (v) => [{ prefix: 'config.vm.box = ', expected: v }] },
    { field: 'box.url', arch: 'laptop', oses: ['flatcar'], overrides: (v) => ({ box: { url: v } }), values: asUrls, ruby: (v) => [{ prefix: 'config.vm.box_url = ', expected: v }] },
    {
      field: 'box.version',
      arch: 'laptop',
      oses: ['flatcar'],
      overrides: (v) => ({ box: { version: v } }),
      values: (vals) => [...vals, '>= 1.0, < 2', '~> 3815.2', '!= 1'],
      ruby: (v) => [{ prefix: 'config.vm.box_version = ', expected: v }],
    },
    ...(['group', 'servicesGroup', 'workersGroup'] as const).map(
      (key): FieldSpec => ({
        field: `update.${key}`,
        arch: 'production',
        oses: ['flatcar', 'coreos'],
        overrides: (v) => ({ update: { [key]: v } }),
        values: same,
        yaml: (v, cc, m) =>
          key === 'group' || (key === 'servicesGroup') === (m.role === 'services') ? [cc.coreos.update?.group, v] : undefined,
      }),
    ),
    { field: 'update.server', arch: 'production', oses: ['coreos'], overrides: (v) => ({ update: { server: v } }), values: asUrls, yaml: (v, cc) => [cc.coreos.update?.server, v] },
    {
      field: 'discovery',
      arch: 'small',
      oses: ['flatcar', 'coreos'],
      overrides: (v) => ({ discovery: v }),
      values: asUrls,
      yaml: (v, cc, _m, os) => [os === 'coreos' ? cc.coreos.etcd2?.discovery : env(cc, 'etcd-member.service', 'ETCD_DISCOVERY'), v],
    },
    { field: 'fleet.url', arch: 'dev', oses: ['flatcar'], overrides: (v) => ({ fleet: { url: v } }), values: asUrls, yaml: (v, cc) => [env(cc, 'fleet-install.service', 'FLEET_URL'), v] },
    { field: 'fleet.sha256', arch: 'dev', oses: ['flatcar'], overrides: (v) => ({ fleet: { sha256: v } }), values: same },
    {
      field: 'fleet.localFile',
      arch: 'dev',
      oses: ['flatcar'],
      overrides: (v) => ({ fleet: { localFile: v } }),
      values: (vals) => vals.map((v) => `/srv/fleet/${v}`),
      ruby: (v) => [{ prefix: 'm.vm.provision :file, source: ', expected: v }],
    },
    { field: 'channel', arch: 'laptop', oses: ['flatcar'], overrides: (v) => ({ channel: v }), values: same },
    { field: 'subnet', arch: 'laptop', oses: ['flatcar'], overrides: (v) => ({ subnet: v }), values: same },
    { field: 'gateway', arch: 'laptop', oses: ['flatcar'], overrides: (v) => ({ gateway: v }), values: same },
    { field: 'dns[0]', arch: 'laptop', oses: ['flatcar'], overrides: (v) => ({ dns: [v] }), values: same },
    ...(['cpuMode', 'cpuModel'] as const).map(
      (key): FieldSpec => ({
        field: `libvirt.${key}`,
        arch: 'laptop',
        oses: ['flatcar'],
        overrides: (v) => ({ libvirt: { driver: 'qemu', [key]: v } }),
        values: same,
        ruby: (v) => [{ prefix: key === 'cpuMode' ? 'lv.cpu_mode = ' : 'lv.cpu_model = ', expected: v }],
      }),
    ),
    {
      field: 'libvirt.managementNetwork',
      arch: 'laptop',
      oses: ['flatcar'],
      overrides: (v) => ({ libvirt: { managementNetwork: v } }),
      values: same,
      ruby: (v) => [{ prefix: 'lv.management_network_address = ', expected: v }],
    },
  ];
}

function hostileValues(pwned: string): string[] {
  return [
    'a"b',
    "a'b",
    `#{system("touch ${pwned}")}`,
    `#{File.write(%q(${pwned}),1)}`,
    'a#{1}b',
    '#@x',
    'a\\b',
    'a\\',
    'a\nb',
    'a\r\nb',
    'a\u0000b',
    '"; system("id"); "',
    '$(id)',
    '`id`',
    'a b',
    'a,b',
    'a=b',
    '100%',
    '%n%%h',
    'a: b',
    'a #b',
    '- a',
    '[a]',
    '{a}',
    '😀',
    'yes',
    'on',
    'no',
    'off',
    'y',
    'null',
    '0644',
    '~',
    '1e3',
    '.inf',
    'true',
    'x'.repeat(300),
    'x'.repeat(5000),
  ];
}

/** The literal that follows `prefix` on the first line that starts with it. */
function literalAfter(vagrantfile: string, prefix: string): string | undefined {
  const line = vagrantfile.split('\n').find((l) => l.trim().startsWith(prefix));
  if (!line) return undefined;
  return /^"(?:[^"\\]|\\.)*"/.exec(line.trim().slice(prefix.length))?.[0];
}

const CONTROL = /[\u0000-\u001f\u007f]/;

t.test('every field: hostile values refused by name, or rendered and read back exactly', async (t) => {
  const dir = t.testdir({});
  const pwned = join(dir, 'pwned');
  const values = hostileValues(pwned);
  let refused = 0;
  let accepted = 0;
  const rubyChecks: { label: string; literal: string; expected: string }[] = [];
  const vagrantfiles: { label: string; path: string }[] = [];

  for (const spec of fieldSpecs()) {
    for (const os of spec.oses) {
      for (const v of spec.values(values)) {
        const label = `${spec.field} ${os} ${show(v)}`;
        let lab: Lab;
        try {
          lab = (await resolveBuiltin(spec.arch, { os, ...spec.overrides(v) })).lab;
        } catch (e) {
          if (!(e instanceof LabConfigError)) {
            t.fail(`${label}: threw ${String(e)} instead of a LabConfigError`);
            continue;
          }
          refused++;
          const named = e.problems.filter((p) => p.path.startsWith(spec.field));
          t.ok(named.length > 0, `${label}: refused, naming ${spec.field}`, { problems: e.problems, diagnostic: named.length === 0 });
          t.ok(
            e.problems.every((p) => !CONTROL.test(p.message) && !CONTROL.test(p.path) && p.message.length < 500),
            `${label}: the message shows the value safely`,
            { problems: e.problems, diagnostic: false },
          );
          continue;
        }
        accepted++;
        t.notOk(CONTROL.test(v), `${label}: accepted values carry no control characters`, { diagnostic: false });
        const p = plan(lab);
        if (spec.ruby) {
          const vf = vagrantfileOf(p);
          const path = join(dir, `vf-${vagrantfiles.length}`, 'Vagrantfile');
          mkdirSync(join(path, '..'), { recursive: true });
          writeFileSync(path, vf);
          vagrantfiles.push({ label, path });
          for (const site of spec.ruby(v, lab)) {
            const literal = literalAfter(vf, site.prefix);
            if (!literal) {
              t.fail(`${label}: no literal after ${site.prefix}`);
              continue;
            }
            rubyChecks.push({ label: `${label} at ${site.prefix.trim()}`, literal, expected: site.expected });
          }
        }
        if (spec.yaml) {
          for (const m of lab.machines) {
            const text = userDataOf(p, m.name);
            const cc = parseCloudConfig(text);
            const got = spec.yaml(v, cc, m, os);
            if (got) t.equal(got[0], got[1], `${label}: ${m.name} reads it back`, { diagnostic: got[0] !== got[1] });
            const errors = validateCloudConfig(text, { os }).filter((d) => d.severity === 'error');
            t.same(errors, [], `${label}: ${m.name} still valid for ${os}`, { diagnostic: errors.length > 0 });
          }
        }
      }
    }
  }
  t.ok(refused > 100, `${refused} refused`);
  t.ok(accepted > 40, `${accepted} accepted`);
  for (const field of ['name', 'box.name', 'box.url', 'box.version', 'fleet.localFile']) {
    t.ok(rubyChecks.some((c) => c.label.startsWith(`${field} `)), `accepted ${field} values are checked in Ruby`);
  }

  if (rubyMissing) {
    t.comment(`Ruby checks skipped: ${rubyMissing}`);
    return;
  }
  const syntax = await pool(vagrantfiles, 2, (f) => run('ruby', ['-c', f.path]));
  for (const [i, f] of vagrantfiles.entries()) {
    t.equal(syntax[i]!.stdout.trim(), 'Syntax OK', `${f.label}: ruby -c`, { stderr: syntax[i]!.stderr, diagnostic: syntax[i]!.code !== 0 });
  }
  const r = await rubyValues(rubyChecks.map((c) => c.literal));
  t.equal(r.code, 0, 'ruby evaluated every literal', { stderr: r.stderr });
  for (const [i, c] of rubyChecks.entries()) t.equal(r.hex[i], hexOf(c.expected), `${c.label}: Ruby gives back the value`, { diagnostic: r.hex[i] !== hexOf(c.expected) });
  t.notOk(existsSync(pwned), 'no interpolation ran');
});

t.test('specific outcomes', async (t) => {
  const refusedAt = async (arch: Architecture, o: LabOverrides, field: string) => {
    try {
      await resolveBuiltin(arch, o);
      t.fail(`${JSON.stringify(o)} accepted`);
    } catch (e) {
      t.type(e, LabConfigError);
      t.match((e as LabConfigError).problems, [{ path: field }], `${JSON.stringify(o).slice(0, 60)}: refused at ${field}`);
    }
  };
  await refusedAt('small', { name: 'a"b' }, 'name');
  await refusedAt('small', { name: 'x'.repeat(33) }, 'name');
  await refusedAt('dev', { metadata: { k: 'a"b' } }, 'metadata.k');
  await refusedAt('dev', { metadata: { k: '~' } }, 'metadata.k');
  await refusedAt('laptop', { box: { name: '"; system("id"); "' } }, 'box.name');
  await refusedAt('laptop', { box: { url: `${URL_BASE}#{system("id")}` } }, 'box.url');
  await refusedAt('laptop', { box: { url: 'javascript:alert(1)' } }, 'box.url');
  await refusedAt('production', { update: { group: 'a b' } }, 'update.group');
  await refusedAt('dev', { fleet: { localFile: '/srv/a\nb' } }, 'fleet.localFile');
  await refusedAt('dev', { fleet: { localFile: '/srv/a\ud800b' } }, 'fleet.localFile');
  await refusedAt('laptop', { box: { url: `${URL_BASE}\ud800` } }, 'box.url');

  // Accepted, and quoted where YAML would read something else.
  for (const group of ['yes', 'on', 'null', '0644', 'y', '1e3', '.inf']) {
    const { lab } = await resolveBuiltin('production', { update: { group } });
    const text = userDataOf(plan(lab), 'worker-01');
    t.match(text, new RegExp(`^ {4}group: "${group.replace('.', '\\.')}"$`, 'm'), `group ${group} is quoted`);
    t.equal(parseCloudConfig(text).coreos.update?.group, group);
  }
  const on = (await builtinLab('small', { name: 'on' })).name;
  t.equal(on, 'on', 'YAML words are fine lab names');
  const file = await builtinLab('dev', { fleet: { localFile: '/srv/"; system("id"); "/#{`id`}\\fleetd' } });
  t.match(vagrantfileOf(plan(file)), /source: "\/srv\/\\"; system\(\\"id\\"\); \\"\/\\#\{`id`\}\\\\fleetd", destination: "\/tmp\/fleetd"/, 'escaped, not interpolated');
});

t.test('ssh key files with hostile comments: one key line each, read back from the YAML', async (t) => {
  const base = readFileSync(new URL('../fixtures/labs/keys/lab.pub', import.meta.url), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const comments = ['"quoted"', "it's", '#{system("id")}', 'back\\slash', 'yes', 'on', 'null', '0644', '~', 'a: b', 'a #b', '- x', '😀 user@host', 'x'.repeat(1000)];
  const files: Record<string, string> = {};
  comments.forEach((c, i) => (files[`ok-${i}.pub`] = `${base} ${c}\n`));
  files['two-lines.pub'] = `${base} one\n${base} two\n`;
  files['cr.pub'] = `${base} a\rb\n`;
  files['nul.pub'] = `${base} a\u0000b\n`;
  files['not-a-key.pub'] = 'hello world\n';
  files['private.pub'] = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
  files['huge.pub'] = `${base} ${'x'.repeat(20000)}\n`;
  files['quote"name.pub'] = 'nope\n';
  const dir = t.testdir(files);
  const ctx = { io: memoryIo(), env: {}, cwd: dir, signal: new AbortController().signal };

  for (const [i, c] of comments.entries()) {
    for (const os of ['flatcar', 'coreos'] as const) {
      const { lab } = await prepareLab({ architecture: 'dev', overrides: { os }, sshKeys: [`ok-${i}.pub`] }, ctx);
      for (const f of plan(lab).files.filter((x) => x.kind === 'user-data')) {
        t.same(parseCloudConfig(f.content).ssh_authorized_keys, [`${base} ${c}`], `${os} ${f.machine}: ${show(c)}`, { diagnostic: false });
        t.same(validateCloudConfig(f.content, { os }).filter((d) => d.severity === 'error'), [], 'valid', { diagnostic: false });
      }
    }
  }
  for (const name of ['two-lines.pub', 'cr.pub', 'nul.pub', 'not-a-key.pub', 'private.pub', 'huge.pub', 'quote"name.pub']) {
    try {
      await prepareLab({ architecture: 'dev', overrides: {}, sshKeys: [name] }, ctx);
      t.fail(`${name} accepted`);
    } catch (e) {
      // Named by --ssh-key: the command line's mistake (exit 2), the flag named.
      t.type(e, OptionValuesError, name);
      const p = (e as OptionValuesError).problems;
      t.match(p, [{ path: 'sshKeys', flag: 'ssh-key', message: /is not one OpenSSH public key line|is not a text file: it contains a NUL byte|is larger than 16 KiB/ }], `${name}: refused, naming sshKeys`);
      t.ok(p.every((x) => !CONTROL.test(x.message)), `${name}: message without control characters`);
    }
  }
});

t.test('fleetd paths with hostile names: Ruby and Vagrant find the exact file', { skip: rubyMissing }, async (t) => {
  const dir = t.testdir({ bin: {}, lab: {}, home: {} });
  const names = [
    'fleet"d',
    "fleet'd",
    'fleet#{system("touch pwned")}d',
    'fleet#@xd',
    'fleet\\d',
    'fleet$(id)d',
    'fleet`id`d',
    'fleet d',
    '"; system("id"); "',
    'fleet😀d',
    'yes',
    `f"';#{system("touch pwned")}\\$(id) 😀`,
  ];
  for (const n of names) writeFileSync(join(dir, 'bin', n), '#!/bin/sh\n');
  writeFileSync(join(dir, 'bin', 'fleet\nd'), '#!/bin/sh\n');
  const ctx = { io: memoryIo(), env: {}, cwd: dir, signal: new AbortController().signal };

  const checks: { literal: string; expected: string }[] = [];
  for (const n of names) {
    const { lab } = await prepareLab({ architecture: 'dev', overrides: {}, fleetd: join('bin', n) }, ctx);
    const expected = join(dir, 'bin', n);
    t.equal(lab.fleet.localFile, expected, `${show(n)}: resolved`);
    const p = plan(lab);
    const out = join(dir, 'lab', String(checks.length));
    await writePlan(out, p);
    const syntax = await run('ruby', ['-c', join(out, 'Vagrantfile')]);
    t.equal(syntax.stdout.trim(), 'Syntax OK', `${show(n)}: ruby -c`, { stderr: syntax.stderr });
    const lits = vagrantfileOf(p)
      .split('\n')
      .filter((l) => l.includes('destination: "/tmp/fleetd"'))
      .map((l) => literalAfter(l, 'm.vm.provision :file, source: ')!);
    t.equal(lits.length, 3, 'uploaded to each machine');
    for (const literal of lits) checks.push({ literal, expected });
  }
  const r = await rubyValues(checks.map((c) => c.literal));
  t.equal(r.code, 0, { stderr: r.stderr });
  t.same(r.hex, checks.map((c) => hexOf(c.expected)), 'Ruby gives back every path byte for byte');

  try {
    await prepareLab({ architecture: 'dev', overrides: {}, fleetd: join('bin', 'fleet\nd') }, ctx);
    t.fail('a path with a line break was accepted');
  } catch (e) {
    t.type(e, LabConfigError);
    t.match((e as LabConfigError).problems, [{ path: 'fleet.localFile', message: /line breaks/ }]);
  }

  if (vagrantMissing) {
    t.comment(`vagrant validate skipped: ${vagrantMissing}`);
    return;
  }
  // The nastiest one through Vagrant: its file provisioner checks that the source exists.
  const nastiest = join(dir, 'lab', String((names.length - 1) * 3));
  const res = await vagrantValidate(nastiest, 'virtualbox', join(dir, 'home'));
  t.equal(res.code, 0, 'vagrant validate finds the file', { stdout: res.stdout, stderr: res.stderr });
  t.match(res.stdout, /Vagrantfile validated successfully/);
  t.notOk(existsSync(join(nastiest, 'pwned')) || existsSync(join(dir, 'pwned')), 'nothing interpolated');
});

t.test('lab files: YAML words and numbers in metadata stay the text that was written', async (t) => {
  const doc = parseLabDocument(
    [
      'apiVersion: cclab.dev/v1alpha1',
      'kind: Lab',
      'spec:',
      '  architecture: dev',
      '  os: coreos',
      '  metadata:',
      '    rack: 0644',
      '    version: 1.10',
      '    on: yes',
      '    hex: 0x1F',
      '    ssd: true',
      '    quoted: "off"',
      '',
    ].join('\n'),
    'words.yaml',
  );
  const { lab } = resolveLab({ document: doc, source: 'words.yaml' });
  t.strictSame(lab.userMetadata, { rack: '0644', version: '1.10', on: 'yes', hex: '0x1F', ssd: 'true', quoted: 'off' });
  const cc = parseCloudConfig(userDataOf(plan(lab), 'worker-01'));
  t.equal(cc.coreos.fleet?.metadata, 'role=worker,rack=0644,version=1.10,on=yes,hex=0x1F,ssd=true,quoted=off');
  for (const bad of ['    rack: ~', '    rack: null', '    rack: [a]', '    rack: {a: b}']) {
    try {
      parseLabDocument(`apiVersion: cclab.dev/v1alpha1\nkind: Lab\nspec:\n  architecture: dev\n  metadata:\n${bad}\n`, 'bad.yaml');
      t.fail(`${bad.trim()} accepted`);
    } catch (e) {
      t.match((e as LabConfigError).problems, [{ path: 'spec.metadata.rack (line 6)', message: /string, number or boolean/ }], bad.trim());
    }
  }
});


/* ------------------------------------------------------------------------------ Ignition */

/** An Ignition config read back as the cloud-config it stands for (so the field checks above apply to it). */
function ignitionAsCloudConfig(text: string): { cc: ParsedCloudConfig; users: string[]; units: string[]; paths: string[] } {
  const ign = parseIgnition(text);
  const files = ignitionFiles(ign);
  const update = files.get('/etc/flatcar/update.conf')?.contents;
  const updateKeys: Record<string, string> = { GROUP: 'group', SERVER: 'server', REBOOT_STRATEGY: 'reboot_strategy' };
  const locksmith = ign.systemd.units.find((u) => u.name === 'locksmithd.service');
  const cc: ParsedCloudConfig = {
    hostname: files.get('/etc/hostname')?.contents.trimEnd(),
    ...(ign.passwd.users[0]?.sshAuthorizedKeys && { ssh_authorized_keys: ign.passwd.users[0].sshAuthorizedKeys }),
    write_files: ign.storage.files
      .filter((f) => f.path.startsWith('/opt/'))
      .map((f) => ({ path: f.path, permissions: f.mode.toString(8).padStart(4, '0'), owner: 'root', content: files.get(f.path)!.contents })),
    coreos: {
      units: ign.systemd.units
        .filter((u) => u.name !== 'locksmithd.service')
        .map((u) => ({ name: u.name, content: u.contents, enable: u.enabled, drop_ins: (u.dropins ?? []).map((d) => ({ name: d.name, content: d.contents })) })),
      ...(update && {
        update: Object.fromEntries(update.trimEnd().split('\n').map((l) => [updateKeys[l.slice(0, l.indexOf('='))]!, l.slice(l.indexOf('=') + 1)])),
      }),
      ...(locksmith && { locksmith: { endpoint: environmentOf(locksmith.dropins![0]!.contents).get('LOCKSMITHD_ENDPOINT') } }),
    },
  };
  return { cc, users: ign.passwd.users.map((u) => u.name), units: ign.systemd.units.map((u) => u.name), paths: ign.storage.files.map((f) => f.path) };
}

t.test('every field through Ignition: accepted hostile values read back exactly, and add no user, unit or file', async (t) => {
  const values = hostileValues(join(t.testdir({}), 'pwned'));
  const UNITS = new Set(['etcd-member.service', 'fleet-install.service', 'fleet.service', 'docker-tcp.socket', 'docker-tls-tcp.socket', 'locksmithd.service']);
  const PATHS = new Set([
    '/etc/hostname',
    '/etc/systemd/network/00-cclab.network',
    '/opt/cclab/install-fleetd.sh',
    '/opt/bin/fleetd',
    '/etc/flatcar/update.conf',
    '/etc/docker/tls/ca.pem',
    '/etc/docker/tls/server.pem',
    '/etc/docker/tls/server-key.pem',
    '/etc/docker/daemon.json',
  ]);
  let accepted = 0;
  for (const spec of fieldSpecs().filter((s) => s.oses.includes('flatcar') && s.yaml)) {
    for (const v of spec.values(values)) {
      const label = `${spec.field} ${show(v)}`;
      let lab: Lab;
      try {
        lab = (await resolveBuiltin(spec.arch, { ...spec.overrides(v), os: 'flatcar' })).lab;
      } catch (e) {
        t.type(e, LabConfigError, `${label}: refused as for cloud-config`, { diagnostic: !(e instanceof LabConfigError) });
        continue;
      }
      accepted++;
      for (const f of plan(lab, 'bare-metal').files) {
        const m = lab.machines.find((x) => x.name === f.machine)!;
        const { cc, users, units, paths } = ignitionAsCloudConfig(f.content);
        t.same(users, ['core'], `${label}: ${m.name}: one user`, { diagnostic: false });
        t.ok(units.every((u) => UNITS.has(u)), `${label}: ${m.name}: only cclab's units`, { units, diagnostic: !units.every((u) => UNITS.has(u)) });
        t.ok(paths.every((p) => PATHS.has(p)), `${label}: ${m.name}: only cclab's files`, { paths, diagnostic: !paths.every((p) => PATHS.has(p)) });
        const got = spec.yaml!(v, cc, m, 'flatcar');
        if (got) t.equal(got[0], got[1], `${label}: ${m.name} reads it back`, { diagnostic: got[0] !== got[1] });
        const errors = validateIgnition(f.content).filter((d) => d.severity === 'error');
        t.same(errors, [], `${label}: ${m.name}: valid Ignition`, { diagnostic: errors.length > 0 });
      }
    }
  }
  t.ok(accepted > 20, `${accepted} accepted values checked in Ignition`);
});

t.test('MACs: hostile --macs files and values are refused; accepted ones reach the Vagrantfile as Ruby literals', async (t) => {
  const dir = t.testdir({
    'ok.txt': 'worker-01 52:54:00:00:00:01\n',
    'extra.txt': 'worker-01 52:54:00:00:00:01 "; system("id")\n',
    'twice.txt': 'worker-01 52:54:00:00:00:01\nworker-01 52:54:00:00:00:02\n',
    'ruby.txt': 'worker-01 "52:54:00:00:00:01"\n',
    'unknown.txt': 'worker-99 52:54:00:00:00:01\n',
  });
  const ctx = { io: memoryIo(), env: {}, cwd: dir, signal: new AbortController().signal };
  const { lab } = await prepareLab({ architecture: 'dev', overrides: {}, macs: 'ok.txt' }, ctx);
  t.equal(lab.machines[1]!.mac, '52:54:00:00:00:01');
  t.match(vagrantfileOf(plan(lab)), /mac: "525400000001"/, 'VirtualBox form');
  for (const [file, message] of [
    ['extra.txt', /expected "machine MAC"/],
    ['twice.txt', /listed twice/],
    ['ruby.txt', /not a unicast MAC/],
    ['unknown.txt', /no machine "worker-99"/],
  ] as const) {
    const e = await prepareLab({ architecture: 'dev', overrides: {}, macs: file }, ctx).then(
      () => undefined,
      (x: unknown) => x,
    );
    t.type(e, LabConfigError, `${file}: refused`);
    t.match((e as LabConfigError).problems, [{ message }], file);
  }
  // The file itself: read like every file the user names (bounded, text only), a usage error naming --macs.
  writeFileSync(join(dir, 'nul.txt'), 'worker-01\0 52:54:00:00:00:01\n');
  for (const [file, message] of [
    ['nul.txt', /^--macs nul\.txt: it is not a text file: it contains a NUL byte/],
    ['/dev/zero', /^--macs \/dev\/zero: it is larger than 64 KiB, more than a MAC list holds/],
    ['missing.txt', /^--macs missing\.txt: no such file$/],
  ] as const) {
    await t.rejects(prepareLab({ architecture: 'dev', overrides: {}, macs: file }, ctx), { constructor: UsageError, message }, file);
  }
});
