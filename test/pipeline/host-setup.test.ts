/**
 * The facts `doctor --fix` plans from: os-release parsing, what virsh's failure means, and the real
 * gathering on this host (its os-release, its package database, its libvirt).
 */
import fs from 'node:fs';
import t from 'tap';
import { familyOf } from '../../src/pipeline/host-fix.js';
import { libvirtStateOf, parseOsRelease, realHostFacts } from '../../src/pipeline/host-setup.js';

t.test('os-release: quoted and bare values, ID_LIKE as a list, the pretty name', async (t) => {
  t.same(parseOsRelease('NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n'), { id: 'ubuntu', idLike: ['debian'], name: 'Ubuntu 24.04.1 LTS' });
  t.same(parseOsRelease("ID='opensuse-tumbleweed'\nID_LIKE=\"opensuse suse\"\nNAME=openSUSE\n"), { id: 'opensuse-tumbleweed', idLike: ['opensuse', 'suse'], name: 'openSUSE' });
  t.equal(parseOsRelease('# nothing here\n'), undefined);
  t.equal(parseOsRelease(''), undefined);
});

t.test('what virsh’s failure says about libvirt', async (t) => {
  t.equal(libvirtStateOf({ ok: true }), 'answers');
  t.equal(libvirtStateOf({ ok: false, notFound: true, output: '' }), 'absent');
  t.equal(libvirtStateOf({ ok: false, notFound: false, output: "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory" }), 'not-running');
  t.equal(libvirtStateOf({ ok: false, notFound: false, output: "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Permission denied" }), 'denied');
});

t.test('the facts of this host, gathered for real', async (t) => {
  const facts = await realHostFacts({ env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LIBVIRT_DEFAULT_URI: 'test:///nonexistent-cclab' } });
  t.equal(facts.platform, process.platform);
  t.equal(facts.root, process.getuid?.() === 0);
  t.equal(facts.systemd, fs.existsSync('/run/systemd/system'));
  const family = familyOf(facts.os);
  if (family === undefined) return t.same(facts.packages, {}, 'a host --fix does not know: no package questions');
  t.same(Object.keys(facts.packages), family.libvirtPackages(process.arch), 'each of the family’s packages asked about');
  // Whatever this host has, the package database agrees (vagrant is installed by the test command).
  if (family.label === 'Debian/Ubuntu' && process.env.CI === 'true') t.equal(facts.packages.vagrant, true, 'vagrant is installed');
  t.not(facts.libvirt, 'answers', 'a URI nothing answers at');
});
