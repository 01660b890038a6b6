/**
 * The programs `cclab box add` runs besides Vagrant, through the process layer: `bzip2 -dc` to
 * decompress an image as a stream, and `gpgv` to check Flatcar's detached signatures. A program
 * that is missing is a PreflightError with the package to install; one that fails names its
 * command and the tail of what it printed.
 */
import { CommandError, InvalidImageError, PreflightError, tail } from '../errors.js';
import { runInGroup, streamInGroup } from '../process/run.js';
import { interrupted } from './http.js';

export interface ImageTools {
  /** Throws PreflightError when `bzip2` cannot be run. */
  checkBzip2(): Promise<void>;
  /** Throws PreflightError when `gpgv` cannot be run. */
  checkGpgv(): Promise<void>;
  /** `bzip2 -dc FILE` into `output`. */
  decompress(file: string, output: NodeJS.WritableStream, signal?: AbortSignal): Promise<void>;
  /** `gpgv --keyring KEYRING SIG FILE`; InvalidImageError when the signature does not verify. */
  verifySignature(keyring: string, sig: string, file: string, signal?: AbortSignal): Promise<void>;
}

const GRACE = { interruptGraceMs: 2_000, killGraceMs: 2_000 };

const FIXES = {
  bzip2: 'install bzip2 (Debian, Ubuntu: apt-get install bzip2; Fedora: dnf install bzip2), or decompress the image elsewhere (bzip2 -d) and pass --image FILE',
  gpgv: 'install gpgv (Debian, Ubuntu: apt-get install gpgv; Fedora: dnf install gnupg2), or leave out --keyring (the image is then checked against the release’s DIGESTS only)',
} as const;

function missing(tool: keyof typeof FIXES, code: string | undefined, cause?: unknown): PreflightError {
  return new PreflightError(
    [{ check: tool, message: code === 'ENOENT' ? `\`${tool}\` was not found on PATH` : `\`${tool}\` could not be run (${code ?? 'error'})`, fix: FIXES[tool] }],
    { cause },
  );
}

export function realTools(env: Record<string, string | undefined>, cwd: string): ImageTools {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  // LC_ALL=C: gpgv's and bzip2's messages in the words the hints expect.
  const toolEnv = { ...clean, LC_ALL: 'C' };

  async function check(tool: keyof typeof FIXES, args: string[]): Promise<void> {
    const r = await runInGroup(tool, args, { cwd, env: toolEnv, ...GRACE });
    if (r.kind === 'failed') throw missing(tool, r.code, r);
    if (r.exitCode !== 0) throw missing(tool, `exit status ${r.exitCode}`);
  }

  return {
    checkBzip2: () => check('bzip2', ['--help']),
    checkGpgv: () => check('gpgv', ['--version']),

    async decompress(file, output, signal) {
      const command = ['bzip2', '-dc', file];
      const r = await streamInGroup('bzip2', ['-dc', file], { cwd, env: toolEnv, output, signal, ...GRACE });
      if (r.kind === 'output-failed') throw r.error;
      if (r.kind === 'failed' && !r.aborted && (r.code === 'ENOENT' || r.code === 'EACCES')) throw missing('bzip2', r.code, r);
      if (r.aborted && signal) throw interrupted(signal, `interrupted while decompressing ${file}`);
      if (r.kind === 'failed') throw new CommandError(`bzip2 -dc ${file} was killed by ${r.signal ?? 'a signal'}`, { command, output: r.stderr });
      if (r.exitCode !== 0) {
        throw new CommandError(`bzip2 could not decompress ${file} (exit ${r.exitCode})`, { command, exitStatus: r.exitCode, output: r.stderr }, {
          hint: 'the compressed file is damaged or not bzip2: remove it and run the command again',
        });
      }
    },

    async verifySignature(keyring, sig, file, signal) {
      const args = ['--keyring', keyring, sig, file];
      const r = await runInGroup('gpgv', args, { cwd, env: toolEnv, signal, ...GRACE });
      if (r.aborted && signal) throw interrupted(signal, `interrupted while checking the signature of ${file}`);
      if (r.kind === 'failed') {
        if (r.code === 'ENOENT' || r.code === 'EACCES') throw missing('gpgv', r.code, r);
        throw new CommandError(`gpgv was killed by ${r.signal ?? 'a signal'}`, { command: ['gpgv', ...args], output: r.output });
      }
      if (r.exitCode !== 0) {
        const said = tail(r.output, 4);
        throw new InvalidImageError(`the signature ${sig} does not verify ${file} with the keys in ${keyring}${said ? `:\n${said.replace(/^/gm, '  ')}` : ''}`, {
          path: file,
          hint: /keyblock resource|No public key|no valid OpenPGP data/i.test(r.output)
            ? 'the keyring must be a binary keyring holding Flatcar’s image signing key (an armored .asc key: gpg --dearmor < key.asc > flatcar.gpg)'
            : 'the image or its signature is not Flatcar’s: do not use it; check --keyring and the mirror',
        });
      }
    },
  };
}
