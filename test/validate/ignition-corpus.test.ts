/**
 * `cclab validate` and Ignition's own `ignition-validate` agree: on each config of this corpus (valid
 * and invalid, one test each) both give the same verdict, and where ignition-validate names the
 * place of an error (a JSON path), cclab names the same place.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseIgnitionValidateOutput } from '../../src/commands/validate.js';
import { validateIgnition } from '../../src/validate/ignition.js';
import { missingTool, run } from '../helpers/render.js';

const ivMissing = await missingTool('ignition-validate');

const V = '{"ignition":{"version":"3.3.0"}';
const cfg = (rest: string) => `${V},${rest}}`;
const file = (f: string) => cfg(`"storage":{"files":[${f}]}`);
const unit = (u: string) => cfg(`"systemd":{"units":[${u}]}`);

/** name → [config, valid?]. Paths of errors are compared unless `samePlace` is false. */
const CORPUS: { name: string; config: string; valid: boolean; samePlace?: boolean }[] = [
  { name: 'minimal 3.3.0', config: `${V}}`, valid: true },
  { name: 'spec 3.0.0', config: '{"ignition":{"version":"3.0.0"}}', valid: true },
  { name: 'spec 3.2.0', config: '{"ignition":{"version":"3.2.0"}}', valid: true },
  { name: 'spec 3.4.0 (too new for Flatcar stable)', config: '{"ignition":{"version":"3.4.0"}}', valid: false, samePlace: false },
  { name: 'spec 2.2.0 (legacy)', config: '{"ignition":{"version":"2.2.0"}}', valid: false, samePlace: false },
  { name: 'no version', config: '{"ignition":{}}', valid: false, samePlace: false },
  { name: 'empty object', config: '{}', valid: false, samePlace: false },
  { name: 'version not a version', config: '{"ignition":{"version":"three"}}', valid: false, samePlace: false },
  { name: 'a list, not an object', config: '[]', valid: false, samePlace: false },
  { name: 'not JSON (trailing comma)', config: `${V},}`, valid: false, samePlace: false },
  { name: 'unknown top-level key (a warning)', config: cfg('"foo":1'), valid: true },
  { name: 'unknown nested key (a warning)', config: file('{"path":"/a","bogus":1}'), valid: true },
  { name: 'user core with keys', config: cfg('"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAA x"]}]}'), valid: true },
  { name: 'duplicate users', config: cfg('"passwd":{"users":[{"name":"core"},{"name":"core"}]}'), valid: false },
  { name: 'users not a list', config: cfg('"passwd":{"users":"core"}'), valid: false, samePlace: false },
  { name: 'file with a data URL', config: file('{"path":"/etc/hostname","mode":420,"contents":{"source":"data:,core-01%0A"}}'), valid: true },
  { name: 'file with base64 data', config: file('{"path":"/a","contents":{"source":"data:;base64,aGVsbG8K"}}'), valid: true },
  { name: 'file with an http URL', config: file('{"path":"/a","contents":{"source":"https://example.com/a"}}'), valid: true },
  { name: 'relative path', config: file('{"path":"etc/hostname"}'), valid: false },
  { name: 'path with ..', config: file('{"path":"/etc/../shadow"}'), valid: false },
  { name: 'path with a trailing slash', config: file('{"path":"/etc/x/"}'), valid: false },
  { name: 'empty path', config: file('{"path":""}'), valid: false },
  { name: 'no path', config: file('{"mode":420}'), valid: false },
  { name: 'mode too large', config: file('{"path":"/a","mode":99999}'), valid: false },
  { name: 'negative mode', config: file('{"path":"/a","mode":-1}'), valid: false },
  { name: 'mode as a string', config: file('{"path":"/a","mode":"0644"}'), valid: false, samePlace: false },
  { name: 'mode 644 written as decimal (sticky bit: a warning)', config: file('{"path":"/a","mode":644}'), valid: true },
  { name: 'duplicate files', config: file('{"path":"/a"},{"path":"/a"}'), valid: false },
  { name: 'a file and a directory at one path', config: cfg('"storage":{"files":[{"path":"/a"}],"directories":[{"path":"/a"}]}'), valid: false, samePlace: false },
  { name: 'broken base64', config: file('{"path":"/a","contents":{"source":"data:;base64,@@@"}}'), valid: false },
  { name: 'broken percent escape', config: file('{"path":"/a","contents":{"source":"data:,%zz"}}'), valid: false },
  { name: 'unsupported URL scheme', config: file('{"path":"/a","contents":{"source":"ftp://example.com/a"}}'), valid: false },
  { name: 'unknown compression', config: file('{"path":"/a","contents":{"source":"data:,x","compression":"zip"}}'), valid: false },
  { name: 'gzip compression', config: file('{"path":"/a","contents":{"source":"data:;base64,H4sIAAAAAAAAA0tMAgAdnqlBAgAAAA==","compression":"gzip"}}'), valid: true },
  { name: 'unknown hash function', config: file('{"path":"/a","contents":{"source":"data:,x","verification":{"hash":"md5-abc"}}}'), valid: false },
  { name: 'unit with contents', config: unit('{"name":"a.service","enabled":true,"contents":"[Service]\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n"}'), valid: true },
  { name: 'enabled unit without [Install] (a warning)', config: unit('{"name":"a.service","enabled":true,"contents":"[Service]\\nExecStart=/bin/true\\n"}'), valid: true },
  { name: 'unit without an extension', config: unit('{"name":"a"}'), valid: false },
  { name: 'unit with an unknown extension', config: unit('{"name":"a.foo"}'), valid: false },
  { name: 'unit without a name', config: unit('{"enabled":true}'), valid: false },
  { name: 'duplicate units', config: unit('{"name":"a.service"},{"name":"a.service"}'), valid: false },
  { name: 'drop-in not .conf', config: unit('{"name":"a.service","dropins":[{"name":"x"}]}'), valid: false },
  { name: 'duplicate drop-ins', config: unit('{"name":"a.service","dropins":[{"name":"x.conf"},{"name":"x.conf"}]}'), valid: false },
  { name: 'enabled as a string', config: unit('{"name":"a.service","enabled":"yes"}'), valid: false, samePlace: false },
  { name: 'masked unit', config: unit('{"name":"a.service","mask":true}'), valid: true },
  { name: 'network file and socket unit', config: cfg('"storage":{"files":[{"path":"/etc/systemd/network/00-x.network","mode":420,"contents":{"source":"data:,%5BMatch%5D%0AMACAddress%3D52%3A54%3A00%3A00%3A00%3A01%0A"}}]},"systemd":{"units":[{"name":"docker-tcp.socket","enabled":true,"contents":"[Socket]\\nListenStream=2375\\n[Install]\\nWantedBy=sockets.target\\n"}]}'), valid: true },
  { name: 'a null file entry', config: file('null'), valid: false, samePlace: false },
  { name: 'link without a target', config: cfg('"storage":{"links":[{"path":"/a"}]}'), valid: false, samePlace: false },
];

const PATH_OF = /^(\$[^:]*): /;

t.test(`the corpus has at least 30 configs, valid and invalid`, async (t) => {
  t.ok(CORPUS.length >= 30, `${CORPUS.length} configs`);
  t.ok(CORPUS.filter((c) => c.valid).length >= 10 && CORPUS.filter((c) => !c.valid).length >= 10, 'both kinds');
  t.equal(new Set(CORPUS.map((c) => c.name)).size, CORPUS.length, 'names are unique');
});

for (const c of CORPUS) {
  t.test(c.name, { skip: ivMissing }, async (t) => {
    const dir = t.testdir({});
    const path = join(dir, 'config.ign');
    writeFileSync(path, c.config);
    const r = await run('ignition-validate', [path]);
    const theirs = parseIgnitionValidateOutput(r.stdout + r.stderr, r.code);
    const ours = validateIgnition(c.config);
    const ourErrors = ours.filter((d) => d.severity === 'error');
    const theirErrors = theirs.filter((d) => d.severity === 'error');
    t.equal(r.code === 0, c.valid, `ignition-validate says ${c.valid ? 'valid' : 'invalid'}`, { output: r.stdout + r.stderr });
    t.equal(ourErrors.length === 0, c.valid, `cclab validate says ${c.valid ? 'valid' : 'invalid'}`, { ours });
    if (c.samePlace !== false) {
      const places = (ds: typeof ours) => [...new Set(ds.map((d) => PATH_OF.exec(d.message)?.[1]).filter((p) => p !== undefined))].sort();
      t.same(places(ourErrors), places(theirErrors), 'errors at the same JSON paths', { ours, theirs });
    }
    // Every diagnostic has a place in the file.
    for (const d of ours) t.ok(d.line >= 1, `line ${d.line}: ${d.message}`);
  });
}
