/**
 * The two forms of a health report (output contracts):
 * - human: one line per check (`✓`/`✗`/`-`, name, what was seen), an indented `hint:` under each
 *   failure, then one verdict line per group (`etcd: degraded — etcd-02 is down`);
 * - JSON: one document `{ healthy, etcd, proxies, fleet, docker, checks }`.
 */

import type { CheckResult, HealthReport } from './types.js';

export function formatHuman(report: HealthReport): string {
  if (report.checks.length === 0) return 'nothing to check\n';
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${mark(c)} ${c.name}: ${c.observed}`);
    if (!c.ok && c.hint) lines.push(`    hint: ${c.hint}`);
  }
  const verdicts: string[] = [];
  const line = (group: string, v: { verdict: string; reason?: string } | undefined) => {
    if (v) verdicts.push(`${group}: ${v.verdict}${v.reason ? ` — ${v.reason}` : ''}`);
  };
  line('etcd', report.etcd);
  line('etcd proxies', report.proxies);
  line('fleet', report.fleet && withCount(report.fleet));
  line('docker', report.docker);
  if (verdicts.length > 0) lines.push('', ...verdicts);
  return lines.join('\n') + '\n';
}

function mark(c: CheckResult): string {
  if (c.skipped) return '-';
  return c.ok ? '✓' : '✗';
}

function withCount(f: NonNullable<HealthReport['fleet']>): { verdict: string; reason?: string } {
  if (f.verdict !== 'healthy') return f;
  return { verdict: `healthy (${f.expected} machine${f.expected === 1 ? '' : 's'})` };
}

/** The --json document (stable key order). */
export function toJson(report: HealthReport): Record<string, unknown> {
  return {
    healthy: report.healthy,
    ...(report.etcd ? { etcd: report.etcd } : {}),
    ...(report.proxies ? { proxies: report.proxies } : {}),
    ...(report.fleet ? { fleet: report.fleet } : {}),
    ...(report.docker ? { docker: report.docker } : {}),
    checks: report.checks.map((c) => ({
      id: c.id,
      group: c.group,
      name: c.name,
      ok: c.ok,
      ...(c.skipped ? { skipped: true } : {}),
      observed: c.observed,
      ...(c.hint && !c.ok ? { hint: c.hint } : {}),
    })),
  };
}

export function formatHealthJson(report: HealthReport): string {
  return JSON.stringify(toJson(report), null, 2) + '\n';
}

/** One line naming what is wrong, for an error message: `etcd degraded — etcd-02 is down; docker unreachable — …`. */
export function summary(report: HealthReport): string {
  const parts: string[] = [];
  const add = (group: string, v: { verdict: string; reason?: string } | undefined) => {
    if (v && v.verdict !== 'healthy') parts.push(`${group} ${v.verdict}${v.reason ? ` — ${v.reason}` : ''}`);
  };
  add('etcd', report.etcd);
  add('etcd proxies', report.proxies);
  add('fleet', report.fleet);
  add('docker', report.docker);
  if (parts.length === 0) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
    if (failed.length > 0) parts.push(`failed: ${failed.join(', ')}`);
  }
  return parts.join('; ');
}
