import t from 'tap';
import type { Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { validateCloudConfig, type Diagnostic } from '../../src/validate/cloudconfig.js';
import type { TargetOs } from '../../src/validate/schema.js';
import { resolvePlain } from '../../src/validate/yamlscalar.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/validate/', import.meta.url));
const SEED = fileURLToPath(new URL('../../../shared/seed/cluster-architectures.md', import.meta.url));

function fixture(name: string): string {
  return readFileSync(FIXTURES + name, 'utf8');
}

type Expected = [line: number, severity: Diagnostic['severity'], message: RegExp];

/** Exactly these diagnostics, in this order (line, severity, and a message matching the pattern). */
function expectExactly(t: Test, actual: Diagnostic[], expected: Expected[]): void {
  t.same(
    actual.map((d) => `${d.line} ${d.severity}`),
    expected.map(([line, severity]) => `${line} ${severity}`),
    'lines and severities',
  );
  expected.forEach(([, , pattern], i) => t.match(actual[i]?.message ?? '', pattern, `diagnostic ${i + 1}`));
}

function check(t: Test, name: string, os: TargetOs, expected: Expected[]): void {
  t.test(`${name} (${os})`, async (t) => {
    expectExactly(t, validateCloudConfig(fixture(name), { os }), expected);
  });
}

function both(t: Test, name: string, expected: Expected[]): void {
  check(t, name, 'flatcar', expected);
  check(t, name, 'coreos', expected);
}

/** The same diagnostics, with the severity each target gives them. */
function perOs(t: Test, name: string, expected: [number, 'os' | Diagnostic['severity'], RegExp][]): void {
  const on = (os: TargetOs, osSeverity: Diagnostic['severity']): Expected[] =>
    expected.map(([line, severity, pattern]) => [line, severity === 'os' ? osSeverity : severity, pattern]);
  check(t, name, 'flatcar', on('flatcar', 'error'));
  check(t, name, 'coreos', on('coreos', 'warning'));
}

const ETCD2_DEPRECATED = /deprecated key "coreos\.etcd2"/;
const FLEET_DEPRECATED = /deprecated key "coreos\.fleet"/;

t.test('header: the first line is exactly #cloud-config', async (t) => {
  both(t, 'header/good.yaml', []);
  both(t, 'header/bad.yaml', [[1, 'error', /first line must be exactly "#cloud-config", found "# cloud-config"/]]);
  t.test('trailing whitespace and CRLF line ends are accepted, as coreos-cloudinit trims them', async (t) => {
    t.same(validateCloudConfig('#cloud-config  \r\nhostname: a\r\n', { os: 'flatcar' }), []);
  });
  t.test('an empty file, a script and a BOM are reported at line 1', async (t) => {
    expectExactly(t, validateCloudConfig('', { os: 'flatcar' }), [[1, 'error', /file is empty/]]);
    expectExactly(t, validateCloudConfig('#!/bin/sh\necho hi\n', { os: 'flatcar' }), [[1, 'error', /found a script/]]);
    expectExactly(t, validateCloudConfig('\uFEFF#cloud-config\nhostname: a\n', { os: 'flatcar' }), [
      [1, 'error', /byte order mark/],
    ]);
  });
  t.test('the rest of a file without header is still checked', async (t) => {
    expectExactly(t, validateCloudConfig('hostname: a\nhostnme: b\n', { os: 'flatcar' }), [
      [1, 'error', /first line must be/],
      [2, 'warning', /unrecognized key "hostnme"/],
    ]);
  });
});

t.test('YAML syntax errors carry the line of the offending text', async (t) => {
  both(t, 'syntax/good.yaml', []);
  both(t, 'syntax/bad.yaml', [[6, 'error', /^YAML syntax error: /]]);
  t.test('tabs used as indentation', async (t) => {
    expectExactly(t, validateCloudConfig('#cloud-config\ncoreos:\n\tunits: []\n', { os: 'flatcar' }), [
      [3, 'error', /YAML syntax error: Tabs are not allowed/],
    ]);
  });
  t.test('only the first document is read', async (t) => {
    expectExactly(t, validateCloudConfig('#cloud-config\nhostname: a\n---\nhostname: b\n', { os: 'coreos' }), [
      [3, 'warning', /only the first YAML document is read/],
    ]);
  });
  t.test('the top level must be a mapping', async (t) => {
    expectExactly(t, validateCloudConfig('#cloud-config\n- a\n- b\n', { os: 'flatcar' }), [
      [2, 'error', /must be a mapping of keys.*found a list/],
    ]);
    t.same(validateCloudConfig('#cloud-config\n', { os: 'flatcar' }), [], 'a header alone is a valid, empty config');
  });
});

t.test('unrecognized keys are warnings at every level', async (t) => {
  both(t, 'unknown-keys/good.yaml', []);
  both(t, 'unknown-keys/bad.yaml', [
    [2, 'warning', /^unrecognized key "hostnme" \(did you mean "hostname"\?\)$/],
    [3, 'warning', /^unrecognized key "runcmd": coreos-cloudinit has no runcmd/],
    [7, 'warning', /^unrecognized key "sudo" in "users\[0\]"$/],
    [10, 'warning', /^unrecognized key "mode" in "write_files\[0\]"$/],
    [12, 'warning', /^unrecognized key "reboot_strategy" in "coreos"$/],
    [14, 'warning', /^unrecognized key "iface" in "coreos\.flannel"$/],
    [16, 'warning', /^unrecognized key "endpoints" in "coreos\.locksmith" \(did you mean "endpoint"\?\)$/],
    [18, 'warning', /^unrecognized key "channel" in "coreos\.update"$/],
    [21, 'warning', /^unrecognized key "start" in "coreos\.units\[0\]"$/],
    [23, 'warning', /drop-in "10-env\.conf" has no "content": coreos-cloudinit skips it/],
    [24, 'warning', /^unrecognized key "contents" in "coreos\.units\[0\]\.drop_ins\[0\]" \(did you mean "content"\?\)$/],
    [25, 'warning', /"write_files" does not belong under "coreos"/],
  ]);
});

t.test('wrong types: errors on Flatcar (it rejects the file), warnings on legacy CoreOS (it drops the value)', async (t) => {
  both(t, 'types/good.yaml', [
    [3, 'warning', ETCD2_DEPRECATED],
    [9, 'warning', FLEET_DEPRECATED],
    [26, 'warning', /^"coreos\.units\[3\]\.enable" has no value: coreos-cloudinit warns "incorrect type"/],
  ]);
  check(t, 'types/bad.yaml', 'flatcar', [
    [2, 'error', /"hostname" must be a string, found a list: Flatcar's coreos-cloudinit rejects the whole file/],
    [3, 'error', /"ssh_authorized_keys" must be a list, found the string/],
    [5, 'warning', ETCD2_DEPRECATED],
    [6, 'error', /"coreos\.etcd2\.heartbeat_interval" must be an integer, found the string "abc"/],
    [7, 'error', /"coreos\.etcd2\.election_timeout" must be an integer, found the quoted string "1000"/],
    [8, 'warning', /"coreos\.etcd2\.snapshot_count" must be an integer, found 1\.5: coreos-cloudinit drops the fraction/],
    [9, 'warning', FLEET_DEPRECATED],
    [10, 'error', /"coreos\.fleet\.disable_engine" must be a boolean \(true or false\), found the number 1/],
    [11, 'error', /"coreos\.update" must be a mapping, found the string "reboot"/],
    [14, 'error', /"coreos\.units\[0\]\.enable" must be a boolean \(true or false\), found the quoted string "maybe"/],
    [16, 'error', /"coreos\.units\[1\]\.runtime" must be a boolean \(true or false\), found the quoted string "true"/],
    [18, 'warning', /"coreos\.units\[2\]\.enable" is the quoted string "yes": Flatcar reads it as a boolean but legacy CoreOS ignores it/],
    [19, 'error', /"write_files" must be a list, found a mapping/],
    [23, 'error', /"users\[0\]\.groups" must be a list, found the string "sudo"/],
  ]);
  check(t, 'types/bad.yaml', 'coreos', [
    [2, 'warning', /"hostname" must be a string, found a list: legacy CoreOS ignores the value/],
    [3, 'warning', /"ssh_authorized_keys" must be a list/],
    [5, 'warning', ETCD2_DEPRECATED],
    [6, 'warning', /"coreos\.etcd2\.heartbeat_interval" must be an integer/],
    [7, 'warning', /"coreos\.etcd2\.election_timeout" must be an integer/],
    [8, 'warning', /drops the fraction/],
    [9, 'warning', FLEET_DEPRECATED],
    [10, 'warning', /"coreos\.fleet\.disable_engine" must be a boolean/],
    [11, 'warning', /"coreos\.update" must be a mapping/],
    [14, 'warning', /"coreos\.units\[0\]\.enable" must be a boolean/],
    [16, 'warning', /"coreos\.units\[1\]\.runtime" must be a boolean/],
    [18, 'warning', /"coreos\.units\[2\]\.enable" must be a boolean, found the quoted string "yes": legacy CoreOS ignores the value/],
    [19, 'warning', /"write_files" must be a list/],
    [23, 'warning', /"users\[0\]\.groups" must be a list/],
  ]);
  perOs(t, 'types/units-not-a-list.yaml', [[3, 'os', /"coreos\.units" must be a list, found a mapping/]]);
  t.test('the diagnostic points at the key (line and column)', async (t) => {
    const [d] = validateCloudConfig('#cloud-config\ncoreos:\n  units:\n    - name: a.service\n      enable: "maybe"\n', {
      os: 'flatcar',
    });
    t.match(d, { line: 5, column: 7, severity: 'error' });
  });
});

t.test('invalid enumerated values are errors', async (t) => {
  both(t, 'enums/good.yaml', [[4, 'warning', ETCD2_DEPRECATED]]);
  both(t, 'enums/proxy-off.yaml', [[3, 'warning', ETCD2_DEPRECATED]]);
  const common = (rebootStrategy: Expected): Expected[] => [
    [2, 'error', /invalid value "true" for "manage_etc_hosts": must be "localhost"/],
    [4, 'warning', ETCD2_DEPRECATED],
    [5, 'error', /invalid value "yes" for "proxy": must be one of on, off, readonly/],
    rebootStrategy,
    [9, 'error', /invalid value "4am" for "window_start"/],
    [10, 'error', /invalid value "1 hour" for "window_length"/],
    [13, 'error', /invalid value "Start" for "command": must be one of start, stop, restart, reload, try-restart, reload-or-restart, reload-or-try-restart \(case-sensitive\)/],
    [15, 'error', /invalid value "enable" for "command"/],
    [18, 'error', /invalid value "0o644" for "permissions": must be an octal mode written as a quoted string, such as "0644"/],
    [20, 'error', /invalid value "rw-r--r--" for "permissions"/],
    [22, 'error', /invalid value "base65" for "encoding": must be one of base64, b64, gz, gzip, gz\+base64, gzip\+base64, gz\+b64, gzip\+b64/],
  ];
  check(t, 'enums/bad.yaml', 'flatcar', common([7, 'error', /invalid value "best-effort" for "reboot_strategy": must be one of etcd-lock, reboot, off/]));
  check(t, 'enums/bad.yaml', 'coreos', common([7, 'warning', /"best-effort" is accepted by the coreos-cloudinit of legacy CoreOS \(before v1\.14\)/]));
  t.test('the diagnostic points at the value', async (t) => {
    const [d] = validateCloudConfig('#cloud-config\ncoreos:\n  units:\n    - name: a.service\n      command: Start\n', {
      os: 'coreos',
    });
    t.match(d, { line: 5, column: 16, severity: 'error' });
  });
});

t.test('write_files permissions: an unquoted octal number is explained', async (t) => {
  both(t, 'permissions/good.yaml', []);
  both(t, 'permissions/bad.yaml', [
    [4, 'warning', /permissions 0644 is not quoted: YAML 1\.1 reads it as the number 420 \(octal 0644\).*write "0644"/],
    [6, 'warning', /permissions 600 is not quoted: YAML reads it as the decimal number 600.*write "0600"/],
  ]);
});

t.test('write_files under /usr is an error (read-only), a missing path too', async (t) => {
  both(t, 'usr/good.yaml', []);
  both(t, 'usr/bad.yaml', [
    [3, 'error', /"\/usr\/local\/bin\/tool" is under \/usr, which is read-only on Container Linux/],
    [5, 'error', /"\/usr\/\.\.\/usr\/share\/x" is under \/usr/],
    [7, 'warning', /path "etc\/relative" is relative: coreos-cloudinit writes it to "\/etc\/relative"/],
    [9, 'error', /write_files\[3\] has no "path"/],
  ]);
});

t.test('deprecated keys are warnings worded for each target', async (t) => {
  both(t, 'deprecated/good.yaml', []);
  check(t, 'deprecated/bad.yaml', 'flatcar', [
    [3, 'warning', /deprecated key "coreos\.etcd": etcd 0\.4 is not shipped in Flatcar/],
    [5, 'warning', /deprecated key "coreos\.etcd\.heartbeat_interval": etcd2 options do not work for etcd 0\.4/],
    [6, 'warning', /deprecated key "coreos\.etcd2": etcd2 is not shipped in Flatcar.*etcd-member\.service/],
    [8, 'warning', /deprecated key "coreos\.etcd2\.ca_file": obsoleted by trusted_ca_file/],
    [9, 'warning', /deprecated key "coreos\.fleet": fleet is not shipped in Flatcar/],
    [13, 'warning', /deprecated key "users\[0\]\.coreos_ssh_import_github"/],
  ]);
  check(t, 'deprecated/bad.yaml', 'coreos', [
    [3, 'warning', /deprecated key "coreos\.etcd": it configures etcd 0\.4/],
    [5, 'warning', /etcd2 options do not work for etcd 0\.4/],
    [6, 'warning', /deprecated key "coreos\.etcd2": coreos-cloudinit v1\.14 deprecated it .*still works on the legacy releases that ship etcd2 \(≤ 1632\)/],
    [8, 'warning', /obsoleted by trusted_ca_file/],
    [9, 'warning', /deprecated key "coreos\.fleet": coreos-cloudinit v1\.14 deprecated it .*still works/],
    [13, 'warning', /coreos_ssh_import_github/],
  ]);
});

t.test('hyphenated keys: errors on Flatcar (ignored there), warnings on legacy CoreOS', async (t) => {
  const deprecations = (os: TargetOs): Expected[] => [
    [3, 'warning', ETCD2_DEPRECATED],
    [6, 'warning', FLEET_DEPRECATED],
  ];
  check(t, 'hyphens/good.yaml', 'flatcar', deprecations('flatcar'));
  check(t, 'hyphens/good.yaml', 'coreos', deprecations('coreos'));
  check(t, 'hyphens/bad.yaml', 'flatcar', [
    [2, 'error', /^"ssh-authorized-keys" is ignored by Flatcar, which only reads snake_case keys \(since February 2024\): write "ssh_authorized_keys"$/],
    [5, 'warning', ETCD2_DEPRECATED],
    [6, 'error', /"advertise-client-urls" is ignored by Flatcar.*write "advertise_client_urls"/],
    [8, 'warning', FLEET_DEPRECATED],
    [9, 'error', /"public-ip" is ignored by Flatcar.*write "public_ip"/],
    [11, 'error', /"reboot-strategy" is ignored by Flatcar.*write "reboot_strategy"/],
    [14, 'error', /"drop-ins" is ignored by Flatcar.*write "drop_ins"/],
  ]);
  check(t, 'hyphens/bad.yaml', 'coreos', [
    [2, 'warning', /^"ssh-authorized-keys" works on legacy CoreOS but Flatcar ignores hyphenated keys: write "ssh_authorized_keys"$/],
    [5, 'warning', ETCD2_DEPRECATED],
    [6, 'warning', /write "advertise_client_urls"/],
    [8, 'warning', FLEET_DEPRECATED],
    [9, 'warning', /write "public_ip"/],
    [11, 'warning', /write "reboot_strategy"/],
    [14, 'warning', /write "drop_ins"/],
  ]);
  t.test('on legacy CoreOS the value of a hyphenated key is checked like its snake_case twin', async (t) => {
    const text = '#cloud-config\ncoreos:\n  update:\n    reboot-strategy: sometimes\n';
    expectExactly(t, validateCloudConfig(text, { os: 'coreos' }), [
      [4, 'warning', /"reboot-strategy" works on legacy CoreOS/],
      [4, 'error', /invalid value "sometimes" for "reboot_strategy"/],
    ]);
    expectExactly(t, validateCloudConfig(text, { os: 'flatcar' }), [[4, 'error', /"reboot-strategy" is ignored by Flatcar/]]);
  });
  t.test('a hyphenated key that is not a hyphenated known key is just unrecognized', async (t) => {
    expectExactly(t, validateCloudConfig('#cloud-config\nrun-cmd: [ls]\n', { os: 'flatcar' }), [
      [2, 'warning', /unrecognized key "run-cmd"/],
    ]);
  });
});

t.test('unit names, drop-ins and networkd units', async (t) => {
  both(t, 'units/good.yaml', []);
  both(t, 'units/bad.yaml', [
    [4, 'error', /unit name "docker" has no type suffix: name it like "docker\.service"/],
    [8, 'error', /unit name "backup\.job" has an unknown type "\.job"/],
    [12, 'error', /invalid unit name "my unit\.service"/],
    [14, 'error', /coreos\.units\[3\] has no "name": coreos-cloudinit skips it/],
    [18, 'warning', /"command" is ignored for \.network units: coreos-cloudinit restarts systemd-networkd instead/],
    [19, 'warning', /"enable" is ignored for \.network units/],
    [24, 'error', /cannot start the template unit "worker@\.service": name an instance, such as "worker@1\.service"/],
    [27, 'error', /drop-in "10-opts" is never read: systemd only loads drop-ins whose name ends in "\.conf"/],
    [29, 'error', /drop-in name "conf\.d\/20-b\.conf" must be a file name/],
    [31, 'warning', /drop-in "30-c\.conf" has no "content"/],
    [32, 'warning', /unit name "lonely" has no type suffix/],
  ]);
});

t.test('a unit named as a drop-in path (UNIT.d/NAME.conf) is written as a drop-in, as coreos-cloudinit does', async (t) => {
  both(t, 'units/drop-in-paths-good.yaml', []);
  both(t, 'units/drop-in-paths-bad.yaml', [
    [5, 'error', /^cannot start "docker\.service\.d\/50-opts\.conf": it is a drop-in file of docker\.service, not a unit; .*Put "command" on a unit named "docker\.service"$/],
    [6, 'error', /^cannot enable "docker\.service\.d\/50-opts\.conf": it is a drop-in file/],
    [10, 'error', /drop-in "docker\.service\.d\/50-opts" is never read: systemd only loads drop-ins whose name ends in "\.conf"/],
    [13, 'error', /drop-in "10-eth1\.network\.d\/mtu\.conf" is written under \/etc\/systemd\/system, where systemd-networkd never reads it/],
    [17, 'warning', /"docker\.service\.d\/60-empty\.conf" has no "content" .*coreos-cloudinit writes nothing/],
    [18, 'error', /unit name "docker\.service\.d\/sub\/x\.conf" contains "\/"/],
  ]);
});

t.test('units that legacy CoreOS shipped and Flatcar does not', async (t) => {
  both(t, 'flatcar-units/good.yaml', []);
  check(t, 'flatcar-units/bad.yaml', 'flatcar', [
    [5, 'error', /etcd2\.service does not exist on Flatcar .*use etcd-member\.service/],
    [7, 'error', /fleet\.service does not exist on Flatcar/],
  ]);
  check(t, 'flatcar-units/bad.yaml', 'coreos', []);
});

t.test('duplicate keys: Flatcar rejects the file, legacy CoreOS keeps the last', async (t) => {
  both(t, 'duplicates/good.yaml', []);
  perOs(t, 'duplicates/bad.yaml', [
    [7, 'os', /duplicate key "command" \(first at line 6\)/],
    [8, 'os', /duplicate key "hostname" \(first at line 2\)/],
  ]);
  t.test('on legacy CoreOS a hyphenated key duplicates its snake_case twin', async (t) => {
    const text = '#cloud-config\ncoreos:\n  update:\n    reboot_strategy: reboot\n    reboot-strategy: "off"\n';
    expectExactly(t, validateCloudConfig(text, { os: 'coreos' }), [
      [5, 'warning', /duplicate key "reboot-strategy" \(first at line 4\): the last one wins/],
      [5, 'warning', /"reboot-strategy" works on legacy CoreOS/],
    ]);
  });
});

t.test('write_files content must decode with its encoding', async (t) => {
  both(t, 'encoding/good.yaml', []);
  both(t, 'encoding/bad.yaml', [
    [5, 'error', /content cannot be decoded as "b64" \(not valid base64\)/],
    [8, 'error', /content cannot be decoded as "gz\+b64" \(not gzip data\)/],
    [10, 'error', /content cannot be decoded as "gz" \(not gzip data\)/],
    [13, 'error', /content cannot be decoded as "gzip" \(not gzip data\)/],
    [15, 'error', /^!!binary value is not valid base64: coreos-cloudinit rejects the whole file$/],
    [18, 'error', /^!!binary value is not valid base64/],
  ]);
  t.test("a !!binary value is checked as the bytes it decodes to (coreos-cloudinit's documented gzip example)", async (t) => {
    const doc = (encoding: string, content: string): string =>
      `#cloud-config\nwrite_files:\n  - path: /tmp/x\n    encoding: ${encoding}\n    content: !!binary |\n      ${content}\n`;
    const gzipped = gzipSync('Pack my box with five dozen liquor jugs\n').toString('base64');
    for (const os of ['flatcar', 'coreos'] as const) {
      t.same(validateCloudConfig(doc('gzip', gzipped), { os }), [], `${os}: gzip`);
      t.same(validateCloudConfig(doc('gzip+base64', Buffer.from(gzipped).toString('base64')), { os }), [], `${os}: gzip+base64`);
      t.same(validateCloudConfig(doc('base64', Buffer.from('aGVsbG8=').toString('base64')), { os }), [], `${os}: base64`);
      expectExactly(t, validateCloudConfig(doc('gzip', Buffer.from('plain text').toString('base64')), { os }), [
        [5, 'error', /content cannot be decoded as "gzip" \(not gzip data\)/],
      ]);
    }
  });
});

t.test('a mapping or list as a key: both decoders fail with "invalid map key" (a template placeholder left in)', async (t) => {
  both(t, 'map-keys/good.yaml', []);
  both(t, 'map-keys/bad.yaml', [
    [2, 'error', /^\{\{NAME\}\} is read by YAML as a mapping whose key is the mapping \{NAME\}: coreos-cloudinit fails with "invalid map key" and rejects the whole file; a template placeholder left in\?/],
    [4, 'error', /^\{\{SSH_KEY\}\} is read by YAML as a mapping/],
    [11, 'error', /^a mapping \(\{a: 1\}\) used as a key: coreos-cloudinit fails with "invalid map key"/],
    [12, 'warning', /unrecognized key "x-custom"/],
    [13, 'error', /^a list \(\[1, 2\]\) used as a key: .*invalid map key/],
  ]);
  t.test('the key is reported once, where it is written, and not also as a value of the wrong type', async (t) => {
    const [d, ...rest] = validateCloudConfig('#cloud-config\ncoreos:\n  etcd2:\n    name: {{HOST}}\n', { os: 'coreos' }).filter(
      (x) => !/deprecated/.test(x.message),
    );
    t.match(d, { line: 4, column: 12, severity: 'error', message: /invalid map key/ });
    t.same(rest, []);
  });
});

t.test('an empty value where a value or a section belongs: coreos-cloudinit warns "incorrect type"', async (t) => {
  both(t, 'empty/bad.yaml', [
    [2, 'warning', /^"hostname" has no value: coreos-cloudinit warns "incorrect type" and leaves it unset; fill it in \(a comment is not a value\) or remove the key$/],
    [4, 'warning', ETCD2_DEPRECATED],
    [6, 'warning', /^"coreos\.etcd2\.discovery" has no value: .*"incorrect type"/],
    [7, 'warning', FLEET_DEPRECATED],
    [7, 'warning', /^the section "coreos\.fleet" is empty: coreos-cloudinit warns "incorrect type" and ignores it/],
    [11, 'warning', /^the section "coreos\.units\[0\]" is empty/],
    [13, 'warning', /^"coreos\.units\[1\]\.enable" has no value/],
    [14, 'warning', /^"ssh_authorized_keys" has no value/],
  ]);
  t.test('empty strings are values', async (t) => {
    t.same(validateCloudConfig('#cloud-config\nhostname: ""\ncoreos:\n  update:\n    group: \'\'\n', { os: 'flatcar' }), []);
  });
});

t.test('users without a name are skipped; etcd discovery URLs', async (t) => {
  expectExactly(t, validateCloudConfig('#cloud-config\nusers:\n  - groups: [docker]\n', { os: 'flatcar' }), [
    [3, 'warning', /users\[0\] has no "name": coreos-cloudinit skips it/],
  ]);
  expectExactly(t, validateCloudConfig('#cloud-config\ncoreos:\n  etcd2:\n    discovery: not a url\n', { os: 'coreos' }), [
    [3, 'warning', ETCD2_DEPRECATED],
    [4, 'warning', /discovery URL "not a url" is not a valid http\(s\) URL/],
  ]);
});

t.test('anchors, aliases and merge keys are followed', async (t) => {
  const text = [
    '#cloud-config',
    'coreos:',
    '  units:',
    '    - &base',
    '      name: a.service',
    '      command: start',
    '    - <<: *base',
    '      name: b.service',
    '    - <<: *base',
    '      command: Start',
    '    - *base',
    '',
  ].join('\n');
  expectExactly(t, validateCloudConfig(text, { os: 'flatcar' }), [[10, 'error', /invalid value "Start" for "command"/]]);
});

t.test('a correct modern Flatcar cloud-config yields nothing, on either target', async (t) => {
  both(t, 'modern-flatcar.yaml', []);
  t.test('nor does one serialised from data by the yaml library', async (t) => {
    const config = {
      hostname: 'core-01',
      ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU= core@example'],
      users: [{ name: 'ops', groups: ['docker'], passwd: '$6$rounds=4096$salt$hash' }],
      write_files: [
        { path: '/etc/motd', permissions: '0644', owner: 'root:root', content: 'yes\n' },
        { path: '/opt/bin/x', permissions: '0755', content: '#!/bin/sh\n' },
      ],
      coreos: {
        update: { reboot_strategy: 'off', group: 'stable' },
        locksmith: { endpoint: 'http://192.168.57.101:2379', window_start: '04:00', window_length: '1h' },
        units: [
          {
            name: 'etcd-member.service',
            enable: true,
            command: 'start',
            drop_ins: [{ name: '20-cluster.conf', content: '[Service]\nEnvironment="ETCD_NAME=core-01"\n' }],
          },
          { name: 'fleet.service', enable: true, command: 'start', content: '[Service]\nExecStart=/opt/bin/fleetd\n' },
          { name: '50-eth1.network', runtime: true, content: '[Match]\nName=eth1\n' },
        ],
      },
    };
    for (const os of ['flatcar', 'coreos'] as const) {
      t.same(validateCloudConfig(`#cloud-config\n${stringify(config)}`, { os }), [], os);
    }
  });
});

t.test('the cloud-configs of the seed guide', async (t) => {
  const names = ['laptop', 'dev-etcd', 'dev-worker', 'production-central', 'production-worker'];

  // The guide ships as a fixture, so the comparison runs from any clone; where the workspace has
  // the original beside the project (../shared, as in CI), the shipped copy must equal it.
  t.test('the fixtures are the YAML blocks of the guide, unchanged', async (t) => {
    const guide = fixture('seed/cluster-architectures.md');
    const blocks = [...guide.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    t.equal(blocks.length, names.length);
    names.forEach((name, i) => t.equal(fixture(`seed/${name}.yaml`), blocks[i], name));
  });
  t.test('the shipped guide is the original', { skip: !existsSync(SEED) && `no original beside the project at ${SEED}` }, async (t) => {
    t.equal(fixture('seed/cluster-architectures.md'), readFileSync(SEED, 'utf8'));
  });

  const hyphen = (key: string, os: TargetOs): RegExp =>
    os === 'flatcar' ? new RegExp(`^"${key}" is ignored by Flatcar`) : new RegExp(`^"${key}" works on legacy CoreOS`);
  const missingUnit = (unit: string): RegExp => new RegExp(`^${unit.replace('.', '\\.')} does not exist on Flatcar`);
  const DISCOVERY = /discovery\.etcd\.io is deprecated/;

  for (const os of ['flatcar', 'coreos'] as const) {
    const h: Diagnostic['severity'] = os === 'flatcar' ? 'error' : 'warning';
    /** Errors only Flatcar reports: etcd2.service and fleet.service started without being provided. */
    const onFlatcar = (...e: Expected[]): Expected[] => (os === 'flatcar' ? e : []);
    check(t, 'seed/laptop.yaml', os, []);
    check(t, 'seed/dev-etcd.yaml', os, [
      [4, 'warning', ETCD2_DEPRECATED],
      [6, h, hyphen('initial-cluster', os)],
      [7, h, hyphen('initial-advertise-peer-urls', os)],
      [8, h, hyphen('advertise-client-urls', os)],
      [11, h, hyphen('listen-client-urls', os)],
      [12, h, hyphen('listen-peer-urls', os)],
      ...onFlatcar([15, 'error', missingUnit('etcd2.service')]),
    ]);
    check(t, 'seed/dev-worker.yaml', os, [
      [4, 'warning', ETCD2_DEPRECATED],
      [6, h, hyphen('listen-client-urls', os)],
      [7, h, hyphen('initial-cluster', os)],
      [8, 'warning', FLEET_DEPRECATED],
      ...onFlatcar([12, 'error', missingUnit('etcd2.service')], [14, 'error', missingUnit('fleet.service')]),
    ]);
    check(t, 'seed/production-central.yaml', os, [
      [4, 'warning', ETCD2_DEPRECATED],
      [7, 'warning', DISCOVERY],
      [9, h, hyphen('advertise-client-urls', os)],
      [10, h, hyphen('initial-advertise-peer-urls', os)],
      [13, h, hyphen('listen-client-urls', os)],
      [14, h, hyphen('listen-peer-urls', os)],
      [15, 'warning', FLEET_DEPRECATED],
      ...onFlatcar([23, 'error', missingUnit('etcd2.service')], [25, 'error', missingUnit('fleet.service')]),
    ]);
    check(t, 'seed/production-worker.yaml', os, [
      [4, 'warning', ETCD2_DEPRECATED],
      [9, 'warning', DISCOVERY],
      [12, h, hyphen('listen-client-urls', os)],
      [13, 'warning', FLEET_DEPRECATED],
      ...onFlatcar([20, 'error', missingUnit('etcd2.service')], [22, 'error', missingUnit('fleet.service')]),
    ]);
  }

  t.test('with snake_case keys the guide’s configs are free of errors on legacy CoreOS', async (t) => {
    for (const name of names) {
      const text = fixture(`seed/${name}.yaml`).replace(/^(\s+)([a-z-]+):/gm, (_, indent: string, key: string) => `${indent}${key.replace(/-/g, '_')}:`);
      const diagnostics = validateCloudConfig(text, { os: 'coreos' });
      t.same(diagnostics.filter((d) => d.severity === 'error'), [], name);
      t.notOk(diagnostics.some((d) => /hyphenated/.test(d.message)), `${name}: no hyphen left`);
    }
  });
});

t.test('plain scalars resolve as go-yaml resolves them (YAML 1.1)', async (t) => {
  const cases: [string, string, unknown][] = [
    ['yes', 'bool', true],
    ['Off', 'bool', false],
    ['y', 'bool', true],
    ['TRUE', 'bool', true],
    ['0644', 'int', 420],
    ['644', 'int', 644],
    ['0x1F', 'int', 31],
    ['1_000', 'int', 1000],
    ['-12', 'int', -12],
    ['0b101', 'int', 5],
    ['1.5', 'float', 1.5],
    ['09', 'float', 9],
    ['', 'null', undefined],
    ['~', 'null', undefined],
    ['abc', 'string', undefined],
    ['10:00', 'string', undefined],
    ['0o', 'string', undefined],
  ];
  for (const [text, kind, value] of cases) {
    const r = resolvePlain(text);
    t.equal(r.kind, kind, `${JSON.stringify(text)} is ${kind}`);
    if (value !== undefined) t.equal(r.value, value, `${JSON.stringify(text)} = ${String(value)}`);
  }
});

t.test('diagnostics are sorted by line and each carries a 1-based line', async (t) => {
  for (const name of ['types/bad.yaml', 'units/bad.yaml', 'enums/bad.yaml', 'unknown-keys/bad.yaml']) {
    const lines = validateCloudConfig(fixture(name), { os: 'flatcar' }).map((d) => d.line);
    t.same(lines, [...lines].sort((a, b) => a - b), name);
    t.ok(lines.every((l) => l >= 1), `${name}: lines ≥ 1`);
  }
});
