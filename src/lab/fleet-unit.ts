/**
 * fleet's own rules for a unit's [X-Fleet] section (pure), as fleet 1.0 applies them when a unit
 * is submitted: only the requirement keys it knows (job.validRequirements), and the combinations
 * its API refuses (api.ValidateOptions): MachineID with MachineOf or Conflicts, Global with
 * MachineID, MachineOf or Conflicts, and a peer that matches a conflict. MachineMetadata values
 * that are not `key=value` are ignored by fleet without a word: here they are problems.
 */

const KNOWN = new Set([
  'MachineID',
  'X-ConditionMachineID',
  'X-ConditionMachineBootID',
  'X-ConditionMachineOf',
  'MachineOf',
  'X-Conflicts',
  'Conflicts',
  'X-ConditionMachineMetadata',
  'MachineMetadata',
  'Global',
]);

/** The [X-Fleet] options of a unit file, key → values in order (systemd's syntax: `Key=value`, `#`/`;` comments). */
export function fleetOptions(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'X-Fleet') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    out.set(key, [...(out.get(key) ?? []), ...value.split(/\s+/).filter(Boolean)]);
  }
  return out;
}

/** Shell-style glob match (fleet uses Go's path.Match for conflicts). */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  return re.test(name);
}

/** Every way the unit breaks fleet's rules; empty when fleet accepts it. */
export function checkFleetUnit(text: string): string[] {
  const opts = fleetOptions(text);
  const problems: string[] = [];
  for (const key of opts.keys()) if (!KNOWN.has(key)) problems.push(`unrecognized requirement in [X-Fleet] section: "${key}"`);
  const values = (...keys: string[]) => keys.flatMap((k) => opts.get(k) ?? []);
  const conflicts = values('X-Conflicts', 'Conflicts');
  const peers = values('X-ConditionMachineOf', 'MachineOf');
  const target = values('MachineID', 'X-ConditionMachineID', 'X-ConditionMachineBootID').length > 0;
  const global = opts.get('Global')?.at(-1)?.toLowerCase() === 'true';
  for (const g of opts.get('Global') ?? []) if (!/^(true|false)$/i.test(g)) problems.push(`Global=${g}: fleet reads only true (anything else is false)`);
  for (const peer of peers) for (const c of conflicts) if (globMatch(c, peer)) problems.push(`unresolvable requirements: peer "${peer}" matches conflict "${c}"`);
  if (target && peers.length > 0) problems.push('MachineID cannot be used with MachineOf');
  if (target && conflicts.length > 0) problems.push('MachineID cannot be used with Conflicts');
  if (global && target) problems.push('Global cannot be used with MachineID');
  if (global && peers.length > 0) problems.push('Global cannot be used with MachineOf');
  if (global && conflicts.length > 0) problems.push('Global cannot be used with Conflicts');
  for (const m of values('X-ConditionMachineMetadata', 'MachineMetadata')) {
    const parts = m.split('=');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') problems.push(`MachineMetadata=${m} is not key=value: fleet ignores it`);
  }
  return problems;
}
