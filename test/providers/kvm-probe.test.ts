/**
 * The KVM probe: its embedded guest is kvm-probe.S as the assembler makes it, QEMU really runs it to
 * 64-bit mode (under emulation, which every host here has), and each way a probe can end gives the
 * driver choice it should.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { kvmProbeIdentity, kvmVerdictFile, rememberedKvmProbe, runKvmProbe } from '../../src/pipeline/probes.js';
import { chooseLibvirtDriver } from '../../src/providers/choose.js';
import { KVM_PROBE_EXIT, KVM_PROBE_SIZE, kvmProbeCommand, kvmProbeImage, kvmProbeVerdict, kvmVerdictRecord, rememberedKvmVerdict, type KvmGuestRuns } from '../../src/providers/kvm-probe.js';
import { missingTools, tempDir } from '../helpers/box.js';
import { REPO } from '../helpers/cli.js';

t.test('the embedded guest is kvm-probe.S, assembled', { skip: missingTools(['as', ['--version']], ['ld', ['--version']]) }, async (t) => {
  const dir = tempDir(t, 'kvm-probe-');
  const obj = path.join(dir, 'probe.o');
  const bin = path.join(dir, 'probe.bin');
  execFileSync('as', ['--32', '-o', obj, path.join(REPO, 'src/providers/kvm-probe.S')]);
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext', '0', '--oformat', 'binary', '-e', '0', '-o', bin, obj]);
  const image = kvmProbeImage();
  t.equal(image.length, KVM_PROBE_SIZE, 'one 64 KiB firmware image');
  t.ok(image.equals(readFileSync(bin)), 'byte for byte what the assembler makes of kvm-probe.S');
});

t.test('QEMU runs the guest to 64-bit mode and exits with its status', { skip: missingTools(['qemu-system-x86_64', ['--version']]) }, async (t) => {
  t.equal(await runKvmProbe(process.env, 'tcg'), 'yes', 'under emulation the guest reaches 64-bit mode');
  // The same guest on this host's KVM, when it has one: said, not judged (hosts differ).
  if (existsSync('/dev/kvm')) t.comment(`under KVM here: ${JSON.stringify(await runKvmProbe(process.env, 'kvm'))}`);
  t.same(await runKvmProbe({ PATH: '/nonexistent' }, 'tcg'), { unknown: 'qemu-system-x86_64 is not installed' }, 'without QEMU it cannot tell');
});

t.test('the command: the image as firmware, the exit device and the debug console', async (t) => {
  const argv = kvmProbeCommand('/tmp/p.bin', '/tmp/progress');
  t.same(argv.slice(0, 3), ['qemu-system-x86_64', '-accel', 'kvm']);
  t.match(argv.join(' '), '-bios /tmp/p.bin -device isa-debug-exit,iobase=0xf4,iosize=0x04 -debugcon file:/tmp/progress');
});

t.test('each way a probe ends, and the driver it leads to', async (t) => {
  const base = { exitCode: undefined, timedOut: false, notFound: false, progress: '', output: '' };
  t.equal(kvmProbeVerdict({ ...base, exitCode: KVM_PROBE_EXIT, progress: 'RPL' }), 'yes');
  const hung = kvmProbeVerdict({ ...base, timedOut: true, progress: 'R' }, 3_000);
  t.same(hung, { no: 'a test guest under KVM stopped in real mode and hung for 3 s, where it needs milliseconds' }, 'the hang this machine shows');
  t.match(kvmProbeVerdict({ ...base, exitCode: 1, progress: 'RP', output: 'KVM: entry failed, hardware error 0x80000021\n' }), { no: /stopped in 32-bit protected mode: KVM: entry failed/ });
  t.match(kvmProbeVerdict({ ...base, exitCode: 1, output: 'Could not access KVM kernel module: Permission denied\nqemu-system-x86_64: failed to initialize kvm: Permission denied\n' }), {
    unknown: /could not start a KVM guest as this user: qemu-system-x86_64: failed to initialize kvm: Permission denied/,
  }, 'no access to /dev/kvm for this user says nothing about libvirt’s QEMU user');
  t.same(kvmProbeVerdict({ ...base, notFound: true }), { unknown: 'qemu-system-x86_64 is not installed' });

  t.same(chooseLibvirtDriver({ devKvm: true, kvmCapabilities: 'yes', guest: hung }), {
    driver: 'qemu',
    why: 'KVM cannot run a guest here (a test guest under KVM stopped in real mode and hung for 3 s, where it needs milliseconds)',
  }, 'libvirt says KVM, the guest says no: emulation');
  t.same(chooseLibvirtDriver({ devKvm: true, kvmCapabilities: 'yes', guest: 'yes' }), { driver: 'kvm', why: 'libvirt can run KVM guests; a test guest ran under KVM' });
  t.same(chooseLibvirtDriver({ devKvm: true, kvmCapabilities: 'yes', guest: { unknown: 'qemu-system-x86_64 is not installed' } }), { driver: 'kvm', why: 'libvirt can run KVM guests' }, 'a probe that cannot tell leaves libvirt’s answer');
  t.match(chooseLibvirtDriver({ devKvm: true, kvmCapabilities: { refused: 'Emulator does not support virt type kvm' }, guest: 'yes' }), { driver: 'qemu' }, 'libvirt’s no stands');
});

t.test('a "no" is remembered for this identity only; "yes" and "unknown" are not', async (t) => {
  const id = { bootId: 'b1', devKvm: '2600 5 1', qemu: '/usr/bin/qemu-system-x86_64 100 1', image: 'i' };
  const at = new Date('2026-12-03T16:00:00Z');
  const no = { no: 'a test guest under KVM stopped in real mode and hung for 3 s, where it needs milliseconds' };
  const text = kvmVerdictRecord(id, no, at)!;
  t.same(rememberedKvmVerdict(text, id), {
    no: 'a test guest under KVM stopped in real mode and hung for 3 s, where it needs milliseconds; found so at 2026-12-03T16:00:00Z, asked again after a reboot or when /dev/kvm or QEMU change',
  });
  for (const k of Object.keys(id) as (keyof typeof id)[]) t.equal(rememberedKvmVerdict(text, { ...id, [k]: 'other' }), undefined, `another ${k}: asked again`);
  t.equal(kvmVerdictRecord(id, 'yes', at), undefined);
  t.equal(kvmVerdictRecord(id, { unknown: 'qemu-system-x86_64 is not installed' }, at), undefined);
  for (const bad of [undefined, '', 'not json', 'null', '{}', JSON.stringify({ identity: id, no: 1, at: 'x' }), JSON.stringify({ identity: null, no: 'x', at: 'x' })]) {
    t.equal(rememberedKvmVerdict(bad, id), undefined, `unreadable record ${JSON.stringify(bad)}`);
  }
});

t.test('the probe is not run again on this boot after a "no": until QEMU changes', { skip: !existsSync('/dev/kvm') || !existsSync('/proc/sys/kernel/random/boot_id') ? 'needs /dev/kvm and a boot id' : false }, async (t) => {
  const dir = tempDir(t, 'kvm-remember-');
  const qemu = path.join(dir, 'qemu-system-x86_64');
  writeFileSync(qemu, '#!/bin/sh\nexit 1\n');
  chmodSync(qemu, 0o755);
  const env = { PATH: dir, XDG_CACHE_HOME: path.join(dir, 'cache'), HOME: dir };
  t.ok(await kvmProbeIdentity(env), 'this host has everything the identity needs');
  let runs = 0;
  let answer: KvmGuestRuns = { no: 'hung' };
  const probe = async () => {
    runs += 1;
    return answer;
  };
  t.same(await rememberedKvmProbe(env, probe), { no: 'hung' });
  t.equal(runs, 1);
  t.match(readFileSync(kvmVerdictFile(env), 'utf8'), /"no": "hung"/, 'kept in cclab\'s cache directory');
  t.match(await rememberedKvmProbe(env, probe), { no: /^hung; found so at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, asked again after a reboot or when \/dev\/kvm or QEMU change$/ });
  t.equal(runs, 1, 'the second up does not wait for the probe');

  writeFileSync(qemu, '#!/bin/sh\n# upgraded\nexit 1\n');
  answer = 'yes';
  t.equal(await rememberedKvmProbe(env, probe), 'yes', 'another QEMU: asked again');
  t.equal(runs, 2);
  t.equal(await rememberedKvmProbe(env, probe), 'yes');
  t.equal(runs, 3, 'a "yes" is asked every time (it takes milliseconds)');

  // A cache that cannot be written: the verdict still comes back; nothing is remembered.
  const blocked = { ...env, XDG_CACHE_HOME: path.join(dir, 'not-a-dir') };
  writeFileSync(blocked.XDG_CACHE_HOME, '');
  answer = { no: 'hung' };
  t.same(await rememberedKvmProbe(blocked, probe), { no: 'hung' });
  t.same(await rememberedKvmProbe(blocked, probe), { no: 'hung' });
  t.equal(runs, 5);
  // Without QEMU on PATH there is no identity: the probe runs (and says so itself).
  t.equal(await kvmProbeIdentity({ ...env, PATH: path.join(dir, 'none') }), undefined);
});
