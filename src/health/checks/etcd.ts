/**
 * etcd members: each member's /health, /version and the v2 member list.
 * `observeMember` is the probe (through an injected HttpGet); the rest is pure judgement.
 * `/v2/stats/self` is deliberately not used: a member without quorum may still call itself leader.
 */

import type { HttpGet } from '../../transport.js';
import type { EtcdTargets } from '../targets.js';
import { normalizeUrl } from '../targets.js';
import type { CheckResult, EtcdVerdict, Fetched, MemberObservation } from '../types.js';
import { fetchOnce, jsonObject, networkHint, snippet } from './common.js';

export async function observeMember(
  http: HttpGet,
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<MemberObservation> {
  const [health, version, members] = await Promise.all([
    fetchOnce(http, `${url}/health`, timeoutMs, signal),
    fetchOnce(http, `${url}/version`, timeoutMs, signal),
    fetchOnce(http, `${url}/v2/members`, timeoutMs, signal),
  ]);
  return { url, health, version, members };
}

export interface ListedMember {
  id: string;
  /** Empty for a member that was added but has not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

/** `{"members":[…]}` of GET /v2/members; undefined when the body is not that. */
export function parseMemberList(body: string): ListedMember[] | undefined {
  const doc = jsonObject(body);
  if (!doc || !Array.isArray(doc.members)) return undefined;
  const out: ListedMember[] = [];
  for (const raw of doc.members as unknown[]) {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const m = raw as Record<string, unknown>;
    out.push({
      id: typeof m.id === 'string' ? m.id : '',
      name: typeof m.name === 'string' ? m.name : '',
      peerURLs: strings(m.peerURLs).map(normalizeUrl),
      clientURLs: strings(m.clientURLs).map(normalizeUrl),
    });
  }
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** How one member's /health answered. */
export type MemberState = 'up' | 'no-quorum' | 'down' | 'wrong' | 'missing';

export interface MemberHealth {
  state: MemberState;
  observed: string;
  hint?: string;
}

/** Reads /health (and /version) of one member. `who` names it in hints, e.g. `etcd on etcd-02`. */
export function memberHealth(obs: MemberObservation, who: string): MemberHealth {
  const h = obs.health;
  if (!h.ok) return { state: 'down', observed: h.error, hint: networkHint(h, obs.url, who) };
  const body = jsonObject(h.body);
  const healthy = body?.health === 'true' || body?.health === true;
  if (h.status === 200 && healthy) {
    const version = etcdVersion(obs.version);
    if (version.ok) return { state: 'up', observed: `healthy, etcd ${version.text}` };
    return {
      state: 'wrong',
      observed: `healthy, but /version: ${version.text}`,
      hint: `${who} answers /health but not /version like etcd does: is it etcd?`,
    };
  }
  if (h.status === 503 || (body !== undefined && 'health' in body && !healthy)) {
    return {
      state: 'no-quorum',
      observed: `/health ${h.status} ${snippet(h.body)}`,
      hint: `${who} runs but has no quorum: more than half of the members are down or cannot reach each other on the peer port`,
    };
  }
  return {
    state: 'wrong',
    observed: `/health answered ${h.status} ${snippet(h.body)}`.trim(),
    hint: `what answers at ${obs.url} is not an etcd client URL`,
  };
}

function etcdVersion(f: Fetched): { ok: boolean; text: string } {
  if (!f.ok) return { ok: false, text: f.error };
  const body = jsonObject(f.body);
  if (f.status === 200 && typeof body?.etcdserver === 'string') return { ok: true, text: body.etcdserver };
  return { ok: false, text: `${f.status} ${snippet(f.body)}` };
}

interface MemberListSeen {
  list: ListedMember[] | undefined;
  /** Why there is no list. */
  failure?: string;
  hint?: string;
}

/** The member list, preferably as a healthy member reports it. */
function pickMemberList(observations: MemberObservation[], states: MemberState[]): MemberListSeen {
  const order = observations.map((o, i) => ({ o, up: states[i] === 'up' })).sort((a, b) => Number(b.up) - Number(a.up));
  for (const { o } of order) {
    if (o.members.ok && o.members.status === 200) {
      const list = parseMemberList(o.members.body);
      if (list) return { list };
    }
  }
  const answered = observations.map((o) => o.members).find((m): m is Extract<Fetched, { ok: true }> => m.ok);
  if (answered?.status === 404) {
    return {
      list: undefined,
      failure: `/v2/members: 404 ${snippet(answered.body)}`,
      hint: 'the etcd v2 API is off: start etcd with --enable-v2=true (ETCD_ENABLE_V2=true); fleet and the v2 proxy need it',
    };
  }
  if (answered) {
    return { list: undefined, failure: `/v2/members: ${answered.status} ${snippet(answered.body)}`, hint: 'the member list is not what etcd answers' };
  }
  return { list: undefined, failure: 'no member answered /v2/members', hint: 'see the member checks above' };
}

/** `a`, `a and b`, `a, b and c`. */
export function joinNames(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export interface MemberRow {
  label: string;
  state: MemberState;
}

/**
 * The cluster verdict from each member's state (members missing from the list count as down).
 * unavailable: no member answers, every answering member says 503, or a majority is not up;
 * degraded: at least one member is not up, or the member list is wrong; healthy otherwise.
 */
export function etcdVerdict(expected: number, rows: MemberRow[], listProblem: string | undefined): EtcdVerdict {
  const named = (s: MemberState[]) => rows.filter((r) => s.includes(r.state)).map((r) => r.label);
  const down = named(['down', 'wrong']);
  const noQuorum = named(['no-quorum']);
  const missing = named(['missing']);
  const notUp = [...down, ...noQuorum, ...missing];
  const reachable = rows.filter((r) => r.state === 'up' || r.state === 'no-quorum');
  const total = Math.max(expected, 1);
  const base = { expected, down: [...down, ...missing], noQuorum };

  if (reachable.length === 0) {
    const reason =
      down.length >= expected
        ? `no quorum (${expected} of ${expected} members down)`
        : `no endpoint answers (${joinNames(down)} ${down.length === 1 ? 'is' : 'are'} down)`;
    return { verdict: 'unavailable', reason, ...base };
  }
  const absent = down.length + missing.length;
  if (reachable.every((r) => r.state === 'no-quorum')) {
    const reason =
      absent > 0
        ? `no quorum (${absent} of ${expected} members down)`
        : 'no quorum (every member answers /health with 503)';
    return { verdict: 'unavailable', reason, ...base };
  }
  const quorum = Math.floor(total / 2) + 1;
  if (total - notUp.length < quorum) {
    return { verdict: 'unavailable', reason: `no quorum (${notUp.length} of ${expected} members down)`, ...base };
  }
  if (notUp.length > 0) {
    const parts: string[] = [];
    if (down.length > 0) parts.push(`${joinNames(down)} ${down.length === 1 ? 'is' : 'are'} down`);
    if (noQuorum.length > 0) parts.push(`${joinNames(noQuorum)} ${noQuorum.length === 1 ? 'has' : 'have'} no quorum`);
    if (missing.length > 0) parts.push(`${joinNames(missing)} ${missing.length === 1 ? 'is' : 'are'} not in the member list`);
    const up = total - notUp.length;
    return { verdict: 'degraded', reason: `${parts.join(', ')}; quorum kept (${up} of ${expected} members up)`, ...base };
  }
  if (listProblem !== undefined) return { verdict: 'degraded', reason: listProblem, ...base };
  return { verdict: 'healthy', ...base };
}

/** Every etcd member check plus the member-list check, and the cluster verdict. */
export function judgeEtcd(target: EtcdTargets, observations: MemberObservation[]): { checks: CheckResult[]; verdict: EtcdVerdict } {
  return target.mode === 'members' ? judgeMembers(target.members, observations) : judgeEndpoints(target, observations);
}

function judgeMembers(
  members: Extract<EtcdTargets, { mode: 'members' }>['members'],
  observations: MemberObservation[],
): { checks: CheckResult[]; verdict: EtcdVerdict } {
  const healths = members.map((m, i) => memberHealth(observations[i]!, `etcd on ${m.name}`));
  const seen = pickMemberList(observations, healths.map((h) => h.state));
  const checks: CheckResult[] = members.map((m, i) => memberCheck(`etcd-member:${m.name}`, `etcd member ${m.name} (${m.clientUrl})`, healths[i]!));

  const rows: MemberRow[] = members.map((m, i) => ({ label: m.name, state: healths[i]!.state }));
  let listProblem: string | undefined;
  if (seen.list) {
    const list = seen.list;
    const problems: string[] = [];
    const hints = new Set<string>();
    members.forEach((m, i) => {
      const listed = list.find((l) => l.name === m.name);
      if (!listed) {
        problems.push(`${m.name} is not in the member list`);
        hints.add(`a member that is not in the list never joined this cluster: every member needs the same initial_cluster and cluster token; read etcd's log on that machine`);
        if (rows[i]!.state === 'up') rows[i]!.state = 'missing';
      } else if (!sameUrls(listed.peerURLs, [m.peerUrl])) {
        problems.push(`${m.name} has peer URL ${listed.peerURLs.join(',') || '(none)'}, expected ${normalizeUrl(m.peerUrl)}`);
        hints.add(`check initial_advertise_peer_urls in ${m.name}'s cloud-config`);
      }
    });
    for (const l of list) {
      if (l.name === '') {
        problems.push(`a member with peer URL ${l.peerURLs.join(',')} was added but has not started`);
        hints.add('start etcd on the machine with that peer URL, or remove the member');
      } else if (!members.some((m) => m.name === l.name)) {
        problems.push(`unexpected member ${l.name} (peer ${l.peerURLs.join(',')})`);
        hints.add('the cluster holds a member this lab does not define: a data directory left from another lab? destroy the lab and bring it up again');
      }
    }
    listProblem = problems.length > 0 ? problems.join('; ') : undefined;
    checks.push(memberListCheck(list, problems, [...hints]));
  } else {
    listProblem = seen.failure;
    checks.push(listFailure(seen));
  }
  return { checks, verdict: etcdVerdict(members.length, rows, listProblem) };
}

function judgeEndpoints(
  target: Extract<EtcdTargets, { mode: 'endpoints' }>,
  observations: MemberObservation[],
): { checks: CheckResult[]; verdict: EtcdVerdict } {
  const firstPass = target.endpoints.map((url, i) => memberHealth(observations[i]!, `etcd at ${url}`));
  const seen = pickMemberList(observations, firstPass.map((h) => h.state));
  const nameOf = (url: string) => seen.list?.find((l) => l.name !== '' && l.clientURLs.includes(normalizeUrl(url)))?.name;

  const checks: CheckResult[] = [];
  const rows: MemberRow[] = [];
  target.endpoints.forEach((url, i) => {
    const name = nameOf(url);
    const health = name === undefined ? firstPass[i]! : memberHealth(observations[i]!, `etcd on ${name}`);
    checks.push(
      memberCheck(`etcd-member:${url}`, name === undefined ? `etcd endpoint ${url}` : `etcd member ${name} (${url})`, health),
    );
    const label = name ?? url;
    if (!rows.some((r) => r.label === label)) rows.push({ label, state: health.state });
  });

  let listProblem: string | undefined;
  let expected = target.expectMembers ?? seen.list?.length ?? target.endpoints.length;
  if (seen.list) {
    const list = seen.list;
    const problems: string[] = [];
    const hints: string[] = [];
    for (const l of list.filter((x) => x.name === '')) {
      problems.push(`a member with peer URL ${l.peerURLs.join(',')} was added but has not started`);
      rows.push({ label: `the unstarted member at ${l.peerURLs.join(',')}`, state: 'down' });
    }
    if (problems.length > 0) hints.push('start etcd on the machine with that peer URL, or remove the member');
    if (target.expectMembers !== undefined && list.length !== target.expectMembers) {
      problems.push(`${list.length} members, expected ${target.expectMembers}`);
      hints.push(
        list.length < target.expectMembers
          ? 'a member never joined: every member needs the same initial_cluster and cluster token'
          : 'the cluster holds more members than expected',
      );
    }
    listProblem = problems.length > 0 ? problems.join('; ') : undefined;
    checks.push(memberListCheck(list, problems, hints));
  } else {
    listProblem = seen.failure;
    checks.push(listFailure(seen));
  }
  expected = Math.max(expected, 1);
  return { checks, verdict: etcdVerdict(expected, rows, listProblem) };
}

function memberCheck(id: string, name: string, h: MemberHealth): CheckResult {
  return { id, group: 'etcd', name, ok: h.state === 'up', observed: h.observed, ...(h.hint && h.state !== 'up' ? { hint: h.hint } : {}) };
}

function listFailure(seen: MemberListSeen): CheckResult {
  return {
    id: 'etcd-member-list',
    group: 'etcd',
    name: 'etcd member list',
    ok: false,
    observed: seen.failure ?? 'no member list',
    ...(seen.hint ? { hint: seen.hint } : {}),
  };
}

function sameUrls(a: string[], b: string[]): boolean {
  const x = [...new Set(a.map(normalizeUrl))].sort();
  const y = [...new Set(b.map(normalizeUrl))].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function describeList(list: ListedMember[]): string {
  const names = list.map((l) => l.name || '(not started)').join(', ');
  return `${list.length} member${list.length === 1 ? '' : 's'}: ${names}`;
}

/** The member-list check, from the problems found with the list (either mode). */
function memberListCheck(list: Parameters<typeof describeList>[0], problems: string[], hints: string[]): CheckResult {
  return {
    id: 'etcd-member-list',
    group: 'etcd',
    name: 'etcd member list',
    ok: problems.length === 0,
    observed: problems.length === 0 ? describeList(list) : problems.join('; '),
    ...(problems.length > 0 ? { hint: hints.join('; ') } : {}),
  };
}
