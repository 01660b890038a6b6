/**
 * Real etcd (3.4, v2 API enabled) on 127.0.0.1 for tests: clusters of any size on free ports, each
 * member in its own data directory; members stopped and started again by PID; v2 proxies in front.
 * Everything is stopped by PID on teardown (also when a test fails).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePorts, spawnDaemon, waitUntil, type Daemon } from './ports.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  daemon: Daemon | undefined;
  running(): boolean;
  /** Starts (or starts again, with the same data directory) and waits until it answers /version. */
  start(): Promise<void>;
  /** Stops by PID (SIGTERM) and waits until the process has exited. */
  stop(): Promise<void>;
  /** Kills by PID (SIGKILL): for teardown. */
  kill(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** `name=http://127.0.0.1:PEER,…` */
  initialCluster: string;
  clientUrls: string[];
  /** Waits until every running member answers /health with 200. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every member by PID (a graceful stop of all members at once waits for leader transfers). */
  kill(): Promise<void>;
}

export interface EtcdProxy {
  url: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return { status: res.status, body: await res.text() };
}

/** Starts `names.length` members forming one cluster and waits until every one is healthy. */
export async function startEtcdCluster(t: Teardown, names: string[] = ['etcd-01']): Promise<EtcdCluster> {
  const dir = tempDir('cclab-etcd-');
  const ports = await freePorts(names.length * 2);
  const token = `cclab-test-${randomBytes(4).toString('hex')}`;
  const specs = names.map((name, i) => ({ name, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]! }));
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');

  const members: EtcdMember[] = specs.map((s) => {
    const clientUrl = `http://127.0.0.1:${s.clientPort}`;
    const peerUrl = `http://127.0.0.1:${s.peerPort}`;
    const dataDir = path.join(dir, s.name);
    const argv = [
      'etcd',
      '--enable-v2=true',
      '--name', s.name,
      '--data-dir', dataDir,
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
    ];
    const member: EtcdMember = {
      ...s,
      clientUrl,
      peerUrl,
      dataDir,
      daemon: undefined,
      running: () => member.daemon?.running() ?? false,
      async start() {
        if (member.running()) return;
        member.daemon = spawnDaemon(`etcd ${s.name}`, argv, path.join(dir, `${s.name}.log`));
        await waitUntil(`etcd ${s.name}`, async () => (await get(`${clientUrl}/version`)).status === 200, 20_000, member.daemon);
      },
      async stop() {
        await member.daemon?.stop();
      },
      async kill() {
        await member.daemon?.kill();
      },
    };
    return member;
  });

  const cluster: EtcdCluster = {
    members,
    initialCluster,
    clientUrls: members.map((m) => m.clientUrl),
    async waitHealthy(timeoutMs = 20_000) {
      for (const m of members.filter((x) => x.running())) {
        await waitUntil(`etcd ${m.name} healthy`, async () => (await get(`${m.clientUrl}/health`)).status === 200, timeoutMs, m.daemon);
      }
    },
    async kill() {
      await Promise.all(members.map((m) => m.kill()));
    },
  };
  // Registered before starting, so a member that fails to start is still stopped.
  t.teardown(async () => {
    await cluster.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await Promise.all(members.map((m) => m.start()));
  await cluster.waitHealthy();
  return cluster;
}

/**
 * A v2 proxy (`--proxy on`) in front of `cluster`, listening on a free port. It refreshes its
 * endpoints every second, so it notices members coming back quickly.
 */
export async function startEtcdProxy(t: Teardown, cluster: EtcdCluster): Promise<EtcdProxy> {
  const dir = tempDir('cclab-etcd-proxy-');
  const port = (await freePorts(1))[0]!;
  const url = `http://127.0.0.1:${port}`;
  const daemon = spawnDaemon(
    'etcd proxy',
    [
      'etcd',
      '--proxy', 'on',
      '--data-dir', path.join(dir, 'data'),
      '--listen-client-urls', url,
      '--initial-cluster', cluster.initialCluster,
      '--proxy-refresh-interval', '1000',
      '--proxy-failure-wait', '500',
    ],
    path.join(dir, 'proxy.log'),
  );
  t.teardown(async () => {
    await daemon.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitUntil('etcd proxy', async () => {
    const config = await get(`${url}/v2/config/local/proxy`);
    return config.status === 200 && (JSON.parse(config.body) as { endpoints: string[] }).endpoints.length > 0;
  }, 20_000, daemon);
  return { url, daemon, stop: () => daemon.stop() };
}
