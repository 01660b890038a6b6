/**
 * Can KVM run a guest here? `/dev/kvm` and libvirt's "kvm" domain capabilities only say the module
 * is loaded; some hosts (a nested or paravirtual KVM) expose one that cannot take an ordinary guest
 * out of real mode, where a lab's machines hang at boot. So cclab runs a tiny guest under KVM: a
 * 64 KiB firmware (./kvm-probe.S) that enters 64-bit mode and exits through isa-debug-exit. Pure
 * here (the image, the command, the verdict); src/pipeline/probes.ts runs it.
 */

/** The probe's code from offset 0 (kvm-probe.S, assembled). */
const CODE =
  'fab052e6e92e660f0116f0000f20c06683c8010f22c066ea1e00ffff080066b810008ed88ec08ed0b050e6e9bf0010000031c0b900180000f3ab' +
  'c7050010000003200000c7050020000003300000c7050820000003400000c7051020000003500000c7051820000003600000bf00300000b8830000' +
  '00b9000800008907c7470400000000050000200083c708e2ed0f20e083c8200f22e0b8001000000f22d8b9800000c00f320d000100000f300f20c0' +
  '0d000000800f22c0eabf00ffff1800b04ce6e9b02ae6f4f4ebfd8db4000066900000000000000000ffff0000009acf00ffff00000092cf00ffff00' +
  '00009aaf001f00d000ffff';
/** At the reset vector (offset 0xfff0): `jmp` to offset 0. */
const RESET = 'e90d00';

export const KVM_PROBE_SIZE = 0x10000;
/** What QEMU exits with when the guest wrote 0x2a to isa-debug-exit: (0x2a << 1) | 1. */
export const KVM_PROBE_EXIT = 85;
/** A guest that has not reached 64-bit mode by then never will (it takes milliseconds under KVM). */
export const KVM_PROBE_TIMEOUT_MS = 3_000;

export function kvmProbeImage(): Buffer {
  const image = Buffer.alloc(KVM_PROBE_SIZE);
  Buffer.from(CODE, 'hex').copy(image, 0);
  Buffer.from(RESET, 'hex').copy(image, 0xfff0);
  return image;
}

/** The QEMU command that runs the probe image (`accel`: kvm; tcg in tests). */
export function kvmProbeCommand(imagePath: string, debugconPath: string, accel: 'kvm' | 'tcg' = 'kvm'): string[] {
  return [
    'qemu-system-x86_64',
    '-accel', accel,
    '-machine', 'pc',
    '-nodefaults',
    '-display', 'none',
    '-serial', 'none',
    '-monitor', 'none',
    '-m', '16',
    '-bios', imagePath,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-debugcon', `file:${debugconPath}`,
  ];
}

/** The probe's outcome: ran, did not run, or could not be tried (then libvirt's answer stands). */
export type KvmGuestRuns = 'yes' | { no: string } | { unknown: string };

export interface KvmProbeResult {
  /** QEMU's exit status; undefined when it was killed (the timeout) or did not start. */
  exitCode: number | undefined;
  timedOut: boolean;
  /** It could not start (ENOENT: no qemu-system-x86_64). */
  notFound: boolean;
  /** The debug console: the stages the guest reached (R, P, L). */
  progress: string;
  /** QEMU's own output (its error when it could not open /dev/kvm). */
  output: string;
}

const STAGES: Record<string, string> = { '': 'did not start', R: 'stopped in real mode', RP: 'stopped in 32-bit protected mode', RPL: 'reached 64-bit mode' };

export function kvmProbeVerdict(r: KvmProbeResult, timeoutMs = KVM_PROBE_TIMEOUT_MS): KvmGuestRuns {
  if (r.notFound) return { unknown: 'qemu-system-x86_64 is not installed' };
  if (r.exitCode === KVM_PROBE_EXIT) return 'yes';
  const stage = STAGES[r.progress] ?? `printed "${r.progress}"`;
  if (r.timedOut) return { no: `a test guest under KVM ${stage} and hung for ${timeoutMs / 1000} s, where it needs milliseconds` };
  const said = r.output.trim().split('\n').filter(Boolean).pop() ?? `exit status ${r.exitCode}`;
  // QEMU could not use /dev/kvm itself (permissions; libvirt's QEMU user may still be able to): cannot tell.
  if (r.progress === '') return { unknown: `QEMU could not start a KVM guest as this user: ${said}` };
  return { no: `a test guest under KVM ${stage}: ${said}` };
}

/**
 * What a remembered verdict depends on: this boot of the kernel, the /dev/kvm device node (a
 * reloaded kvm module makes a new one), the QEMU binary and the probe image. A change in any of
 * them asks again.
 */
export interface KvmProbeIdentity {
  bootId: string;
  devKvm: string;
  qemu: string;
  image: string;
}

interface KvmVerdictRecord {
  identity: KvmProbeIdentity;
  no: string;
  at: string;
}

/**
 * The record of a verdict worth remembering, or undefined: only a "no" is kept (it is the slow one,
 * a hung guest given KVM_PROBE_TIMEOUT_MS; a "yes" takes milliseconds to find again, an "unknown"
 * may be fixed by the user at any time).
 */
export function kvmVerdictRecord(identity: KvmProbeIdentity, verdict: KvmGuestRuns, at: Date): string | undefined {
  if (typeof verdict !== 'object' || !('no' in verdict)) return undefined;
  const record: KvmVerdictRecord = { identity, no: verdict.no, at: at.toISOString() };
  return JSON.stringify(record, null, 2) + '\n';
}

/** The remembered verdict when the record is for this very identity; undefined otherwise (or unreadable). */
export function rememberedKvmVerdict(text: string | undefined, identity: KvmProbeIdentity): { no: string } | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Partial<KvmVerdictRecord>;
  const id = r.identity;
  if (typeof r.no !== 'string' || typeof r.at !== 'string' || typeof id !== 'object' || id === null) return undefined;
  const same = (Object.keys(identity) as (keyof KvmProbeIdentity)[]).every((k) => id[k] === identity[k]);
  if (!same) return undefined;
  return { no: `${r.no}; found so at ${r.at.replace(/\.\d+Z$/, 'Z')}, asked again after a reboot or when /dev/kvm or QEMU change` };
}
