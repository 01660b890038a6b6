/**
 * The guide's example units (labs/units): systemd-analyze verify accepts them, and fleet's own
 * unit-option rules (src/lab/fleet-unit.ts, after fleet 1.0's job and API checks) do too; the
 * rules themselves refuse what fleet refuses.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { checkFleetUnit, fleetOptions } from '../../src/lab/fleet-unit.js';
import { missingTool, prepareVerifyRoot, systemdVerify, REPO } from '../helpers/render.js';

const UNITS = join(REPO, 'labs/units');
const files = readdirSync(UNITS).filter((f) => f.endsWith('.service'));

t.test('the example units: a global unit for the services machines and a worker job', async (t) => {
  t.same(files.sort(), ['services-heartbeat.service', 'web@.service']);
  const heartbeat = fleetOptions(readFileSync(join(UNITS, 'services-heartbeat.service'), 'utf8'));
  t.same(Object.fromEntries(heartbeat), { Global: ['true'], MachineMetadata: ['role=services'] }, 'Global=true, MachineMetadata=role=services');
  const web = fleetOptions(readFileSync(join(UNITS, 'web@.service'), 'utf8'));
  t.same(Object.fromEntries(web), { Conflicts: ['web@*.service'], MachineMetadata: ['role=worker'] });
  for (const f of files) t.same(checkFleetUnit(readFileSync(join(UNITS, f), 'utf8')), [], `${f}: fleet accepts it`);
});

const systemdMissing = await missingTool('systemd-analyze');
t.test('systemd-analyze verify accepts the example units', { skip: process.env.CI === 'true' ? false : systemdMissing }, async (t) => {
  const root = prepareVerifyRoot(t.testdir({}));
  // The binaries they run exist in the guest; stand-ins here.
  for (const bin of ['/usr/bin/docker', '/bin/sh']) {
    mkdirSync(dirname(join(root, bin)), { recursive: true });
    writeFileSync(join(root, bin), '#!/bin/sh\nexit 0\n');
    chmodSync(join(root, bin), 0o755);
  }
  const units = files.map((name) => ({ name, content: readFileSync(join(UNITS, name), 'utf8'), dropIns: [] }));
  const r = await systemdVerify(root, units);
  t.equal(r.code, 0, 'exit 0', { output: r.stdout + r.stderr });
  t.equal((r.stdout + r.stderr).trim(), '', 'nothing said');
  t.same(r.verified, files);
  // A real check: a misspelt directive is reported.
  const broken = await systemdVerify(root, [{ name: 'web@.service', content: units[1]!.content.replace('ExecStart=', 'ExecStrat='), dropIns: [] }]);
  t.match(broken.stdout + broken.stderr, /Unknown key name 'ExecStrat'|ExecStrat/);
});

t.test('fleet’s rules', async (t) => {
  const unit = (xfleet: string) => `[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/true\n\n[X-Fleet]\n${xfleet}\n`;
  t.same(checkFleetUnit(unit('MachineOf=a.service\nConflicts=b*.service\nMachineMetadata=role=worker disk=ssd')), []);
  t.same(checkFleetUnit(unit('X-ConditionMachineOf=a.service\nX-Conflicts=b.service')), [], 'the deprecated spellings');
  t.same(checkFleetUnit(unit('Machine=web')), ['unrecognized requirement in [X-Fleet] section: "Machine"']);
  t.same(checkFleetUnit(unit('Global=true\nConflicts=web@*.service')), ['Global cannot be used with Conflicts']);
  t.same(checkFleetUnit(unit('Global=true\nMachineOf=db.service')), ['Global cannot be used with MachineOf']);
  t.same(checkFleetUnit(unit('Global=true\nMachineID=abc')), ['Global cannot be used with MachineID']);
  t.same(checkFleetUnit(unit('Global=false\nMachineID=abc')), [], 'Global=false is no global unit');
  t.same(checkFleetUnit(unit('MachineID=abc\nMachineOf=db.service')), ['MachineID cannot be used with MachineOf']);
  t.same(checkFleetUnit(unit('MachineID=abc\nConflicts=db.service')), ['MachineID cannot be used with Conflicts']);
  t.same(checkFleetUnit(unit('MachineOf=db@1.service\nConflicts=db@*.service')), ['unresolvable requirements: peer "db@1.service" matches conflict "db@*.service"']);
  t.same(checkFleetUnit(unit('MachineMetadata=role')), ['MachineMetadata=role is not key=value: fleet ignores it']);
  t.same(checkFleetUnit(unit('Global=yes')), ['Global=yes: fleet reads only true (anything else is false)']);
  t.same(checkFleetUnit('[Service]\nExecStart=/bin/true\n'), [], 'no [X-Fleet] section: nothing to check');
  t.same(Object.fromEntries(fleetOptions('[X-Fleet]\n# MachineID=commented\nGlobal = true\n[Service]\nGlobal=ignored\n')), { Global: ['true'] }, 'comments and other sections are not read');
});
