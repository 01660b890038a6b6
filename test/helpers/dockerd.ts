/**
 * A real dockerd for tests: its own socket, data root, exec root and pid file in a short temporary
 * directory (unix socket paths are limited to 108 bytes), the API on TCP 127.0.0.1 at a free port,
 * no bridge and no iptables rules (it must not touch the host's networking). Stopped by PID.
 *
 * With `tls`, it is started as a lab machine runs it: the TCP socket is handed over by
 * `systemd-socket-activate` (dockerd `-H fd://`, as docker-tls-tcp.socket does) and the TLS
 * settings come from a daemon.json with cclab's own text (dockerTlsDaemonJson), its paths pointed
 * at the given files.
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { dockerTlsDaemonJson, DOCKER_TLS_DIR } from '../../src/render/provision.js';
import { ensureDockerCerts, serverCertFile, serverKeyFile } from '../../src/home/docker-certs.js';
import { dockerCertPath } from '../../src/home/paths.js';
import os from 'node:os';
import path from 'node:path';
import { freePorts, spawnDaemon, waitUntil, type Daemon } from './ports.js';
import type { Teardown } from './etcd.js';

export interface Dockerd {
  /** tcp://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** Its unix socket (always plain), for `docker -H unix://…`. */
  socket: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

export interface DockerdTls {
  /** PEM files of the server side: the lab's CA, the machine's certificate and key. */
  ca: string;
  cert: string;
  key: string;
}

export async function startDockerd(t: Teardown, opts: { tls?: DockerdTls } = {}): Promise<Dockerd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cclab-d-'));
  const port = (await freePorts(1))[0]!;
  const endpoint = `tcp://127.0.0.1:${port}`;
  const socket = `${dir}/d.sock`;
  let listen: string[];
  if (opts.tls) {
    const tlsDir = path.join(dir, 'tls');
    const json = dockerTlsDaemonJson().replaceAll(DOCKER_TLS_DIR, tlsDir);
    rmSync(tlsDir, { recursive: true, force: true });
    mkdirSync(tlsDir, { mode: 0o700 });
    writeFileSync(path.join(tlsDir, 'ca.pem'), readFileSync(opts.tls.ca));
    writeFileSync(path.join(tlsDir, 'server.pem'), readFileSync(opts.tls.cert));
    writeFileSync(path.join(tlsDir, 'server-key.pem'), readFileSync(opts.tls.key), { mode: 0o600 });
    writeFileSync(path.join(dir, 'daemon.json'), json);
    listen = ['systemd-socket-activate', '-l', `127.0.0.1:${port}`, 'dockerd', '-H', 'fd://', '-H', `unix://${socket}`, '--config-file', path.join(dir, 'daemon.json')];
  } else {
    listen = ['dockerd', '-H', `unix://${socket}`, '-H', endpoint];
  }
  const daemon = spawnDaemon(
    'dockerd',
    [
      ...listen,
      '--data-root', path.join(dir, 'root'),
      '--exec-root', path.join(dir, 'exec'),
      '--pidfile', path.join(dir, 'd.pid'),
      '--bridge', 'none',
      '--iptables=false',
    ],
    path.join(dir, 'dockerd.log'),
  );
  const stop = async () => {
    await daemon.stop(20_000);
    // dockerd stops the containerd it started; if it had to be killed, stop that one by PID too.
    const containerdPid = path.join(dir, 'exec', 'containerd', 'containerd.pid');
    if (existsSync(containerdPid)) {
      const pid = Number(readFileSync(containerdPid, 'utf8').trim());
      // Only if that PID is still this test's containerd (its command line names our directory).
      if (pid > 0 && readCmdline(pid).includes(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  };
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // systemd-socket-activate starts dockerd on the first connection (as systemd does for a socket
  // unit without a running service): knock once, then wait for the unix socket to answer.
  let knocked = !opts.tls;
  await waitUntil('dockerd', async () => (knocked ? pingUnix(socket) : ((knocked = await knock(port)), false)), 30_000, daemon);
  return { endpoint, port, socket, daemon, stop };
}

/** One TCP connection to the port: true when it was accepted. */
function knock(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** GET /_ping on the unix socket: true once dockerd answers OK. */
function pingUnix(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A laptop lab's Docker machine core-01 as a test dockerd: the lab's certificates made in `labDir`
 * (as `up` makes them), and a dockerd serving TLS with core-01's server certificate.
 */
export async function startLabTlsDockerd(t: Teardown, labDir: string): Promise<{ dockerd: Dockerd; certs: string }> {
  const certs = dockerCertPath(labDir);
  await ensureDockerCerts(labDir, 'laptop', [{ machine: 'core-01', ip: '192.168.57.101' }]);
  const dockerd = await startDockerd(t, {
    tls: { ca: path.join(certs, 'ca.pem'), cert: path.join(certs, serverCertFile('core-01')), key: path.join(certs, serverKeyFile('core-01')) },
  });
  return { dockerd, certs };
}
