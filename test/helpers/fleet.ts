/**
 * fleet registrations written into a real etcd the way fleetd writes them: the v2 key
 * `/_coreos.com/fleet/machines/<machine-id>/object`, a JSON MachineState value, and a TTL
 * (fleetd uses 30 s and renews it).
 */

import { randomBytes } from 'node:crypto';

export interface FleetMachineState {
  /** 32 hex characters (a machine-id). */
  ID: string;
  PublicIP: string;
  Metadata: Record<string, string>;
  Capabilities: Record<string, boolean>;
  Version: string;
}

export function randomMachineId(): string {
  return randomBytes(16).toString('hex');
}

export function machineState(publicIp: string, metadata: Record<string, string>, id = randomMachineId()): FleetMachineState {
  return { ID: id, PublicIP: publicIp, Metadata: metadata, Capabilities: { DISABLE_ENGINE: false }, Version: '1.0.0' };
}

/** Creates the registration (fails if that machine-id is already registered, as fleetd's create does). */
export async function registerFleetMachine(etcdUrl: string, state: FleetMachineState, ttlSeconds = 30): Promise<void> {
  const key = `${etcdUrl}/v2/keys/_coreos.com/fleet/machines/${state.ID}/object?prevExist=false`;
  const body = new URLSearchParams({ value: JSON.stringify(state), ttl: String(ttlSeconds) });
  const res = await fetch(key, { method: 'PUT', body, signal: AbortSignal.timeout(5000) });
  if (res.status !== 201) throw new Error(`registering ${state.ID} failed: ${res.status} ${await res.text()}`);
}

/** Removes every registration (the whole `/_coreos.com/fleet` tree); fine when there is none. */
export async function clearFleetRegistry(etcdUrl: string): Promise<void> {
  const res = await fetch(`${etcdUrl}/v2/keys/_coreos.com/fleet?recursive=true&dir=true`, {
    method: 'DELETE',
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200 && res.status !== 404) throw new Error(`clearing the fleet registry failed: ${res.status} ${await res.text()}`);
}
