/**
 * Where a rendered lab's files lie, relative to its directory (a lab directory under the cclab home,
 * or `render --out`). Only node built-ins and no imports: the paths module, which `cclab docker-env`
 * loads, reads these too.
 */

/** The directory holding one config per machine. */
export const USER_DATA_DIR = 'user-data';

/** A machine's cloud-config, relative to the lab directory. */
export const userDataPath = (machine: string): string => `${USER_DATA_DIR}/${machine}.yaml`;

/** The directory holding one Ignition config per machine (bare metal, matchbox). */
export const IGNITION_DIR = 'ignition';

/** A machine's Ignition config, relative to the output directory. */
export const ignitionPath = (machine: string): string => `${IGNITION_DIR}/${machine}.ign`;

/** The lab's own SSH key pair (private key; the public key beside it with `.pub`), for Ignition labs. */
export const LAB_KEY_PATH = 'ssh/id_ed25519';

/**
 * The lab's Docker TLS files (DOCKER_CERT_PATH): ca.pem, cert.pem and key.pem as docker-machine
 * names them (the docker CLI looks for those names), and each Docker machine's server pair as
 * `<machine>-server.pem` / `<machine>-server-key.pem`.
 */
export const DOCKER_CERTS_DIR = 'docker-certs';
