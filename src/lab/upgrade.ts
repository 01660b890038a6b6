/**
 * A lab recorded by an earlier cclab, brought to today's model: machines recorded before they had
 * MACs get their derived MACs, a lab recorded before Docker had TLS keeps its plain socket, and a lab recorded before etcd was pinned gets the default etcd
 * image, so resuming it renders as a new lab does. Applied where labs are read to be used
 * (src/pipeline/home-store.ts), not in the manifest parser, which `cclab docker-env` loads and
 * keeps free of the lab model.
 */
import { DEFAULT_ETCD_IMAGE_TAG } from './defaults.js';
import { machineMac } from './net.js';
import type { Lab } from './types.js';

export function upgradeLab(lab: Lab): Lab {
  const old = lab as unknown as { name: string; machines: Record<string, unknown>[]; etcd?: Record<string, unknown> };
  for (const m of old.machines) {
    if (typeof m.name !== 'string' || typeof m.mac === 'string') continue;
    m.mac = machineMac(old.name, m.name);
    m.macGiven = false;
  }
  if (old.etcd && typeof old.etcd.imageTag !== 'string') old.etcd.imageTag = DEFAULT_ETCD_IMAGE_TAG;
  // Labs recorded before Docker had TLS exposed the guide's plain socket.
  const docker = (old as { docker?: Record<string, unknown> }).docker;
  if (docker && typeof docker.tls !== 'boolean') docker.tls = false;
  return lab;
}
