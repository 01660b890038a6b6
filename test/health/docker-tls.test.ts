/**
 * The Docker API check of a lab with TLS: over HTTPS with the lab's client certificate, against a
 * real dockerd run as a lab machine runs it (socket-activated `-H fd://`, cclab's daemon.json).
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDockerCerts } from '../../src/home/docker-certs.js';
import { dockerCertPath } from '../../src/home/paths.js';
import { fetchHttpGet } from '../../src/health/http.js';
import { formatHuman } from '../../src/health/report.js';
import { runHealthChecks } from '../../src/health/run.js';
import { labTargets, type HealthTargets } from '../../src/health/targets.js';
import { startLabTlsDockerd } from '../helpers/dockerd.js';
import { builtinLab } from '../helpers/render.js';
import { requireBinaries } from '../helpers/ports.js';

if (requireBinaries(t, ['dockerd', 'containerd', 'systemd-socket-activate'])) {
  const root = await mkdtemp(join(tmpdir(), 'cclab-health-tls-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const labDir = join(root, 'laptop');
  const { dockerd, certs } = await startLabTlsDockerd(t, labDir);
  const target = (certDir: string | undefined): HealthTargets => ({
    etcd: undefined,
    proxies: [],
    fleet: undefined,
    docker: { endpoint: dockerd.endpoint, machine: 'core-01', certDir },
  });

  t.test('labTargets: a TLS lab’s Docker target carries its certificate directory', async (t) => {
    const lab = await builtinLab('laptop');
    t.same(labTargets(lab, dockerd.endpoint, certs).docker, { endpoint: dockerd.endpoint, machine: 'core-01', certDir: certs });
    t.same(labTargets(lab, dockerd.endpoint).docker, { endpoint: dockerd.endpoint, machine: 'core-01' });
  });

  t.test('with the lab’s client certificate: ping OK over TLS, engine and API versions', async (t) => {
    const report = await runHealthChecks(target(certs), { timeoutMs: 10_000, pollIntervalMs: 100 }, { http: fetchHttpGet });
    const text = formatHuman(report);
    t.equal(report.healthy, true, text);
    t.match(text, /^✓ docker on core-01 \(tcp:\/\/127\.0\.0\.1:\d+\): ping OK, Docker \S+ \(API 1\.\d+\)$/m);
  });

  t.test('another lab’s certificates: refused, with a hint about the certificates', async (t) => {
    const otherDir = join(root, 'other');
    await ensureDockerCerts(otherDir, 'other', [{ machine: 'core-01', ip: '192.168.58.101' }]);
    const report = await runHealthChecks(target(dockerCertPath(otherDir)), { timeoutMs: 600, pollIntervalMs: 100 }, { http: fetchHttpGet });
    const text = formatHuman(report);
    t.equal(report.healthy, false);
    t.match(text, /^✗ docker on core-01 \(tcp:\/\/127\.0\.0\.1:\d+\): TLS failed: /m);
    t.match(text, /hint: the Docker API on core-01 did not accept the lab’s client certificate, or is not the lab’s/);
  });

  t.test('plain HTTP to the TLS socket is not the Docker API', async (t) => {
    const report = await runHealthChecks(target(undefined), { timeoutMs: 600, pollIntervalMs: 100 }, { http: fetchHttpGet });
    t.equal(report.healthy, false);
    t.match(formatHuman(report), /Client sent an HTTP request to an HTTPS server|not the Docker API/);
  });

  t.test('missing certificate files: said plainly', async (t) => {
    const report = await runHealthChecks(target(join(root, 'nowhere')), { timeoutMs: 300, pollIntervalMs: 100 }, { http: fetchHttpGet });
    t.match(formatHuman(report), /cannot read the Docker client certificates in .*nowhere/);
  });
}
