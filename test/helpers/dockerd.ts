/**
 * A real dockerd for tests: its own socket, data root, exec root and pid file in a short temporary
 * directory (unix socket paths are limited to 108 bytes), the API on TCP 127.0.0.1 at a free port,
 * no bridge and no iptables rules (it must not touch the host's networking). Stopped by PID.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts, spawnDaemon, waitUntil, type Daemon } from './ports.js';
import type { Teardown } from './etcd.js';

export interface Dockerd {
  /** tcp://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  daemon: Daemon;
  stop(): Promise<void>;
}

export async function startDockerd(t: Teardown): Promise<Dockerd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cclab-d-'));
  const port = (await freePorts(1))[0]!;
  const endpoint = `tcp://127.0.0.1:${port}`;
  const daemon = spawnDaemon(
    'dockerd',
    [
      'dockerd',
      '-H', `unix://${dir}/d.sock`,
      '-H', endpoint,
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
  await waitUntil(
    'dockerd',
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/_ping`, { signal: AbortSignal.timeout(1000) });
      return res.status === 200;
    },
    30_000,
    daemon,
  );
  return { endpoint, port, daemon, stop };
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
