/** The real preflight probes: the Vagrant driver, provider tools, host interfaces, ports, files. */
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PreflightError } from '../errors.js';
import type { Provider } from '../lab/types.js';
import { providerRecord } from '../providers/index.js';
import type { VagrantDriver } from '../vagrant/driver.js';
import type { HostInterface } from '../providers/types.js';
import type { Probes } from './preflight.js';

async function run(bin: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 15_000): Promise<string> {
  const r = await execa(bin, args, { env, extendEnv: false, timeout: timeoutMs, reject: false, stdin: 'ignore' });
  if ((r as { code?: string }).code === 'ENOENT') throw new Error(`${bin} is not installed (not on PATH)`);
  if (r.failed) {
    const why = r.timedOut ? `timed out after ${timeoutMs / 1000} s` : (r.stderr || r.shortMessage || '').trim().split('\n').slice(-2).join(' ');
    throw new Error(`${bin} ${args.join(' ')} failed: ${why}`);
  }
  return r.stdout;
}

/**
 * The driver reports a missing `vagrant` as a PreflightError of its own; a probe reports what it
 * found (the preflight check adds the fix), so keep only the failure's message.
 */
async function probed<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof PreflightError) throw new Error(e.failures.map((f) => f.message).join('; '), { cause: e });
    throw e;
  }
}

export function realProbes(vagrant: VagrantDriver, env: Record<string, string | undefined>): Probes {
  return {
    async vagrantVersion() {
      const v = await probed(vagrant.version());
      return `${v.major}.${v.minor}.${v.patch}`;
    },
    async providerUsable(provider: Provider) {
      return providerRecord(provider).usable({
        env,
        run: (bin, args) => run(bin, args, env),
        plugins: () => probed(vagrant.pluginList()),
      });
    },
    async boxes() {
      return (await probed(vagrant.boxList())).map((b) => ({ name: b.name, provider: b.provider, version: b.version }));
    },
    async vboxNetworksConf() {
      try {
        return await readFile('/etc/vbox/networks.conf', 'utf8');
      } catch {
        return undefined;
      }
    },
    async interfaces(): Promise<HostInterface[]> {
      const out: HostInterface[] = [];
      for (const [name, addrs] of Object.entries(networkInterfaces())) {
        for (const a of addrs ?? []) {
          if (a.family !== 'IPv4' || a.internal || !a.cidr) continue;
          out.push({ name, address: a.address, prefix: Number(a.cidr.split('/')[1]) });
        }
      }
      return out;
    },
    portFree(port: number) {
      return new Promise((resolve) => {
        const server = createServer();
        server.once('error', () => resolve(false));
        server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
      });
    },
  };
}
