import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { MAX_CLOUD_CONFIG_BYTES, run } from '../../src/commands/validate.js';
import type { ValidateCommandOptions } from '../../src/commands/validate.js';
import { memoryIo } from '../../src/context.js';
import type { Context } from '../../src/context.js';
import { CclabError, ExitCode, InvalidFileError, UsageError } from '../../src/errors.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/validate/', import.meta.url));
const fixture = (name: string): string => readFileSync(FIXTURES + name, 'utf8');

const GOOD = fixture('modern-flatcar.yaml');
const WARNS = '#cloud-config\nhostname: core-01\nhostnme: typo\n';
const HYPHENS = '#cloud-config\ncoreos:\n  update:\n    reboot-strategy: "off"\n';

function setup(t: Test, files: Parameters<Test['testdir']>[0]) {
  const dir = t.testdir(files);
  const io = memoryIo();
  const ctx: Context = { io, env: {}, cwd: dir, signal: new AbortController().signal };
  return { dir, io, ctx, run: (opts: ValidateCommandOptions) => run(opts, ctx) };
}

t.test('prints FILE:LINE: severity: message on stdout and a summary on stderr', async (t) => {
  const s = setup(t, { 'good.yaml': GOOD, 'warn.yaml': WARNS, 'hyphens.yaml': HYPHENS });
  const err = await s.run({ files: ['good.yaml', 'warn.yaml', 'hyphens.yaml'], os: 'flatcar', json: false }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.equal(
    s.io.stdout,
    [
      'warn.yaml:3: warning: unrecognized key "hostnme" (did you mean "hostname"?)',
      'hyphens.yaml:4: error: "reboot-strategy" is ignored by Flatcar, which only reads snake_case keys (since February 2024): write "reboot_strategy"',
      '',
    ].join('\n'),
  );
  t.equal(s.io.stderr, '3 files: 1 error, 1 warning\n');
  t.ok(err instanceof InvalidFileError, 'throws InvalidFileError after printing');
  const e = err as InvalidFileError;
  t.equal(e.exitCode, ExitCode.invalidFile);
  t.match(e.message, /1 of 3 files are not valid cloud-config for Flatcar/);
  t.match(e.hint, /fix the lines marked "error"/);
});

t.test('warnings alone do not fail; the report is returned', async (t) => {
  const s = setup(t, { 'a.yaml': WARNS, 'b.yaml': GOOD });
  const report = await s.run({ files: ['a.yaml', 'b.yaml'], os: 'flatcar', json: false });
  t.equal(report.errors, 0);
  t.equal(report.warnings, 1);
  t.equal(s.io.stdout, 'a.yaml:3: warning: unrecognized key "hostnme" (did you mean "hostname"?)\n');
  t.equal(s.io.stderr, '2 files: 0 errors, 1 warning\n');
});

t.test('a clean file prints nothing on stdout', async (t) => {
  const s = setup(t, { 'a.yaml': GOOD });
  await s.run({ files: ['a.yaml'], os: 'flatcar', json: false });
  t.equal(s.io.stdout, '');
  t.equal(s.io.stderr, '1 file: 0 errors, 0 warnings\n');
});

t.test('--os coreos: hyphenated keys are warnings, so the same file passes', async (t) => {
  const s = setup(t, { 'h.yaml': HYPHENS });
  const report = await s.run({ files: ['h.yaml'], os: 'coreos', json: false });
  t.same([report.errors, report.warnings], [0, 1]);
  t.match(s.io.stdout, /^h\.yaml:4: warning: "reboot-strategy" works on legacy CoreOS/);
});

t.test('the target defaults to Flatcar', async (t) => {
  const s = setup(t, { 'h.yaml': HYPHENS });
  await t.rejects(s.run({ files: ['h.yaml'] }), InvalidFileError);
  t.match(s.io.stdout, /error: "reboot-strategy" is ignored by Flatcar/);
});

t.test('--json prints exactly one JSON document on stdout', async (t) => {
  const s = setup(t, { 'good.yaml': GOOD, 'bad.yaml': fixture('enums/bad.yaml') });
  await t.rejects(s.run({ files: ['good.yaml', 'bad.yaml', 'missing.yaml'], os: 'flatcar', json: true }), InvalidFileError);
  const doc = JSON.parse(s.io.stdout) as {
    files: { file: string; diagnostics: { line: number; column?: number; severity: string; message: string }[] }[];
    errors: number;
    warnings: number;
  };
  t.same(Object.keys(doc).sort(), ['errors', 'files', 'warnings']);
  t.same(
    doc.files.map((f) => f.file),
    ['good.yaml', 'bad.yaml', 'missing.yaml'],
  );
  t.same(doc.files[0]?.diagnostics, []);
  t.match(doc.files[1]?.diagnostics[0], { line: 2, column: 19, severity: 'error', message: /manage_etc_hosts/ });
  t.same(doc.files[2]?.diagnostics, [{ line: 0, severity: 'error', message: 'cannot read the file: no such file' }]);
  const all = doc.files.flatMap((f) => f.diagnostics);
  t.equal(doc.errors, all.filter((d) => d.severity === 'error').length);
  t.equal(doc.warnings, all.filter((d) => d.severity === 'warning').length);
  t.equal(doc.errors, 11, 'ten in bad.yaml, one for missing.yaml');
  t.equal(s.io.stderr, '3 files: 11 errors, 1 warning\n', 'the summary stays on stderr');
});

t.test('a file that cannot be read is an error of that file, the others are still checked', async (t) => {
  const s = setup(t, { 'warn.yaml': WARNS, sub: t.fixture('dir', {}) });
  await t.rejects(s.run({ files: ['nope.yaml', 'sub', 'warn.yaml'], os: 'flatcar', json: false }), InvalidFileError);
  t.equal(
    s.io.stdout,
    [
      'nope.yaml: error: cannot read the file: no such file',
      'sub: error: cannot read the file: it is a directory',
      'warn.yaml:3: warning: unrecognized key "hostnme" (did you mean "hostname"?)',
      '',
    ].join('\n'),
  );
  t.equal(s.io.stderr, '3 files: 2 errors, 1 warning\n');
});

t.test('a path through a file is reported, not thrown', async (t) => {
  const s = setup(t, { 'plain.yaml': GOOD });
  await t.rejects(s.run({ files: ['plain.yaml/inner.yaml'], os: 'flatcar', json: false }), InvalidFileError);
  t.equal(s.io.stdout, 'plain.yaml/inner.yaml: error: cannot read the file: a parent of it is not a directory\n');
});

t.test('absolute paths are read as given and printed as given', async (t) => {
  const s = setup(t, { 'w.yaml': WARNS });
  const abs = join(s.dir, 'w.yaml');
  const elsewhere: Context = { ...s.ctx, cwd: '/' };
  await run({ files: [abs], os: 'flatcar', json: false }, elsewhere);
  t.equal(s.io.stdout, `${abs}:3: warning: unrecognized key "hostnme" (did you mean "hostname"?)\n`);
});

t.test('usage errors', async (t) => {
  const s = setup(t, {});
  await t.rejects(s.run({ files: [], os: 'flatcar', json: false }), UsageError);
  await t.rejects(s.run({ files: ['a.yaml'], os: 'windows' as never, json: false }), UsageError);
  t.equal(s.io.stdout, '', 'nothing printed');
});

t.test('the thrown error is a CclabError that cli.ts maps to exit code 9', async (t) => {
  const s = setup(t, { 'x.yaml': 'not a cloud-config\n' });
  const e = await s.run({ files: ['x.yaml'], os: 'coreos', json: false }).catch((error: unknown) => error);
  t.ok(e instanceof CclabError);
  t.equal((e as CclabError).exitCode, 9);
  t.match((e as CclabError).message, /legacy CoreOS/);
  t.equal(
    s.io.stdout,
    [
      'x.yaml:1: error: first line must be exactly "#cloud-config", found "not a cloud-config"',
      'x.yaml:1: error: a cloud-config must be a mapping of keys (ssh_authorized_keys, coreos, write_files, …), found the string "not a cloud-config"',
      '',
    ].join('\n'),
  );
});

/* ------------------------------------------------------------------------------------ Ignition */

const IGN_GOOD = '{\n  "ignition": { "version": "3.3.0" },\n  "storage": { "files": [{ "path": "/etc/hostname", "mode": 420, "contents": { "source": "data:,a" } }] }\n}\n';
const IGN_BAD = '{\n  "ignition": { "version": "3.3.0" },\n  "storage": {\n    "files": [{ "path": "etc/hostname", "mode": 644 }]\n  },\n  "extra": true\n}\n';

t.test('Ignition files: by extension or by content, same report format and exit codes', async (t) => {
  const s = setup(t, { 'good.ign': IGN_GOOD, 'bad.ign': IGN_BAD, 'bad-no-ext': IGN_BAD, 'cc.yaml': GOOD });
  const err = await s.run({ files: ['good.ign', 'bad.ign', 'bad-no-ext', 'cc.yaml'], os: 'flatcar', json: false }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const expected = (f: string) => [
    `${f}:4: error: $.storage.files.0.path: path not absolute`,
    `${f}:4: warning: $.storage.files.0.mode: setuid/setgid/sticky bits are not supported in spec versions older than 3.4.0; 644 looks like octal 0644, which is 420 in decimal`,
    `${f}:6: warning: $.extra: unknown key "extra" (Ignition ignores it)`,
  ];
  t.equal(s.io.stdout, [...expected('bad.ign'), ...expected('bad-no-ext'), ''].join('\n'));
  t.equal(s.io.stderr, '4 files: 2 errors, 4 warnings\n');
  t.ok(err instanceof InvalidFileError);
  t.equal((err as InvalidFileError).exitCode, ExitCode.invalidFile);
  t.match((err as InvalidFileError).message, /2 of 4 files are not valid cloud-config or Ignition/);

  const j = setup(t, { 'bad.ign': IGN_BAD });
  await j.run({ files: ['bad.ign'], json: true }).catch(() => undefined);
  const doc = JSON.parse(j.io.stdout) as { files: { file: string; diagnostics: { line: number; column: number; severity: string; message: string }[] }[]; errors: number };
  t.equal(doc.errors, 1);
  t.match(doc.files[0]!.diagnostics[0], { line: 4, column: 25, severity: 'error', message: '$.storage.files.0.path: path not absolute' });
});

t.test('--with-ignition-validate runs ignition-validate and adds what it finds', async (t) => {
  // A stand-in ignition-validate that reports one problem cclab does not check.
  const fake = '#!/bin/sh\n[ "$1" = --version ] && { echo fake; exit 0; }\necho "error at \\$.storage.files.0.user, line 4 col 9: no such user"\nexit 1\n';
  const s = setup(t, { 'good.ign': IGN_GOOD, 'iv.sh': fake });
  const { chmodSync } = await import('node:fs');
  chmodSync(join(s.dir, 'iv.sh'), 0o755);
  const err = await s.run({ files: ['good.ign'], withIgnitionValidate: join(s.dir, 'iv.sh') }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.equal(s.io.stdout, 'good.ign:4: error: $.storage.files.0.user: no such user (ignition-validate)\n');
  t.ok(err instanceof InvalidFileError, 'its errors fail validation');
  const missing = setup(t, { 'good.ign': IGN_GOOD });
  const e2 = await missing.run({ files: ['good.ign'], withIgnitionValidate: join(missing.dir, 'nope') }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(e2 instanceof UsageError, 'not installed: a usage error');
  t.match((e2 as UsageError).hint, /apt-get install ignition/);
});

t.test('input is bounded: a huge file, a device, a binary file end in one clear error each', async (t) => {
  const big = `#cloud-config\nwrite_files:\n  - path: /etc/big\n    content: "${'x'.repeat(MAX_CLOUD_CONFIG_BYTES)}"\n`;
  const s = setup(t, {
    'big.yaml': big,
    'nul.yaml': '#cloud-config\nhostname: a\0b\n',
    'latin1.yaml': Buffer.from('#cloud-config\nhostname: caf\xe9\n', 'latin1'),
    'exact.yaml': `#cloud-config\n#${'x'.repeat(MAX_CLOUD_CONFIG_BYTES - 16)}\n`,
  });
  await t.rejects(
    s.run({ files: ['big.yaml', '/dev/urandom', '/dev/zero', 'nul.yaml', 'latin1.yaml', 'exact.yaml'], os: 'flatcar', json: false }),
    InvalidFileError,
  );
  t.equal(
    s.io.stdout,
    [
      'big.yaml: error: the file is larger than 1 MiB, the most cclab validate reads: no platform passes that much user-data to a machine (GCE takes 256 KB); is it the right file?',
      '/dev/urandom: error: the file is larger than 1 MiB, the most cclab validate reads: no platform passes that much user-data to a machine (GCE takes 256 KB); is it the right file?',
      '/dev/zero: error: the file is larger than 1 MiB, the most cclab validate reads: no platform passes that much user-data to a machine (GCE takes 256 KB); is it the right file?',
      'nul.yaml: error: not a text file: it contains a NUL byte (at byte 25); a cloud-config is UTF-8 text starting with "#cloud-config"',
      'latin1.yaml: error: not a text file: it is not UTF-8 text; a cloud-config is UTF-8 text starting with "#cloud-config"',
      '',
    ].join('\n'),
    'exactly the limit is read and checked',
  );
});

t.test('gzip-compressed user-data is read as coreos-cloudinit reads it: uncompressed, within the same bound', async (t) => {
  const s = setup(t, {
    'warn.yaml.gz': gzipSync(WARNS),
    'bomb.gz': gzipSync(Buffer.alloc(MAX_CLOUD_CONFIG_BYTES + 1, 0x20)),
    'broken.gz': Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01]),
  });
  await t.rejects(s.run({ files: ['warn.yaml.gz', 'bomb.gz', 'broken.gz'], os: 'flatcar', json: false }), InvalidFileError);
  t.equal(
    s.io.stdout,
    [
      'warn.yaml.gz:3: warning: unrecognized key "hostnme" (did you mean "hostname"?)',
      'bomb.gz: error: the gzip-compressed file, uncompressed, is larger than 1 MiB, the most cclab validate reads: no platform passes that much user-data to a machine (GCE takes 256 KB); is it the right file?',
      'broken.gz: error: the file starts like gzip data but does not decompress: coreos-cloudinit would read it as it is, and it is not text',
      '',
    ].join('\n'),
  );
});

t.test('a message never carries a huge value from the file, nor its control characters raw', async (t) => {
  const huge = 'a'.repeat(200_000);
  const s = setup(t, {
    'x.yaml': [
      '#cloud-config',
      `? ${huge}`,
      ': 1',
      'coreos:',
      '  update:',
      `    reboot_strategy: "${huge}"`,
      '  units:',
      `    - name: "${huge}.service\\e]0;pwned\\a"`,
      '      command: start',
      `hostname: [${huge}]`,
      '',
    ].join('\n'),
  });
  await t.rejects(s.run({ files: ['x.yaml'], os: 'flatcar', json: false }), InvalidFileError);
  const lines = s.io.stdout.trimEnd().split('\n');
  t.equal(lines.length, 4, s.io.stdout.slice(0, 2000));
  for (const line of lines) t.ok(line.length < 400, `short: ${line.slice(0, 120)}`);
  t.notOk(/[\x00-\x08\x0b-\x1f\x7f]/.test(s.io.stdout), 'no control character');
  t.match(s.io.stdout, /\(200000 characters\)/);
});
