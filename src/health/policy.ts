/**
 * From observations to a report (pure): every check line in a fixed order (etcd members and member
 * list, proxies, fleet, docker), one verdict per group, and whether the whole is healthy.
 */

import { judgeDocker } from './checks/docker.js';
import { joinNames, judgeEtcd } from './checks/etcd.js';
import { judgeFleet } from './checks/fleet.js';
import { judgeProxy } from './checks/proxy.js';
import type { HealthTargets } from './targets.js';
import type { CheckResult, HealthReport, Observations } from './types.js';

export function judge(targets: HealthTargets, obs: Observations): HealthReport {
  const checks: CheckResult[] = [];
  const report: HealthReport = { healthy: true, checks };

  if (targets.etcd) {
    const etcd = judgeEtcd(targets.etcd, obs.members);
    checks.push(...etcd.checks);
    report.etcd = etcd.verdict;
  }

  if (targets.proxies.length > 0) {
    const results = targets.proxies.map((p, i) => judgeProxy(p, obs.proxies[i]!));
    checks.push(...results);
    const failing = targets.proxies.filter((_, i) => !results[i]!.ok).map((p) => p.machine);
    report.proxies =
      failing.length === 0
        ? { verdict: 'healthy' }
        : { verdict: 'unhealthy', reason: `${joinNames(failing)} ${failing.length === 1 ? 'does' : 'do'} not reach the cluster` };
  }

  if (targets.fleet && obs.fleet) {
    const fleet = judgeFleet(targets.fleet, obs.fleet);
    checks.push(...fleet.checks);
    report.fleet = fleet.verdict;
  }

  if (targets.docker && obs.docker) {
    const docker = judgeDocker(targets.docker, obs.docker);
    checks.push(docker.check);
    report.docker = docker.verdict;
  }

  report.healthy =
    checks.every((c) => c.ok) &&
    (report.etcd === undefined || report.etcd.verdict === 'healthy') &&
    [report.proxies, report.fleet, report.docker].every((g) => g === undefined || g.verdict === 'healthy');
  return report;
}
