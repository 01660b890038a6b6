/** The lab's Docker certificates as OpenSSL reads them: the chain, the SANs, the key usages. */
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeDockerTls } from '../../src/render/docker-tls.js';
import { requireBinaries } from '../helpers/ports.js';

const exec = promisify(execFile);

if (requireBinaries(t, ['openssl'])) {
  const tls = await makeDockerTls('dev', [
    { machine: 'etcd-01', ip: '192.168.57.101' },
    { machine: 'worker-01', ip: '192.168.57.102' },
  ]);

  t.test('PEM with Unix line ends; one server pair per machine; PKCS#1 keys as docker-machine writes', async (t) => {
    for (const text of [tls.ca, tls.client.cert, tls.client.key, ...Object.values(tls.servers).flatMap((s) => [s.cert, s.key])]) t.notMatch(text, /\r/);
    t.same(Object.keys(tls.servers), ['etcd-01', 'worker-01']);
    t.match(tls.client.key, /^-----BEGIN RSA PRIVATE KEY-----\n/);
  });

  t.test('openssl: the chain verifies, with the right purposes, SANs and CA constraints', async (t) => {
    const dir = t.testdir({});
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const ca = file('ca.pem', tls.ca);
    const client = file('cert.pem', tls.client.cert);
    const server = file('server.pem', tls.servers['worker-01']!.cert);
    t.match((await exec('openssl', ['verify', '-CAfile', ca, '-purpose', 'sslclient', client])).stdout, /OK/);
    t.match((await exec('openssl', ['verify', '-CAfile', ca, '-purpose', 'sslserver', server])).stdout, /OK/);
    const refused = await exec('openssl', ['verify', '-CAfile', ca, '-purpose', 'sslserver', client]).then(
      () => 'accepted',
      () => 'refused',
    );
    t.equal(refused, 'refused', 'the client certificate is no server certificate');
    const text = (await exec('openssl', ['x509', '-in', server, '-noout', '-text'])).stdout;
    t.match(text, /IP Address:127\.0\.0\.1, IP Address:192\.168\.57\.102, DNS:localhost, DNS:worker-01/);
    t.match(text, /CA:FALSE/);
    t.match(text, /Subject: CN\s?=\s?worker-01, O\s?=\s?cclab/);
    t.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    t.match((await exec('openssl', ['x509', '-in', ca, '-noout', '-text'])).stdout, /CA:TRUE/);
    // Another lab's CA does not vouch for this lab's server.
    const other = await makeDockerTls('other', []);
    const otherCa = file('other-ca.pem', other.ca);
    const cross = await exec('openssl', ['verify', '-CAfile', otherCa, server]).then(
      () => 'accepted',
      () => 'refused',
    );
    t.equal(cross, 'refused');
  });
}
