/**
 * A docker context for a lab (`cclab-<lab>`), made and removed through the docker CLI: the context
 * store's format belongs to Docker, so cclab never writes it itself. The argument lists are built
 * here (pure); running `docker` goes through the small DockerCli interface (execa in the CLI, the
 * same in tests with DOCKER_CONFIG pointed at a temporary directory).
 */
import { join } from 'node:path';
import { CommandError, PreflightError, UsageError } from '../errors.js';
import type { ExecResult } from '../transport.js';

/** Runs the docker CLI with `args`; resolves with its result (never rejects for a non-zero exit). ENOENT: not installed. */
export interface DockerCli {
  run(args: string[]): Promise<ExecResult & { missing?: boolean }>;
}

export const contextName = (lab: string): string => `cclab-${lab}`;

export interface ContextEndpoint {
  /** tcp://127.0.0.1:PORT */
  host: string;
  /** DOCKER_CERT_PATH of a TLS lab (ca.pem, cert.pem, key.pem); undefined for the plain socket. */
  certDir: string | undefined;
}

/**
 * `--docker host=…,ca=…,cert=…,key=…`. Docker reads this flag as one CSV record, so a value with a
 * comma or a quote would need CSV quoting: such paths are refused instead (with what to do).
 */
export function dockerEndpointFlag(e: ContextEndpoint): string {
  const fields = [`host=${e.host}`];
  if (e.certDir !== undefined) {
    fields.push(`ca=${join(e.certDir, 'ca.pem')}`, `cert=${join(e.certDir, 'cert.pem')}`, `key=${join(e.certDir, 'key.pem')}`);
  }
  for (const f of fields) {
    // eslint-disable-next-line no-control-regex
    if (/[,"\r\n\u0000-\u001f]/.test(f)) {
      throw new UsageError(`cannot name ${JSON.stringify(f)} in a docker context: the docker CLI reads --docker as comma-separated fields`, {
        hint: 'use a CCLAB_HOME without commas or quotes in its path, or `eval $(cclab docker-env)` instead',
      });
    }
  }
  return fields.join(',');
}

export function createArgs(lab: string, e: ContextEndpoint, exists: boolean): string[] {
  return ['context', exists ? 'update' : 'create', '--description', `cclab lab ${lab}`, '--docker', dockerEndpointFlag(e), contextName(lab)];
}

export function removeArgs(lab: string): string[] {
  // --force: the context may be the current one (`docker context use`); docker then falls back to the default.
  return ['context', 'rm', '--force', contextName(lab)];
}

async function exists(cli: DockerCli, lab: string): Promise<boolean> {
  const r = await cli.run(['context', 'inspect', '--format', '{{.Name}}', contextName(lab)]);
  if (r.missing) throw dockerMissing();
  return r.exitCode === 0 && r.stdout.trim() === contextName(lab);
}

function dockerMissing(): PreflightError {
  return new PreflightError([
    { check: 'docker', message: 'the docker CLI is not installed (not on PATH): docker contexts are its own', fix: 'install the docker CLI, or use `eval $(cclab docker-env)`' },
  ]);
}

function check(r: ExecResult, args: string[], what: string): void {
  if (r.exitCode !== 0) throw new CommandError(`docker could not ${what}`, { command: ['docker', ...args], exitStatus: r.exitCode, output: `${r.stdout}${r.stderr}` });
}

/** Creates or updates the lab's context; resolves with what was done. */
export async function setContext(cli: DockerCli, lab: string, e: ContextEndpoint): Promise<'created' | 'updated'> {
  const had = await exists(cli, lab);
  const args = createArgs(lab, e, had);
  check(await cli.run(args), args, `${had ? 'update' : 'create'} the context ${contextName(lab)}`);
  return had ? 'updated' : 'created';
}

/** Removes the lab's context; resolves with whether there was one. */
export async function removeContext(cli: DockerCli, lab: string): Promise<boolean> {
  if (!(await exists(cli, lab))) return false;
  const args = removeArgs(lab);
  check(await cli.run(args), args, `remove the context ${contextName(lab)}`);
  return true;
}

/** The docker CLI through execa, with the given environment (DOCKER_CONFIG and all). */
export function execaDockerCli(env: Record<string, string | undefined>): DockerCli {
  return {
    async run(args) {
      const { execa } = await import('execa');
      const r = await execa('docker', args, { reject: false, stdin: 'ignore', env, extendEnv: false, timeout: 30_000 });
      if ((r as { code?: string }).code === 'ENOENT') return { exitCode: 127, stdout: '', stderr: '', missing: true };
      return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
    },
  };
}
