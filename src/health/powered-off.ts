/**
 * Machines the user powered off on purpose (`cclab kill`), named in a lab's health report (pure):
 * each failing check of such a machine says why it fails and how to bring the machine back, and
 * the proxies' verdict says when the member they lost is one of them.
 */
import { joinNames } from './checks/etcd.js';
import type { HealthReport } from './types.js';

/** Machine name → ISO 8601 time its plug was pulled. */
export type PoweredOff = Record<string, string>;

export function notePoweredOff(report: HealthReport, poweredOff: PoweredOff, lab: string, members: string[]): HealthReport {
  const names = Object.keys(poweredOff);
  if (names.length === 0) return report;
  const checks = report.checks.map((c) => {
    const machine = c.id.slice(c.id.indexOf(':') + 1);
    if (c.ok || !c.id.includes(':') || poweredOff[machine] === undefined) return c;
    // A check over SSH never got as far as the machine: say why instead of the missing SSH data.
    const observed = /no SSH data/.test(c.observed) ? `not reached: ${machine} is powered off` : c.observed;
    return { ...c, observed, hint: `${machine} was powered off by \`cclab kill\` at ${poweredOff[machine]}; \`cclab up ${lab}\` brings it back` };
  });
  const out: HealthReport = { ...report, checks };
  const lostMembers = names.filter((n) => members.includes(n));
  if (report.proxies && report.proxies.verdict !== 'healthy' && lostMembers.length > 0) {
    out.proxies = {
      ...report.proxies,
      reason: `${report.proxies.reason ?? 'they do not reach the cluster'} (etcd member ${joinNames(lostMembers)} ${lostMembers.length === 1 ? 'is' : 'are'} powered off by \`cclab kill\`)`,
    };
  }
  return out;
}
