/**
 * fleet registry checks against a real etcd holding registrations written exactly as fleetd writes
 * them (v2 key `/_coreos.com/fleet/machines/<id>/object`, MachineState JSON, TTL).
 */

import t from 'tap';
import { fetchHttpGet } from '../../src/health/http.js';
import { formatHuman } from '../../src/health/report.js';
import { runHealthChecks, type HealthRunOptions } from '../../src/health/run.js';
import type { FleetMachineTarget, HealthTargets } from '../../src/health/targets.js';
import type { HealthReport } from '../../src/health/types.js';
import { startEtcdCluster } from '../helpers/etcd.js';
import { clearFleetRegistry, machineState, registerFleetMachine } from '../helpers/fleet.js';
import { freePort, requireBinaries } from '../helpers/ports.js';

// Addresses below are data written into etcd and compared; nothing connects to them.
const lab: FleetMachineTarget[] = [
  { machine: 'worker-01', ip: '192.168.57.111', metadata: { role: 'worker', zone: 'a' } },
  { machine: 'worker-02', ip: '192.168.57.112', metadata: { role: 'worker', zone: 'a' } },
  { machine: 'services-01', ip: '192.168.57.121', metadata: { role: 'services', zone: 'a' } },
];

const untilHealthy: HealthRunOptions = { timeoutMs: 10_000, pollIntervalMs: 100 };
const briefly: HealthRunOptions = { timeoutMs: 800, pollIntervalMs: 100 };

if (requireBinaries(t, ['etcd'])) {
  const etcd = await startEtcdCluster(t, ['etcd-01']);
  const url = etcd.clientUrls[0]!;
  const targets = (registryUrls = [url]): HealthTargets => ({
    etcd: undefined,
    proxies: [],
    fleet: { mode: 'machines', machines: lab, registryUrls },
    docker: undefined,
  });
  const check = (tg: HealthTargets, opts: HealthRunOptions, onProgress?: (r: HealthReport) => void) =>
    runHealthChecks(tg, { ...opts, ...(onProgress ? { onProgress } : {}) }, { http: fetchHttpGet });
  const register = (m: FleetMachineTarget, overrides: { ip?: string; metadata?: Record<string, string>; ttl?: number } = {}) =>
    registerFleetMachine(url, machineState(overrides.ip ?? m.ip, overrides.metadata ?? m.metadata), overrides.ttl ?? 30);
  const line = (report: HealthReport, id: string) => report.checks.find((c) => c.id === id)!;

  t.beforeEach(() => clearFleetRegistry(url));

  t.test('every lab machine registered with its address and metadata: healthy', async (t) => {
    await Promise.all(lab.map((m) => register(m)));
    // The first registry URL is dead: the registry is read from the one that answers.
    const dead = `http://127.0.0.1:${await freePort()}`;
    const report = await check(targets([dead, url]), untilHealthy);
    const text = formatHuman(report);
    t.equal(report.healthy, true, text);
    t.match(text, new RegExp(`^✓ fleet registry \\(${url}\\): 3 machines registered, expected 3$`, 'm'));
    t.match(text, /^✓ fleet machine worker-01 \(192\.168\.57\.111\): registered as [0-9a-f]{8}…, role=worker,zone=a$/m);
    t.match(text, /^✓ fleet machine services-01 \(192\.168\.57\.121\): registered as [0-9a-f]{8}…, role=services,zone=a$/m);
    t.match(text, /^fleet: healthy \(3 machines\)$/m);
    t.same(report.fleet, { verdict: 'healthy', registered: 3, expected: 3 });
  });

  t.test('a machine that has not registered is named', async (t) => {
    await Promise.all([register(lab[0]!), register(lab[2]!)]);
    const report = await check(targets(), briefly);
    const missing = line(report, 'fleet-machine:worker-02');
    t.equal(report.healthy, false);
    t.equal(missing.ok, false);
    t.equal(missing.observed, 'not registered');
    t.match(missing.hint, /fleet on worker-02 has not registered, or its registration expired/);
    t.match(formatHuman(report), /^fleet: unhealthy — worker-02 is not registered$/m);
    t.match(line(report, 'fleet-registry').observed, '2 machines registered, expected 3');
  });

  t.test("the NAT address: fleet public_ip is not set", async (t) => {
    await Promise.all([register(lab[0]!), register(lab[1]!, { ip: '10.0.2.15' }), register(lab[2]!)]);
    const report = await check(targets(), briefly);
    const nat = line(report, 'fleet-machine:worker-02');
    t.equal(nat.ok, false);
    t.equal(nat.observed, 'fleet sees 10.0.2.15 for worker-02');
    t.match(nat.hint, /^fleet public_ip is not set: .*10\.0\.2\.15 is VirtualBox's NAT address.*set coreos\.fleet\.public_ip \(FLEET_PUBLIC_IP\) to 192\.168\.57\.112$/);
    t.match(formatHuman(report), /^✗ fleet machine worker-02 \(192\.168\.57\.112\): fleet sees 10\.0\.2\.15 for worker-02\n    hint: fleet public_ip is not set/m);
    t.equal(line(report, 'fleet-machine:worker-01').ok, true);
    t.equal(report.fleet?.reason, 'fleet sees 10.0.2.15 for worker-02');
  });

  t.test('wrong metadata: expected and actual are shown', async (t) => {
    await Promise.all([register(lab[0]!, { metadata: { role: 'services' } }), register(lab[1]!), register(lab[2]!)]);
    const report = await check(targets(), briefly);
    const wrong = line(report, 'fleet-machine:worker-01');
    t.equal(wrong.ok, false);
    t.equal(wrong.observed, 'metadata role=services, expected role=worker,zone=a');
    t.match(wrong.hint, /coreos\.fleet\.metadata \(FLEET_METADATA\)/);
    t.equal(report.fleet?.reason, 'worker-01 has metadata role=services, expected role=worker,zone=a');
  });

  t.test('a registration outside the lab is reported as unexpected', async (t) => {
    await Promise.all([...lab.map((m) => register(m)), registerFleetMachine(url, machineState('192.168.57.199', { role: 'worker' }))]);
    const report = await check(targets(), briefly);
    const registry = line(report, 'fleet-registry');
    t.equal(registry.ok, false);
    t.match(registry.observed, /^4 machines registered, expected 3; unexpected: [0-9a-f]{8}… at 192\.168\.57\.199 \(role=worker\)$/);
    t.equal(report.fleet?.reason, '1 unexpected machine');
    t.ok(lab.every((m) => line(report, `fleet-machine:${m.machine}`).ok));
  });

  t.test('an empty registry (the key does not exist yet)', async (t) => {
    const report = await check(targets(), briefly);
    t.match(line(report, 'fleet-registry').observed, '0 machines registered, expected 3');
    t.ok(lab.every((m) => line(report, `fleet-machine:${m.machine}`).observed === 'not registered'));
    t.same(report.fleet?.registered, 0);
  });

  t.test('a registration that expires is noticed while polling', async (t) => {
    // worker-01 expires after 2 s; services-01 never registers, so the run keeps polling until its deadline.
    await Promise.all([register(lab[0]!, { ttl: 2 }), register(lab[1]!)]);
    const seen: boolean[] = [];
    const report = await check(targets(), { timeoutMs: 5000, pollIntervalMs: 250 }, (r) =>
      seen.push(line(r, 'fleet-machine:worker-01').ok),
    );
    t.equal(seen[0], true, 'worker-01 was registered at first');
    t.equal(line(report, 'fleet-machine:worker-01').observed, 'not registered', formatHuman(report));
    t.equal(line(report, 'fleet-machine:services-01').observed, 'not registered');
    t.equal(line(report, 'fleet-machine:worker-02').ok, true);
  });

  t.test('count mode (--expect-fleet with --fleet-metadata)', async (t) => {
    await Promise.all([register(lab[0]!), register(lab[1]!), register(lab[2]!)]);
    const countTargets = (expectCount: number, metadata: Record<string, string>): HealthTargets => ({
      etcd: undefined,
      proxies: [],
      fleet: { mode: 'count', expectCount, metadata, registryUrls: [url] },
      docker: undefined,
    });
    const good = await check(countTargets(3, { zone: 'a' }), untilHealthy);
    t.equal(good.healthy, true, formatHuman(good));
    t.match(line(good, 'fleet-registry').observed, /^3 machines: /);

    const bad = await check(countTargets(3, { role: 'worker' }), briefly);
    const registry = line(bad, 'fleet-registry');
    t.equal(registry.ok, false);
    t.match(registry.observed, /^without role=worker: [0-9a-f]{8}… at 192\.168\.57\.121 \(role=services,zone=a\)$/);

    const fewer = await check(countTargets(4, {}), briefly);
    t.match(line(fewer, 'fleet-registry').observed, '3 machines registered, expected 4');
  });
}
