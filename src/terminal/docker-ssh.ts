/**
 * `cclab docker-env --ssh`: the SSH settings the docker CLI needs to reach a lab machine's Docker
 * through its forwarded SSH port (DOCKER_HOST=ssh://USER@127.0.0.1:PORT; the docker CLI runs
 * `ssh … docker system dial-stdio` there). The docker CLI takes SSH options only from the user's SSH
 * configuration, so cclab writes them as a config file in the lab directory
 * (`ssh/docker-ssh.conf`, removed with the lab by `cclab down`) that one `Include` line in
 * ~/.ssh/config brings in for every lab: a `Match` of host 127.0.0.1, the user and the port, with
 * the key and host-key settings `vagrant ssh-config` gives (a forwarded loopback port whose
 * machine's host key changes with each VM). Pure: the command writes the text.
 */

/** Where the lab's SSH config for the docker CLI lies, relative to the lab directory. */
export const DOCKER_SSH_CONFIG = 'ssh/docker-ssh.conf';

export interface DockerSshTarget {
  lab: string;
  machine: string;
  user: string;
  port: number;
  identityFiles: string[];
}

/** OpenSSH quoting: double quotes; a value with a quote, a line break or `%` (a token) is refused. */
function quoted(value: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (/["\u0000-\u001f%]/.test(value)) throw new TypeError(`cannot write ${what} ${JSON.stringify(value)} into an SSH config`);
  return `"${value}"`;
}

export function dockerSshHost(t: DockerSshTarget): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(t.user)) throw new TypeError(`unexpected SSH user ${JSON.stringify(t.user)}`);
  return `ssh://${t.user}@127.0.0.1:${t.port}`;
}

export function dockerSshConfig(t: DockerSshTarget): string {
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new TypeError(`bad SSH port ${t.port}`);
  dockerSshHost(t);
  return [
    `# cclab lab ${t.lab}: SSH to ${t.machine} for DOCKER_HOST=${dockerSshHost(t)} (cclab docker-env --ssh).`,
    '# Written by cclab; removed with the lab by `cclab down`.',
    `Match host 127.0.0.1 user ${t.user} exec "test %p = ${t.port}"`,
    ...t.identityFiles.map((f) => `  IdentityFile ${quoted(f, 'the key path')}`),
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  LogLevel ERROR',
    '',
  ].join('\n');
}

/** The one line of ~/.ssh/config that includes every lab's file (labs root: `<home>/labs`). */
export function includeLine(labsRoot: string): string {
  return `Include ${quoted(`${labsRoot}/*/${DOCKER_SSH_CONFIG}`, 'the labs directory')}`;
}
