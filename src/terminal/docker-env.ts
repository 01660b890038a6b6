/**
 * The text `cclab docker-env` prints: shell commands that point the Docker CLI at a lab, in the
 * conventions of `docker-machine env` and `minikube docker-env` (an output contract: people
 * `eval` it from shell start-up files). Pure: no I/O, node built-ins only.
 *
 *   bash, zsh   unset K;                  export K="V"
 *   (POSIX)     any other shell name (sh, dash, ksh, BASH…) gets these lines, as with docker-machine
 *   fish        set -e K;                 set -gx K "V";
 *   tcsh        unsetenv K;               setenv K "V";
 *   powershell  Remove-Item Env:\K …      $Env:K = "V"
 *   cmd         SET K=                    SET K=V
 *   none        (nothing)                 K=V            bare lines for tools (env, EnvironmentFile), no hint
 *
 * Variables to unset come first, then the ones to set, then a two-line comment telling how to use
 * the output (cmd's second line tab-indented, as docker-machine prints it). The output also works
 * when joined into one line (`eval $(…)` unquoted in bash, backquotes in tcsh): the unset lines
 * end in `;`, and bash's `export K="V"` lines (docker-machine's bytes, no `;`) need none, since
 * `export` takes several names and a joined line ends in the comment.
 *
 * The variables, in docker-machine's order: DOCKER_TLS_VERIFY=1, DOCKER_HOST, DOCKER_CERT_PATH for a
 * lab with TLS (for the plain socket, DOCKER_HOST alone and the TLS variables unset; for SSH,
 * DOCKER_HOST=ssh://…), then CCLAB_ACTIVE_DOCKERD=<lab>, the marker minikube calls
 * MINIKUBE_ACTIVE_DOCKERD (prompts and scripts read which lab the shell points at; --unset clears
 * it). DOCKER_MACHINE_NAME is not printed: tools that see it (docker-machine's own `active`,
 * prompt plugins) ask docker-machine about a machine it does not have.
 *
 * Values are quoted so that nothing in them is expanded or executed: double quotes with the
 * shell's escapes where that is exact (bash, zsh, fish), else (tcsh, PowerShell) double quotes for
 * plain values and single quotes for values with special characters. cmd has no quoting that is
 * safe inside its `FOR /f` idiom, so a value with cmd metacharacters is refused. Control
 * characters (newlines…) are refused for every shell.
 *
 * Differences from docker-machine, on purpose: PowerShell removes a variable with
 * `Remove-Item Env:\K -ErrorAction SilentlyContinue` (docker-machine prints `Env:\\K` and
 * PowerShell reports an error for each variable that was not set); no trailing space after
 * "shell:"; bash's unset lines end in `;` (minikube's form); the usage hints are the ones that
 * work with each shell's quoting of cclab's output (fish `| source`, bash `eval $(…)`).
 *
 * JSON (`--json`): one object, as `minikube docker-env -o json` prints: variable → value, with
 * `null` for a variable to remove (minikube lists only the variables it sets, and prints an array
 * of names for --unset; cclab uses the one shape for both).
 */
import { CclabError } from '../errors.js';

export const SHELLS = ['bash', 'zsh', 'fish', 'tcsh', 'powershell', 'cmd', 'none'] as const;
export type Shell = (typeof SHELLS)[number];

export function isShell(name: string): name is Shell {
  return (SHELLS as readonly string[]).includes(name);
}

/**
 * The syntax for a shell name as given to --shell: cclab's own names, `csh` and `pwsh` as their
 * kin, and any other name (sh, dash, ksh, an upper-case BASH) the POSIX lines, as docker-machine's
 * default case does.
 */
export function shellFor(name: string): Shell {
  if (isShell(name)) return name;
  if (name === 'csh') return 'tcsh';
  if (name === 'pwsh') return 'powershell';
  return 'bash';
}

/** The Docker CLI variables cclab manages. */
export const DOCKER_HOST = 'DOCKER_HOST';
/** The Docker CLI turns TLS on when DOCKER_TLS_VERIFY is non-empty (even "0"). */
export const DOCKER_TLS_VERIFY = 'DOCKER_TLS_VERIFY';
export const DOCKER_CERT_PATH = 'DOCKER_CERT_PATH';
export const DOCKER_TLS_VARS = [DOCKER_TLS_VERIFY, DOCKER_CERT_PATH] as const;
/** Which lab the shell points at (minikube: MINIKUBE_ACTIVE_DOCKERD). */
export const ACTIVE_MARKER = 'CCLAB_ACTIVE_DOCKERD';

export interface EnvChange {
  /** Variables to set; an undefined value means unset. */
  vars: Record<string, string | undefined>;
  /** Variables to unset. */
  unset: string[];
}

/**
 * What pointing the Docker CLI at `endpoint` changes: tcp://127.0.0.1:PORT with `certPath` (TLS,
 * docker-machine's variables), tcp://… without (the plain socket: TLS variables unset), or
 * ssh://core@127.0.0.1:PORT (`ssh`: no TLS either). `lab` is the marker's value.
 */
export function dockerEnvChange(endpoint: string, lab?: string, certPath?: string): EnvChange {
  const marker = lab === undefined ? {} : { [ACTIVE_MARKER]: lab };
  if (certPath !== undefined) {
    return { vars: { [DOCKER_TLS_VERIFY]: '1', [DOCKER_HOST]: endpoint, [DOCKER_CERT_PATH]: certPath, ...marker }, unset: [] };
  }
  return { vars: { [DOCKER_HOST]: endpoint, ...marker }, unset: [...DOCKER_TLS_VARS] };
}

/** What `--unset` changes: every variable docker-env may have set, in the order it sets them. */
export function dockerUnsetChange(): EnvChange {
  return { vars: {}, unset: [DOCKER_TLS_VERIFY, DOCKER_HOST, DOCKER_CERT_PATH, ACTIVE_MARKER] };
}

export interface DockerEnvInput extends EnvChange {
  shell: Shell;
  /** The command that produced this output, for the closing hint: `cclab docker-env dev`. */
  commandLine: string;
  /**
   * A comment line before the hint (the plain socket's warning): words, digits, spaces and `.,:-`
   * only, since tcsh's `:` line is a command whose arguments the shell still parses.
   */
  note?: string | undefined;
}

interface Syntax {
  unset(name: string): string;
  set(name: string, value: string): string;
  comment: string;
  usage(commandLine: string): string;
}

const SYNTAX: Record<Shell, Syntax> = {
  bash: {
    unset: (k) => `unset ${k};`,
    set: (k, v) => `export ${k}="${v.replace(/[\\"$`]/g, '\\$&')}"`,
    comment: '#',
    usage: (c) => `eval $(${c})`,
  },
  zsh: {
    unset: (k) => `unset ${k};`,
    set: (k, v) => `export ${k}="${v.replace(/[\\"$`]/g, '\\$&')}"`,
    comment: '#',
    usage: (c) => `eval $(${c})`,
  },
  fish: {
    unset: (k) => `set -e ${k};`,
    set: (k, v) => `set -gx ${k} "${v.replace(/[\\"$]/g, '\\$&')}";`,
    comment: '#',
    usage: (c) => `${c} | source`,
  },
  tcsh: {
    unset: (k) => `unsetenv ${k};`,
    set: (k, v) => `setenv ${k} ${tcshQuote(v)};`,
    // Interactive tcsh has no comments: `:` is the no-op command docker-machine uses.
    comment: ':',
    usage: (c) => `eval \`${c}\``,
  },
  powershell: {
    unset: (k) => `Remove-Item Env:\\${k} -ErrorAction SilentlyContinue`,
    set: (k, v) => `$Env:${k} = ${powershellQuote(v)}`,
    comment: '#',
    usage: (c) => `& ${c} | Invoke-Expression`,
  },
  cmd: {
    unset: (k) => `SET ${k}=`,
    set: (k, v) => `SET ${k}=${cmdValue(k, v)}`,
    comment: 'REM',
    usage: (c) => `\t@FOR /f "tokens=*" %i IN ('${c}') DO @%i`,
  },
  // Bare lines for tools; formatDockerEnv leaves out the unset lines and the hint.
  none: {
    unset: (k) => k,
    set: (k, v) => `${k}=${v}`,
    comment: '',
    usage: () => '',
  },
};

/** The lines to eval in `shell`, ending with the usage hint. */
export function formatDockerEnv(input: DockerEnvInput): string {
  const syntax = SYNTAX[input.shell];
  if (!/^[A-Za-z0-9 ._/:=@+-]*$/.test(input.commandLine)) {
    throw new CclabError(`cannot print a usage hint for the command line ${JSON.stringify(input.commandLine)}`);
  }
  const { set, unset } = split(input);
  if (input.shell === 'none') {
    // Set: KEY=value lines only. Unset (nothing to set): the names, one a line (minikube's form).
    return set.length > 0 ? set.map(([k, v]) => syntax.set(k, checkValue(k, v)) + '\n').join('') : unset.map((k) => `${k}\n`).join('');
  }
  const lines = [
    ...unset.map((k) => syntax.unset(k)),
    ...set.map(([k, v]) => syntax.set(k, checkValue(k, v))),
    ...(input.note === undefined ? [] : [`${syntax.comment} ${checkNote(input.note)}`]),
    `${syntax.comment} Run this command to configure your shell:`,
    `${syntax.comment} ${syntax.usage(input.commandLine)}`,
  ];
  return lines.join('\n') + '\n';
}

/** The same change as one JSON object: variable → value, null for a variable to remove. */
export function formatDockerEnvJson(change: EnvChange): string {
  const { set, unset } = split(change);
  const out: Record<string, string | null> = {};
  for (const [k, v] of set) out[k] = checkValue(k, v);
  for (const k of unset) out[k] = null;
  return JSON.stringify(out) + '\n';
}

/**
 * The shell to print for, from the environment: the basename of $SHELL (bash, zsh, fish, tcsh or
 * csh, pwsh); without $SHELL, PowerShell when PSModulePath is set, cmd when ComSpec is; else bash.
 * (On Windows this is a guess: `--shell` settles it.)
 */
export function detectShell(env: Record<string, string | undefined>): Shell {
  const shell = env.SHELL;
  if (shell !== undefined && shell !== '') {
    const base = (shell.split(/[\\/]/).pop() ?? '').toLowerCase().replace(/\.exe$/, '');
    switch (base) {
      case 'zsh':
        return 'zsh';
      case 'fish':
        return 'fish';
      case 'tcsh':
      case 'csh':
        return 'tcsh';
      case 'pwsh':
      case 'powershell':
        return 'powershell';
      case 'cmd':
        return 'cmd';
      default:
        return 'bash';
    }
  }
  if (env.PSModulePath) return 'powershell';
  if (env.ComSpec || env.COMSPEC) return 'cmd';
  return 'bash';
}

function split(change: EnvChange): { set: [string, string][]; unset: string[] } {
  const set: [string, string][] = [];
  const unset: string[] = [];
  for (const k of change.unset) if (!unset.includes(k)) unset.push(k);
  for (const [k, v] of Object.entries(change.vars)) {
    if (v === undefined) {
      if (!unset.includes(k)) unset.push(k);
    } else {
      set.push([k, v]);
    }
  }
  for (const k of [...unset, ...set.map(([k]) => k)]) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new CclabError(`invalid environment variable name ${JSON.stringify(k)}`);
  }
  const both = set.find(([k]) => unset.includes(k));
  if (both) throw new CclabError(`${both[0]} is both set and unset`);
  return { set, unset };
}

function checkNote(note: string): string {
  if (!/^[A-Za-z0-9 .,:-]*$/.test(note)) throw new CclabError(`cannot print the note ${JSON.stringify(note)} as a comment for every shell`);
  return note;
}

function checkValue(name: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new CclabError(`the value of ${name} contains a control character: ${JSON.stringify(value)}`);
  }
  return value;
}

/** tcsh: backslash does not escape inside double quotes, so special values go in single quotes. */
function tcshQuote(v: string): string {
  if (!/["$`!\\']/.test(v)) return `"${v}"`;
  return `'${v.replace(/'/g, `'\\''`).replace(/!/g, '\\!')}'`;
}

/** PowerShell: in single quotes only the quote characters (ASCII and typographic) are special, doubled. */
function powershellQuote(v: string): string {
  if (!/[`$"\u201C\u201D\u201E'\u2018\u2019\u201A\u201B]/.test(v)) return `"${v}"`;
  return `'${v.replace(/['\u2018\u2019\u201A\u201B]/g, '$&$&')}'`;
}

function cmdValue(name: string, v: string): string {
  if (/["%^&|<>()!]/.test(v)) {
    throw new CclabError(`the value of ${name} cannot be written safely for cmd: ${JSON.stringify(v)}`, {
      hint: 'use --shell powershell, or another shell',
    });
  }
  return v;
}
