/** IPv4 arithmetic for lab subnets (pure). */
import { createHash } from 'node:crypto';
import { quoted } from './shown.js';

export interface Cidr {
  network: number;
  prefix: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export function ipToInt(ip: string): number {
  if (!isIpv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/p`; returns an error message instead of throwing. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m || !isIpv4(m[1]!)) return `${quoted(text)} is not an IPv4 CIDR such as 192.168.57.0/24`;
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 28) return `${quoted(text)}: the prefix must be between /8 and /28`;
  const addr = ipToInt(m[1]!);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) {
    return `${quoted(text)} has host bits set; did you mean ${intToIp(addr - (addr % size))}/${prefix}?`;
  }
  return { network: addr, prefix };
}

/**
 * Address ranges a lab subnet must not overlap, each with the reason: they are not usable for
 * machines on a host-only network, or the host routes them elsewhere.
 */
export const RESERVED_RANGES: readonly { cidr: string; why: string }[] = [
  { cidr: '0.0.0.0/8', why: '0.0.0.0/8 means "this network" (RFC 1122); no machine can have such an address' },
  { cidr: '127.0.0.0/8', why: 'it overlaps loopback 127.0.0.0/8: the host answers those addresses itself, so the machines would be unreachable' },
  { cidr: '169.254.0.0/16', why: 'it overlaps link-local 169.254.0.0/16 (RFC 3927), which is never routed and is used by cloud metadata services' },
  { cidr: '224.0.0.0/4', why: 'it overlaps multicast 224.0.0.0/4: those are group addresses, not addresses of machines' },
  { cidr: '240.0.0.0/4', why: 'it overlaps 240.0.0.0/4, reserved (RFC 1112) and the broadcast address; hosts refuse to use it' },
  {
    cidr: '172.17.0.0/16',
    why: "it overlaps Docker's default bridge docker0 (172.17.0.0/16): the host and the lab's Docker would route those addresses to containers, not to the machines",
  },
];

/** Why a lab subnet cannot be used (it overlaps a reserved range), or undefined. */
export function reservedProblem(c: Cidr): string | undefined {
  for (const r of RESERVED_RANGES) {
    const [ip, prefix] = r.cidr.split('/') as [string, string];
    // Not parseCidr: it takes lab-sized prefixes only (/8–/28), and these go down to /4.
    if (overlaps(c, { network: ipToInt(ip), prefix: Number(prefix) })) return `${formatCidr(c)} cannot be a lab subnet: ${r.why}; choose a private range such as 192.168.57.0/24 or 10.64.0.0/16`;
  }
  return undefined;
}

/** The network an interface address with this prefix belongs to. */
export function interfaceNetwork(address: string, prefix: number): Cidr {
  const n = ipToInt(address);
  const size = 2 ** (32 - prefix);
  return { network: n - (n % size), prefix };
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.network)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network < b.network + cidrSize(b) && b.network < a.network + cidrSize(a);
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return inner.network >= outer.network && inner.network + cidrSize(inner) <= outer.network + cidrSize(outer);
}

/** The host at `offset` inside the subnet (offset 1 is the gateway by convention). */
export function hostAt(c: Cidr, offset: number): string {
  return intToIp(c.network + offset);
}

/** First machine address offset inside a lab subnet: .101, as coreos-vagrant numbered its VMs. */
export const FIRST_HOST_OFFSET = 101;

/** How many machines fit from FIRST_HOST_OFFSET up to (not including) the broadcast address. */
export function machineCapacity(c: Cidr): number {
  return Math.max(0, cidrSize(c) - 1 - FIRST_HOST_OFFSET);
}

/** VirtualBox ≥ 6.1.28 allows host-only networks only here unless /etc/vbox/networks.conf says otherwise. */
export const VIRTUALBOX_ALLOWED = '192.168.56.0/21';
/** vboxnet0's own network, whose DHCP server races static addresses. */
export const VIRTUALBOX_DEFAULT_NET = '192.168.56.0/24';
/** Docker's default bridge, which coreos-vagrant's 172.17.8.0/24 overlapped. */
export const DOCKER0_NET = '172.17.0.0/16';

/** The /24s cclab picks from by default: inside 192.168.56.0/21, but not 192.168.56.0/24. */
export const DEFAULT_SUBNETS = [57, 58, 59, 60, 61, 62, 63].map((n) => `192.168.${n}.0/24`);

/**
 * A default subnet for a lab: a stable choice from its name, moved on past the ones other labs
 * already use, so labs can coexist. Returns undefined when all are taken.
 */
export function defaultSubnet(labName: string, taken: readonly string[]): string | undefined {
  let hash = 0;
  for (const ch of labName) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const start = hash % DEFAULT_SUBNETS.length;
  const takenCidrs = taken.map(parseCidr).filter((c): c is Cidr => typeof c !== 'string');
  for (let i = 0; i < DEFAULT_SUBNETS.length; i++) {
    const candidate = DEFAULT_SUBNETS[(start + i) % DEFAULT_SUBNETS.length]!;
    const c = parseCidr(candidate) as Cidr;
    if (!takenCidrs.some((t) => overlaps(t, c))) return candidate;
  }
  return undefined;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * A MAC address as cclab writes it (six lower-case hex pairs joined by colons), from any common
 * spelling (`AA-BB-…`, `aabb.ccdd.eeff`, 12 digits); undefined when it is not a unicast MAC.
 */
export function normalizeMac(text: string): string | undefined {
  if (!/^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$/.test(text) && !/^[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){2}$/.test(text)) return undefined;
  const hex = text.replace(/[:.-]/g, '').toLowerCase();
  const mac = hex.match(/../g)!.join(':');
  if (!MAC.test(mac)) return undefined;
  // Multicast (low bit of the first octet) is never a NIC's address; nor is all-zero.
  if ((parseInt(hex.slice(0, 2), 16) & 1) === 1 || hex === '000000000000') return undefined;
  return mac;
}

/**
 * The MAC cclab gives a machine: the same for the same lab and machine names on every run and every
 * host, locally administered (bit 1 of the first octet set) and unicast (bit 0 clear), so it can
 * never be a vendor's address. Taken from the SHA-256 of `lab/machine`.
 */
export function machineMac(lab: string, machine: string): string {
  const bytes = createHash('sha256').update(`cclab-mac\0${lab}\0${machine}`).digest().subarray(0, 6);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
