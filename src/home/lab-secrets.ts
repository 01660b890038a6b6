/**
 * The secrets a lab's files are rendered with, made once in its directory (a lab directory, or
 * beside `render --out`'s files) and kept there: the lab's own SSH key when it is provisioned with
 * Ignition, and the Docker TLS certificates when its Docker API uses TLS. `up` and `render` both
 * ask here before planning the files, so both make the same things in the same places.
 */
import type { Lab, Provisioning } from '../lab/types.js';
import { dockerTlsMachines } from '../render/plan.js';
import type { DockerTlsMaterial } from '../render/docker-tls.js';
import type { DockerCertsMaker } from './docker-certs.js';
import { ensureLabKey, type LabKeyMaker } from './lab-key.js';

export interface LabSecrets {
  /** The public half of the lab's SSH key (Ignition labs). */
  labPublicKey: string | undefined;
  /** The CA and the servers' certificates (labs with Docker over TLS). */
  dockerTls: DockerTlsMaterial | undefined;
}

export async function labSecrets(
  lab: Lab,
  dir: string,
  provisioning: Provisioning,
  makers: { labKey?: LabKeyMaker | undefined; dockerCerts?: DockerCertsMaker | undefined } = {},
): Promise<LabSecrets> {
  const labPublicKey = provisioning === 'ignition' ? await (makers.labKey ?? ensureLabKey)(dir, `cclab lab ${lab.name}`) : undefined;
  const tlsMachines = dockerTlsMachines(lab);
  if (tlsMachines.length === 0) return { labPublicKey, dockerTls: undefined };
  // node-forge is loaded only for labs that need certificates.
  const makeCerts = makers.dockerCerts ?? (await import('./docker-certs.js')).ensureDockerCerts;
  return { labPublicKey, dockerTls: await makeCerts(dir, lab.name, tlsMachines) };
}
