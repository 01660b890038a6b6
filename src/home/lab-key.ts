/**
 * The lab's own SSH key: an ed25519 pair made by `ssh-keygen` in the lab directory (or beside a
 * render's files) for labs provisioned with Ignition, which give user core this key instead of
 * Vagrant's well-known insecure one. The private key is 0600 in a 0700 `ssh/` directory and goes
 * with the lab (`cclab down` removes the directory). An existing pair is kept, so re-running `up`
 * or `render` does not lock out machines made with it.
 *
 * ssh-keygen rather than Node's crypto: Node writes ed25519 keys only as PKCS#8 PEM, which OpenSSH
 * and Vagrant's net-ssh read less widely than OpenSSH's own format; and ssh-keygen is on every host
 * that can run `vagrant ssh` (OpenSSH's client).
 */
import { execa } from 'execa';
import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CommandError, PreflightError } from '../errors.js';
import { errnoCode, makeDirectory } from './errno.js';
import { LAB_KEY_PATH } from '../render/layout.js';

/** Makes (or finds) the key pair of the lab in `dir`; resolves with the public key line. */
export type LabKeyMaker = (dir: string, comment: string) => Promise<string>;

/** A public key line: `ssh-ed25519 AAAA… comment`. */
const PUBLIC_KEY = /^ssh-ed25519 [A-Za-z0-9+/]+=* ?[^\r\n]*$/;

export const ensureLabKey: LabKeyMaker = async (dir, comment) => {
  const priv = join(dir, LAB_KEY_PATH);
  const pub = `${priv}.pub`;
  const existing = await readFile(pub, 'utf8').then(
    (t) => t.trim(),
    (e: unknown) => {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    },
  );
  const havePrivate = await stat(priv).then(
    (st) => st.isFile(),
    () => false,
  );
  if (existing !== undefined && havePrivate && PUBLIC_KEY.test(existing)) return existing;

  await makeDirectory(dirname(priv));
  await chmod(dirname(priv), 0o700);
  // -q quiet, no passphrase (Vagrant and cclab use it unattended), a half-made pair is replaced.
  const argv = ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', priv];
  await rm(priv, { force: true });
  await rm(pub, { force: true });
  const r = await execa('ssh-keygen', argv, { reject: false, stdin: 'ignore', all: true });
  if ((r as { code?: string }).code === 'ENOENT') {
    throw new PreflightError([
      { check: 'ssh-keygen', message: 'ssh-keygen is not installed (not on PATH): it makes the lab’s own SSH key', fix: 'install OpenSSH’s client (Debian/Ubuntu: apt-get install openssh-client)' },
    ]);
  }
  if (r.failed) {
    throw new CommandError('could not make the lab’s SSH key', { command: ['ssh-keygen', ...argv], exitStatus: r.exitCode, output: r.all ?? '' });
  }
  await chmod(priv, 0o600);
  const made = (await readFile(pub, 'utf8')).trim();
  if (!PUBLIC_KEY.test(made)) throw new CommandError('ssh-keygen wrote no ed25519 public key', { command: ['ssh-keygen', ...argv], output: made.slice(0, 200) });
  return made;
};
