/**
 * The certificates of a lab's Docker API over TLS, as docker-machine made them: one CA per lab, a
 * server certificate per Docker machine (SANs 127.0.0.1, localhost, the machine's name and private
 * address), and one client certificate (extended key usage clientAuth) for the docker CLI. RSA 2048
 * keys made and used by node:crypto (native: made in parallel on libuv's threads, signatures in
 * OpenSSL); node-forge builds and encodes the X.509 structures, since Node has no API that writes
 * certificates. No I/O: src/home/docker-certs.ts keeps them.
 *
 * The CA's private key is not returned: every certificate the lab needs is made here at once, and
 * a CA key left on disk would only be one more secret that can sign for the lab.
 */
import { generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

export interface Pem {
  cert: string;
  key: string;
}

export interface DockerTlsMaterial {
  /** The lab's CA certificate (PEM). */
  ca: string;
  /** The docker CLI's certificate and key. */
  client: Pem;
  /** One server certificate and key per Docker machine. */
  servers: Record<string, Pem>;
}

export interface DockerServerName {
  machine: string;
  ip: string;
}

/** How long the certificates are valid: docker-machine's 3 years (a lab is not meant to live longer). */
const VALID_DAYS = 3 * 365;

interface Key {
  privateKey: KeyObject;
  forgePub: forge.pki.rsa.PublicKey;
  pem: string;
}

const generate = promisify(generateKeyPair);

async function rsaKey(): Promise<Key> {
  const { privateKey, publicKey } = await generate('rsa', { modulusLength: 2048 });
  // PKCS#1 ("RSA PRIVATE KEY"), as docker-machine writes key.pem; Go's tls reads it and PKCS#8 alike.
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return { privateKey, forgePub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey, pem };
}

/** What forge's cert.sign() does, with the signature made by OpenSSL: SHA-256 with RSA over the DER of the TBS part. */
function signWith(cert: forge.pki.Certificate, key: KeyObject): void {
  const oid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  const tbs = forge.asn1.toDer((forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert)).getBytes();
  cert.signature = sign('sha256', Buffer.from(tbs, 'binary'), key).toString('binary');
}

function newCert(publicKey: forge.pki.PublicKey, subjectCn: string, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive 128-bit serial (the high bit cleared: DER integers are signed).
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  // Back-dated a little: a VM's clock may lag the host's.
  cert.validity.notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + VALID_DAYS * 24 * 60 * 60 * 1000);
  cert.setSubject([{ shortName: 'CN', value: subjectCn }, { shortName: 'O', value: 'cclab' }]);
  return cert;
}

/** PEM with Unix line ends (forge writes CRLF; the files travel inside YAML and JSON, and people read them). */
const pem = (cert: forge.pki.Certificate): string => forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');

/** Makes the CA, the client certificate and a server certificate for each of `servers`. */
export async function makeDockerTls(labName: string, servers: DockerServerName[], now: Date = new Date()): Promise<DockerTlsMaterial> {
  const [caKey, clientKey, ...serverKeys] = await Promise.all([rsaKey(), rsaKey(), ...servers.map(() => rsaKey())]);
  const ca = newCert(caKey.forgePub, `cclab ${labName} CA`, now);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWith(ca, caKey.privateKey);

  const issue = (key: Key, cn: string, extensions: object[]): Pem => {
    const cert = newCert(key.forgePub, cn, now);
    cert.setIssuer(ca.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
      ...extensions,
    ]);
    signWith(cert, caKey.privateKey);
    return { cert: pem(cert), key: key.pem };
  };

  const client = issue(clientKey!, `cclab ${labName} client`, [{ name: 'extKeyUsage', clientAuth: true }]);
  const serverPems: Record<string, Pem> = {};
  servers.forEach((s, i) => {
    serverPems[s.machine] = issue(serverKeys[i]!, s.machine, [
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: s.ip },
          { type: 2, value: 'localhost' },
          { type: 2, value: s.machine },
        ],
      },
    ]);
  });
  return { ca: pem(ca), client, servers: serverPems };
}
