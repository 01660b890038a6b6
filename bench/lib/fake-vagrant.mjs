/**
 * A bin directory for the boot benchmark: `vagrant` is a timing wrapper around the project's fake
 * Vagrant (test/helpers/fake-vagrant), recording each invocation's start and end (epoch ns, from
 * `date +%s%N`) and exit status as one JSON line; `VBoxManage` prints a VirtualBox version.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_VAGRANT = fileURLToPath(new URL('../../test/helpers/fake-vagrant', import.meta.url));

export function fakeVagrantBin(dir) {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const wrapper = [
    '#!/bin/sh',
    '# Times one run of the fake Vagrant: {"start":ns,"end":ns,"rc":N,"args":"…"} to $BENCH_VAGRANT_TIMES.',
    's=$(date +%s%N)',
    `${JSON.stringify(FAKE_VAGRANT)} "$@"`,
    'rc=$?',
    'e=$(date +%s%N)',
    'printf \'{"pid":%s,"start":%s,"end":%s,"rc":%s,"args":"%s"}\\n\' "$$" "$s" "$e" "$rc" "$*" >> "$BENCH_VAGRANT_TIMES"',
    'exit $rc',
    '',
  ].join('\n');
  writeFileSync(path.join(bin, 'vagrant'), wrapper);
  chmodSync(path.join(bin, 'vagrant'), 0o755);
  writeFileSync(path.join(bin, 'VBoxManage'), '#!/bin/sh\necho 7.0.14r161095\n');
  chmodSync(path.join(bin, 'VBoxManage'), 0o755);
  return bin;
}

/** The timing wrapper's records, times in ms since the epoch. */
export function readTimes(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const r = JSON.parse(l);
      return { ...r, start: r.start / 1e6, end: r.end / 1e6 };
    });
}

/** Machine states in the fake's state file: { name: state }. */
export function fakeMachineStates(stateFile) {
  if (!existsSync(stateFile)) return {};
  const s = JSON.parse(readFileSync(stateFile, 'utf8'));
  const out = {};
  for (const env of Object.values(s.envs ?? {})) for (const [name, m] of Object.entries(env.machines ?? {})) out[name] = m.state;
  return out;
}
