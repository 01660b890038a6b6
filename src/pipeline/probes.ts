/** The real preflight probes: the Vagrant driver, provider tools, host interfaces, ports, files. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PreflightError } from '../errors.js';
import type { Provider } from '../lab/types.js';
import type { VagrantDriver } from '../vagrant/driver.js';
import type { HostInterface, Probes } from './preflight.js';

function run(bin: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: env as NodeJS.ProcessEnv, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(new Error(code === 'ENOENT' ? `${bin} is not installed (not on PATH)` : `${bin} ${args.join(' ')} failed: ${(stderr || err.message).trim().split('\n').slice(-2).join(' ')}`));
      } else resolve(stdout);
    });
  });
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
      if (provider === 'virtualbox') {
        const out = await run('VBoxManage', ['--version'], env);
        return { ok: true, detail: `VirtualBox ${out.trim()}` };
      }
      const plugins = await probed(vagrant.pluginList());
      const plugin = provider === 'libvirt' ? 'vagrant-libvirt' : 'vagrant-parallels';
      const found = plugins.find((p) => p.name === plugin);
      if (!found) return { ok: false, detail: `the Vagrant plugin ${plugin} is not installed` };
      if (provider === 'libvirt') {
        const uri = env.LIBVIRT_DEFAULT_URI ?? 'qemu:///system';
        try {
          const out = await run('virsh', ['-c', uri, 'version'], env);
          const line = out.split('\n').find((l) => /hypervisor/i.test(l)) ?? out.split('\n')[0] ?? '';
          return { ok: true, detail: `${plugin} ${found.version}; libvirt answers at ${uri} (${line.trim()})` };
        } catch (e) {
          return { ok: false, detail: `${plugin} ${found.version} is installed but libvirt does not answer at ${uri}: ${(e as Error).message}` };
        }
      }
      const out = await run('prlctl', ['--version'], env);
      return { ok: true, detail: `${plugin} ${found.version}; ${out.trim()}` };
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
