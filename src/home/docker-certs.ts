/**
 * The lab's Docker TLS files in `<lab dir>/docker-certs/` (or beside a render's files): made once
 * (src/render/docker-tls.ts), then kept, so resuming a lab or rendering it again does not change
 * the certificates its machines were given. The directory is 0700 and every key 0600; `cclab down`
 * removes it with the lab directory.
 */
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerCertPath } from './paths.js';
import { makeDockerTls, type DockerServerName, type DockerTlsMaterial } from '../render/docker-tls.js';
import { errnoCode, makeDirectory } from './errno.js';
import { fileSystemError } from '../errors.js';

export const CA_FILE = 'ca.pem';
export const CLIENT_CERT_FILE = 'cert.pem';
export const CLIENT_KEY_FILE = 'key.pem';
export const serverCertFile = (machine: string): string => `${machine}-server.pem`;
export const serverKeyFile = (machine: string): string => `${machine}-server-key.pem`;


/** Makes (or reads back) the lab's Docker TLS material in `dir`/docker-certs. */
export type DockerCertsMaker = (dir: string, labName: string, servers: DockerServerName[]) => Promise<DockerTlsMaterial>;

export const ensureDockerCerts: DockerCertsMaker = async (dir, labName, servers) => {
  const certDir = dockerCertPath(dir);
  const existing = await readDockerCerts(certDir, servers.map((s) => s.machine));
  if (existing !== undefined) return existing;

  const made = await makeDockerTls(labName, servers);
  await makeDirectory(certDir);
  try {
    await chmod(certDir, 0o700);
    const put = async (name: string, text: string, mode: number) => {
      const path = join(certDir, name);
      // A key is created 0600 from the start (never briefly readable by others).
      await rm(path, { force: true });
      await writeFile(path, text, { mode });
      await chmod(path, mode);
    };
    await put(CA_FILE, made.ca, 0o644);
    await put(CLIENT_CERT_FILE, made.client.cert, 0o644);
    await put(CLIENT_KEY_FILE, made.client.key, 0o600);
    for (const [machine, pem] of Object.entries(made.servers)) {
      await put(serverCertFile(machine), pem.cert, 0o644);
      await put(serverKeyFile(machine), pem.key, 0o600);
    }
  } catch (e) {
    throw fileSystemError(e, 'cannot write the lab’s Docker certificates in', certDir) ?? e;
  }
  return made;
};

/** The material in `certDir` when every file is there (else undefined: it is made anew). */
export async function readDockerCerts(certDir: string, machines: string[]): Promise<DockerTlsMaterial | undefined> {
  const read = (name: string) =>
    readFile(join(certDir, name), 'utf8').then(
      (t) => (t.includes('-----BEGIN ') ? t : undefined),
      (e: unknown) => {
        if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
        throw fileSystemError(e, 'cannot read', join(certDir, name)) ?? e;
      },
    );
  const [ca, cert, key] = await Promise.all([read(CA_FILE), read(CLIENT_CERT_FILE), read(CLIENT_KEY_FILE)]);
  if (ca === undefined || cert === undefined || key === undefined) return undefined;
  const servers: DockerTlsMaterial['servers'] = {};
  for (const m of machines) {
    const [c, k] = await Promise.all([read(serverCertFile(m)), read(serverKeyFile(m))]);
    if (c === undefined || k === undefined) return undefined;
    servers[m] = { cert: c, key: k };
  }
  return { ca, client: { cert, key }, servers };
}
