/**
 * How cclab runs `vagrant`: which binary, with which environment, and the arguments of the
 * questions asked about no lab. Only node built-ins, so `up` can start those questions before it
 * loads the process layer (./head-start.ts).
 */

/** `vagrant --version`. */
export const VERSION_ARGS = ['--version'] as const;
/** `vagrant box list --machine-readable`. */
export const BOX_LIST_ARGS = ['box', 'list', '--machine-readable'] as const;

/** Variables that would make Vagrant look somewhere other than the lab directory, or talk to us. */
const DROPPED_ENV = ['VAGRANT_CWD', 'VAGRANT_VAGRANTFILE', 'VAGRANT_LOG'];

/** The environment Vagrant runs with: the caller's, less DROPPED_ENV, plus ours. */
export function vagrantEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !DROPPED_ENV.includes(k)) out[k] = v;
  }
  out.VAGRANT_CHECKPOINT_DISABLE = '1';
  out.VAGRANT_NO_COLOR = '1';
  return out;
}

/** The binary to run: `vagrantBin`, else env.CCLAB_VAGRANT, else `vagrant` (looked up in env's PATH). */
export function resolveVagrantBin(opts: { env: Record<string, string | undefined>; vagrantBin?: string | undefined }): string {
  return opts.vagrantBin ?? (opts.env.CCLAB_VAGRANT || 'vagrant');
}
