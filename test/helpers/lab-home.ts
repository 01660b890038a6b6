/**
 * Lab homes for tests: a manifest made from a real resolved lab, written where cclab looks.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeManifest } from '../../src/home/manifest.js';
import type { Manifest } from '../../src/home/manifest.js';
import { resolveLab } from '../../src/lab/resolve.js';
import type { Architecture } from '../../src/lab/types.js';

export function makeManifest(name: string, architecture: Architecture, extra: Partial<Manifest> = {}): Manifest {
  // A lab recorded with the guide's plain Docker socket (tests of TLS labs make their own manifest: tlsManifest).
  const { lab } = resolveLab({ document: { name, spec: { architecture, docker: { tls: false } } }, source: 'test' });
  const docker = lab.machines.find((m) => m.dockerTcp);
  return {
    schemaVersion: 1,
    name,
    architecture,
    os: lab.os,
    provider: lab.provider,
    box: lab.box.name,
    cclabVersion: '0.1.0',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    state: 'running',
    lab,
    machines: lab.machines.map((m) => ({ name: m.name, role: m.role, ip: m.ip, state: 'running' })),
    ...(docker
      ? { docker: { machine: docker.name, guestPort: 2375, hostPort: 23750, endpoint: 'tcp://127.0.0.1:23750' } }
      : {}),
    ...extra,
  };
}

/** Write `manifest` as lab `manifest.name` under the cclab home `home`; returns the lab directory. */
export async function addLab(home: string, manifest: Manifest): Promise<string> {
  const dir = join(home, 'labs', manifest.name);
  await mkdir(dir, { recursive: true });
  await writeManifest(dir, manifest);
  return dir;
}

/** A running lab whose Docker API has TLS, forwarded to `port` of 127.0.0.1 (what `up` records). */
export function tlsManifest(name: string, port: number): Manifest {
  const { lab } = resolveLab({ document: { name, spec: { architecture: 'laptop' } }, source: 'test' });
  return {
    ...makeManifest(name, 'laptop'),
    lab,
    docker: { machine: 'core-01', guestPort: 2376, hostPort: port, endpoint: `tcp://127.0.0.1:${port}`, tls: true },
  };
}
