/**
 * cclab's own work on a remote libvirt host (a lab with `--libvirt-uri qemu+ssh://…`), over the
 * same SSH libvirt uses: each machine's Ignition file copied where QEMU opens it (fw_cfg) before
 * `vagrant up`, and removed with the lab. The commands are built here; ssh runs them.
 */
import { execa } from 'execa';
import { CommandError } from '../errors.js';
import { remoteIgnitionDir, sshToLibvirtHost, type RemoteLibvirt } from '../providers/libvirt-uri.js';
import { quoteWord } from '../vagrant/quote.js';

export interface LibvirtHostFiles {
  /** Writes each file into the lab's directory on the host (0644 in a 0755 directory, replaced whole). */
  put(host: RemoteLibvirt, labName: string, files: { name: string; content: string | Uint8Array }[], signal?: AbortSignal): Promise<void>;
  /** Removes the lab's directory on the host. */
  remove(host: RemoteLibvirt, labName: string, signal?: AbortSignal): Promise<void>;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The remote shell command that writes stdin to `name` in `dir` (through a temporary name, then renamed). */
export function putCommand(dir: string, name: string): string {
  if (!FILE_NAME.test(name)) throw new TypeError(`not a file name: ${name}`);
  const d = quoteWord(dir);
  const f = quoteWord(`${dir}/${name}`);
  const tmp = quoteWord(`${dir}/.${name}.part`);
  return `umask 022 && mkdir -p ${d} && chmod 0755 ${d} && cat > ${tmp} && mv -f ${tmp} ${f}`;
}

export function removeCommand(dir: string): string {
  return `rm -rf -- ${quoteWord(dir)}`;
}

/**
 * Over the system's ssh. `sshOptions`: extra `-o` options (tests point UserKnownHostsFile at their
 * own server's key; users' hosts are checked against their known hosts, as for virsh).
 */
export function sshLibvirtHost(opts: { env: Record<string, string | undefined>; sshOptions?: string[] }): LibvirtHostFiles {
  const run = async (host: RemoteLibvirt, command: string, input: string | Uint8Array | undefined, what: string, signal?: AbortSignal) => {
    const argv = [...sshToLibvirtHost(host, opts.sshOptions), command];
    const r = await execa(argv[0]!, argv.slice(1), {
      env: opts.env,
      extendEnv: false,
      reject: false,
      all: true,
      ...(input !== undefined ? { input } : { stdin: 'ignore' as const }),
      timeout: 120_000,
      ...(signal && { cancelSignal: signal }),
    });
    if (r.exitCode === 0) return;
    throw new CommandError(
      `${what} on the libvirt host ${host.host} failed${r.exitCode !== undefined ? ` (ssh exited with ${r.exitCode})` : ''}`,
      { command: argv, exitStatus: r.exitCode, output: String(r.all ?? r.message ?? '') },
      { hint: `check that \`${argv.slice(0, -1).join(' ')} true\` works without a password prompt (an SSH key, ssh-agent or ?keyfile= in the URI, and the host in your known hosts)` },
    );
  };
  return {
    async put(host, labName, files, signal) {
      const dir = remoteIgnitionDir(labName);
      for (const f of files) await run(host, putCommand(dir, f.name), f.content, `copying ${f.name} to ${dir}`, signal);
    },
    async remove(host, labName, signal) {
      await run(host, removeCommand(remoteIgnitionDir(labName)), undefined, `removing ${remoteIgnitionDir(labName)}`, signal);
    },
  };
}
