/** The Docker API check against a real dockerd on 127.0.0.1 (started and stopped by PID). */

import t from 'tap';
import { fetchHttpGet } from '../../src/health/http.js';
import { formatHuman, toJson } from '../../src/health/report.js';
import { runHealthChecks } from '../../src/health/run.js';
import type { HealthTargets } from '../../src/health/targets.js';
import { startDockerd } from '../helpers/dockerd.js';
import { requireBinaries } from '../helpers/ports.js';

if (requireBinaries(t, ['dockerd', 'containerd'])) {
  const dockerd = await startDockerd(t);
  const targets: HealthTargets = {
    etcd: undefined,
    proxies: [],
    fleet: undefined,
    docker: { endpoint: dockerd.endpoint, machine: 'core-01' },
  };

  t.test('a running dockerd passes: ping OK, engine and API versions', async (t) => {
    const report = await runHealthChecks(targets, { timeoutMs: 10_000, pollIntervalMs: 100 }, { http: fetchHttpGet });
    const text = formatHuman(report);
    t.equal(report.healthy, true, text);
    t.match(text, new RegExp(`^✓ docker on core-01 \\(${dockerd.endpoint}\\): ping OK, Docker \\S+ \\(API 1\\.\\d+\\)$`, 'm'));
    t.match(text, /^docker: healthy$/m);
    t.match(report.docker, { verdict: 'healthy', version: /\d+\.\d+/, apiVersion: /^1\.\d+$/ });
  });

  t.test('after dockerd stops, the check fails with a hint', async (t) => {
    await dockerd.stop();
    const report = await runHealthChecks(targets, { timeoutMs: 600, pollIntervalMs: 100 }, { http: fetchHttpGet });
    const text = formatHuman(report);
    t.equal(report.healthy, false);
    t.match(
      text,
      new RegExp(
        `^✗ docker on core-01 \\(${dockerd.endpoint}\\): connection refused\\n    hint: nothing listens on 127\\.0\\.0\\.1:${dockerd.port}: is the Docker API exposed on TCP on core-01 \\(docker-tcp\\.socket\\) and its port forwarded to this host \\(vagrant port\\)\\?$`,
        'm',
      ),
    );
    t.match(text, /^docker: unreachable — connection refused$/m);
    t.match(toJson(report), { healthy: false, docker: { verdict: 'unreachable' }, checks: [{ id: 'docker', group: 'docker', ok: false }] });
  });
}
