/**
 * What cclab chooses when nobody did (pure; the probes' answers come from src/commands/deps.ts):
 * the provider, as minikube picks a driver — the first usable of VirtualBox (the guide's), libvirt
 * and Parallels — and libvirt's driver, KVM when libvirt can run KVM guests and a test guest runs
 * under KVM (./kvm-probe.ts), else QEMU's emulation.
 */
import { PROVIDERS, type LibvirtDriver, type Provider } from '../lab/types.js';
import type { KvmGuestRuns } from './kvm-probe.js';

export interface Usability {
  ok: boolean;
  detail: string;
}

/** The first usable provider in PROVIDERS order, with why the ones before it were passed over. */
export function chooseProvider(usable: Record<Provider, Usability | undefined>): { provider: Provider; why: string } {
  const passed: string[] = [];
  for (const p of PROVIDERS) {
    const u = usable[p];
    if (u === undefined) continue;
    if (u.ok) return { provider: p, why: passed.length === 0 ? `usable here (${u.detail})` : `the first usable here (${passed.join('; ')})` };
    passed.push(`${p}: ${u.detail}`);
  }
  // Nothing answers: the guide's VirtualBox, whose preflight check then says how to install it.
  return { provider: 'virtualbox', why: `no provider is usable here (${passed.join('; ')}); trying VirtualBox` };
}

export interface KvmFacts {
  /** Whether /dev/kvm exists. */
  devKvm: boolean;
  /** `virsh domcapabilities --virttype kvm`: answered, refused (libvirt answers, KVM is not usable), or libvirt did not answer. */
  kvmCapabilities: 'yes' | { refused: string } | { noAnswer: string };
  /** Whether a test guest ran under KVM (./kvm-probe.ts); absent when not tried. */
  guest?: KvmGuestRuns;
}

export function chooseLibvirtDriver(f: KvmFacts): { driver: LibvirtDriver; why: string } {
  if (!f.devKvm) return { driver: 'qemu', why: 'this host has no /dev/kvm (no hardware virtualisation, or the kvm module is not loaded)' };
  if (f.kvmCapabilities !== 'yes' && 'refused' in f.kvmCapabilities) return { driver: 'qemu', why: `libvirt cannot run KVM guests here (${f.kvmCapabilities.refused})` };
  // /dev/kvm that cannot take an ordinary guest out of real mode: the machines would hang at boot.
  if (typeof f.guest === 'object' && 'no' in f.guest) return { driver: 'qemu', why: `KVM cannot run a guest here (${f.guest.no})` };
  const tried = f.guest === 'yes' ? '; a test guest ran under KVM' : '';
  if (f.kvmCapabilities === 'yes') return { driver: 'kvm', why: `libvirt can run KVM guests${tried}` };
  // libvirt does not answer: preflight's provider check says so; KVM is what /dev/kvm promises.
  return { driver: 'kvm', why: `/dev/kvm exists${tried} (libvirt did not answer: ${f.kvmCapabilities.noAnswer})` };
}
