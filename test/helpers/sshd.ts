/**
 * An OpenSSH server on 127.0.0.1 for tests: a fresh host key, a fresh client key that the current
 * user is let in with, started in the foreground and stopped by PID at teardown.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './process.mjs';

export const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  /** The server's directory (keys, sshd_config; removed at teardown). */
  dir: string;
  port: number;
  /** The client's private key (its name has a space: paths must be quoted where they are used). */
  key: string;
  user: string;
}

async function waitForBanner(port: number, child: { exitCode: number | null }): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('sshd did not answer');
}

/**
 * Starts the server. `extraConfig(dir)` adds sshd_config lines (e.g. `SetEnv PATH=…` for files the
 * test puts in the server's directory); `keyName` names the client key file.
 */
export async function startSshd(
  t: { teardown(fn: () => unknown): void },
  opts: { keyName?: string; extraConfig?: (dir: string) => string[] } = {},
): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-sshd-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // sshd running as root needs its privilege-separation directory (created at boot on a real system).
  if (process.getuid?.() === 0 && !fs.existsSync('/run/sshd')) {
    fs.mkdirSync('/run/sshd', { mode: 0o755 });
    t.teardown(() => fs.rmSync('/run/sshd', { recursive: true, force: true }));
  }
  const key = path.join(dir, opts.keyName ?? 'vagrant key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  fs.copyFileSync(`${key}.pub`, path.join(dir, 'authorized_keys'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      ...(opts.extraConfig?.(dir) ?? []),
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  t.teardown(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
  });
  await waitForBanner(port, child).catch((e: Error) => {
    throw new Error(`${e.message}: ${log}`);
  });
  return { dir, port, key, user: os.userInfo().username };
}
