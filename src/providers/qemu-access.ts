/**
 * Can QEMU open the lab's Ignition files? Under `qemu:///system` libvirt runs QEMU as its own user
 * (libvirt-qemu on Debian and Ubuntu, qemu on Fedora), and the fw_cfg file is opened by QEMU itself:
 * libvirt relabels and chowns disk images, not fw_cfg files. So every directory above the file must
 * let that user through (x) and the file must be readable (r), by mode bits or POSIX ACLs. Pure:
 * the real stat/getfacl/id answers come from src/pipeline/probes.ts.
 */

/** One path from / down to the file: its owner, group, mode bits and, when read, its ACL entries. */
export interface PathStep {
  path: string;
  uid: number;
  gid: number;
  /** Permission bits (0o755). */
  mode: number;
  /** Named user/group entries and the mask, when getfacl was asked (undefined: not read). */
  acl?: AclEntry[] | undefined;
}

export interface AclEntry {
  kind: 'user' | 'group' | 'mask';
  /** uid or gid (named entries). */
  id?: number;
  /** rwx as bits: r 4, w 2, x 1. */
  perms: number;
}

export interface Identity {
  name: string;
  uid: number;
  gids: number[];
}

const R = 4;
const X = 1;

/** POSIX access check of one step for `who`, wanting the bits `want` (owner, named user, groups, other). */
export function allows(step: PathStep, who: Identity, want: number): boolean {
  if (who.uid === 0) return true;
  const has = (perms: number) => (perms & want) === want;
  if (step.uid === who.uid) return has((step.mode >> 6) & 7);
  const mask = step.acl?.find((a) => a.kind === 'mask')?.perms ?? 7;
  const named = step.acl?.find((a) => a.kind === 'user' && a.id === who.uid);
  if (named) return has(named.perms & mask);
  // Group class: the owning group (its bits are the mask's when an ACL exists) and named groups.
  const groupEntries: number[] = [];
  if (who.gids.includes(step.gid)) groupEntries.push(step.acl ? (step.mode >> 3) & 7 & mask : (step.mode >> 3) & 7);
  for (const a of step.acl ?? []) if (a.kind === 'group' && a.id !== undefined && who.gids.includes(a.id)) groupEntries.push(a.perms & mask);
  if (groupEntries.length > 0) return groupEntries.some(has);
  return has(step.mode & 7);
}

/** The steps that stop `who` from reading the last one (directories need x, the file r). */
export function blockingSteps(chain: PathStep[], who: Identity): PathStep[] {
  return chain.filter((s, i) => !allows(s, who, i === chain.length - 1 ? R : X));
}

/** The user libvirt runs QEMU as: qemu.conf's `user = "…"` (uncommented), else undefined (the build's default). */
export function qemuConfUser(conf: string | undefined): { user?: string; group?: string } {
  const out: { user?: string; group?: string } = {};
  for (const line of (conf ?? '').split('\n')) {
    const m = /^\s*(user|group)\s*=\s*"([^"]*)"\s*$/.exec(line);
    if (m) out[m[1] as 'user' | 'group'] = m[2]!;
  }
  return out;
}

/** Whether a libvirt URI runs QEMU as the calling user (a session daemon), not as libvirt's QEMU user. */
export function isSessionUri(uri: string): boolean {
  return /^qemu(\+[a-z]+)?:\/\/[^/]*\/session\b/.test(uri);
}

/** getfacl -n output → its named user/group entries and mask (`user:64055:--x`, `mask::r-x`). */
export function parseAcl(text: string): AclEntry[] {
  const out: AclEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(user|group|mask):(\d*):([r-][w-][x-])/.exec(line.trim());
    if (!m) continue;
    const perms = (m[3]![0] === 'r' ? 4 : 0) | (m[3]![1] === 'w' ? 2 : 0) | (m[3]![2] === 'x' ? 1 : 0);
    if (m[1] === 'mask') out.push({ kind: 'mask', perms });
    else if (m[2] !== '') out.push({ kind: m[1] as 'user' | 'group', id: Number(m[2]), perms });
  }
  return out;
}
