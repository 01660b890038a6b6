/** The real preflight probes: the Vagrant driver, provider tools, host interfaces, ports, files. */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvmFacts } from '../providers/choose.js';
import { KVM_PROBE_TIMEOUT_MS, kvmProbeCommand, kvmProbeImage, kvmProbeVerdict, kvmVerdictRecord, rememberedKvmVerdict, type KvmGuestRuns, type KvmProbeIdentity } from '../providers/kvm-probe.js';
import { createHash } from 'node:crypto';
import { delimiter } from 'node:path';
import { cacheHome } from '../home/paths.js';
import { bootId } from '../home/boot-id.js';
import { atomicWriteFile } from '../home/manifest.js';
import { dirname } from 'node:path';
import { blockingSteps, isSessionUri, parseAcl, qemuConfUser, type Identity, type PathStep } from '../providers/qemu-access.js';
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
    async providerUsable(provider: Provider, libvirtUri?: string) {
      // A lab on another libvirt host is checked there (virsh over its URI), not at this host's default.
      const at = libvirtUri === undefined ? env : { ...env, LIBVIRT_DEFAULT_URI: libvirtUri };
      return providerRecord(provider).usable({
        env: at,
        run: (bin, args) => run(bin, args, at, libvirtUri === undefined ? undefined : 30_000),
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
    async qemuFileAccess(path: string) {
      const uri = env.LIBVIRT_DEFAULT_URI ?? 'qemu:///system';
      if (isSessionUri(uri)) return { skip: `${uri} runs QEMU as you` };
      const conf = qemuConfUser(await readFile('/etc/libvirt/qemu.conf', 'utf8').catch(() => undefined));
      // The build's default user: libvirt-qemu (Debian, Ubuntu), qemu (Fedora, Arch).
      const candidates = conf.user !== undefined ? [conf.user] : ['libvirt-qemu', 'qemu'];
      let who: Identity | undefined;
      for (const name of candidates) {
        const uid = await run('id', ['-u', name], env).catch(() => undefined);
        if (uid === undefined) continue;
        const gids = (await run('id', ['-G', name], env)).trim().split(/\s+/).map(Number);
        if (conf.group !== undefined) {
          const g = await run('getent', ['group', conf.group], env).catch(() => '');
          const gid = Number(g.split(':')[2]);
          if (Number.isInteger(gid)) gids.push(gid);
        }
        who = { name, uid: Number(uid.trim()), gids };
        break;
      }
      if (who === undefined) return { skip: `no QEMU user (${candidates.join(', ')}) on this host` };
      const chain: PathStep[] = [];
      let p = path;
      const paths: string[] = [];
      for (;;) {
        paths.unshift(p);
        if (p === dirname(p)) break;
        p = dirname(p);
      }
      for (const step of paths) {
        const st = await stat(step).catch(() => undefined);
        if (st === undefined) break; // not made yet: cclab makes it 0755
        chain.push({ path: step, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 });
      }
      // ACLs only matter where the mode bits say no: ask getfacl (when installed) about those.
      for (const step of blockingSteps(chain, who)) {
        const out = await run('getfacl', ['-n', '-p', '--absolute-names', '--', step.path], env).catch(() => undefined);
        if (out !== undefined) step.acl = parseAcl(out);
      }
      return { who, chain };
    },
    async kvmFacts(): Promise<KvmFacts> {
      if (!existsSync('/dev/kvm')) return { devKvm: false, kvmCapabilities: 'yes' };
      const uri = env.LIBVIRT_DEFAULT_URI ?? 'qemu:///system';
      // The test guest runs while libvirt answers (a fresh libvirtd probes QEMU for seconds); it is
      // x86 code, so other hosts keep libvirt's answer alone.
      const guest = process.arch === 'x64' ? rememberedKvmProbe(env) : undefined;
      let kvmCapabilities: KvmFacts['kvmCapabilities'];
      try {
        await run('virsh', ['-c', uri, 'domcapabilities', '--virttype', 'kvm'], env);
        kvmCapabilities = 'yes';
      } catch (e) {
        const why = (e as Error).message;
        // virsh missing or libvirtd not answering says nothing about KVM; anything else is libvirt's "no".
        kvmCapabilities = /not installed|connect|no such file/i.test(why) ? { noAnswer: why } : { refused: why };
      }
      const ran = await guest;
      return { devKvm: true, kvmCapabilities, ...(ran !== undefined && { guest: ran }) };
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

/** Where the last "no" of the KVM probe is kept (a cache: it can always be found again). */
export function kvmVerdictFile(env: Record<string, string | undefined>): string {
  return join(cacheHome(env), 'kvm-probe.json');
}

/** This host's KvmProbeIdentity, or undefined when a part cannot be read (then nothing is remembered). */
export async function kvmProbeIdentity(env: Record<string, string | undefined>): Promise<KvmProbeIdentity | undefined> {
  try {
    const boot = bootId();
    const dev = await stat('/dev/kvm');
    let qemu: string | undefined;
    for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const file = join(dir, 'qemu-system-x86_64');
      const st = await stat(file).catch(() => undefined);
      if (st?.isFile()) {
        qemu = `${file} ${st.size} ${st.mtimeMs}`;
        break;
      }
    }
    if (boot === undefined || qemu === undefined) return undefined;
    return { bootId: boot, devKvm: `${dev.rdev} ${dev.ino} ${dev.ctimeMs}`, qemu, image: createHash('sha256').update(kvmProbeImage()).digest('hex') };
  } catch {
    return undefined;
  }
}

/**
 * The KVM probe, remembered: a "no" found before on this boot, with the same /dev/kvm and QEMU, is
 * not asked again (where KVM hangs, the probe costs its whole 3 s timeout on every `up`).
 */
export async function rememberedKvmProbe(env: Record<string, string | undefined>, probe: () => Promise<KvmGuestRuns> = () => runKvmProbe(env)): Promise<KvmGuestRuns> {
  const identity = await kvmProbeIdentity(env);
  const file = kvmVerdictFile(env);
  if (identity !== undefined) {
    const known = rememberedKvmVerdict(await readFile(file, 'utf8').catch(() => undefined), identity);
    if (known !== undefined) return known;
  }
  const verdict = await probe().catch((e: unknown): KvmGuestRuns => ({ unknown: `the test guest could not be run: ${(e as Error).message}` }));
  const record = identity === undefined ? undefined : kvmVerdictRecord(identity, verdict, new Date());
  if (record !== undefined) {
    // Only a cache: a home that cannot be written asks again next time.
    await mkdir(dirname(file), { recursive: true })
      .then(() => atomicWriteFile(file, record))
      .catch(() => undefined);
  }
  return verdict;
}

/**
 * Runs the KVM probe's guest (src/providers/kvm-probe.ts) under `accel` and says whether it reached
 * 64-bit mode. Tests run it under tcg, QEMU's emulation, where it always does.
 */
export async function runKvmProbe(env: Record<string, string | undefined>, accel: 'kvm' | 'tcg' = 'kvm', timeoutMs = KVM_PROBE_TIMEOUT_MS): Promise<KvmGuestRuns> {
  const dir = await mkdtemp(join(tmpdir(), 'cclab-kvm-probe-'));
  try {
    const image = join(dir, 'probe.bin');
    const debugcon = join(dir, 'progress');
    await writeFile(image, kvmProbeImage());
    const [bin, ...args] = kvmProbeCommand(image, debugcon, accel);
    const r = await execa(bin!, args, { env, extendEnv: false, timeout: timeoutMs, reject: false, stdin: 'ignore', all: true, forceKillAfterDelay: 1_000 });
    return kvmProbeVerdict(
      {
        exitCode: r.timedOut ? undefined : r.exitCode,
        timedOut: r.timedOut === true,
        notFound: (r as { code?: string }).code === 'ENOENT',
        progress: await readFile(debugcon, 'latin1').catch(() => ''),
        output: String(r.all ?? ''),
      },
      timeoutMs,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
