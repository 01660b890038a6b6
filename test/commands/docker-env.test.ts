import t from 'tap';
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { run } from '../../src/commands/docker-env.js';
import type { DockerEnvOptions } from '../../src/commands/docker-env.js';
import type { Context } from '../../src/context.js';
import { memoryIo } from '../../src/context.js';
import { CclabError, ExitCode, NotFoundError, UsageError } from '../../src/errors.js';
import {
  detectShell,
  dockerEnvChange,
  dockerUnsetChange,
  formatDockerEnv,
  formatDockerEnvJson,
  shellFor,
  SHELLS,
} from '../../src/terminal/docker-env.js';
import type { Shell } from '../../src/terminal/docker-env.js';
import { addLab, makeManifest, tlsManifest } from '../helpers/lab-home.js';
import { onPath, requireBinaries } from '../helpers/ports.js';

const exec = promisify(execFile);

/** A new empty directory, removed after the test. */
async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cclab-docker-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function context(home: string, env: Record<string, string | undefined> = {}) {
  const io = memoryIo();
  const ctx: Context = { io, env: { CCLAB_HOME: home, SHELL: '/bin/bash', ...env }, cwd: home, signal: new AbortController().signal };
  return { io, ctx };
}

async function runIt(home: string, opts: Partial<DockerEnvOptions>, env?: Record<string, string | undefined>) {
  const { io, ctx } = context(home, env);
  const error = await run({ unset: false, json: false, ...opts }, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { stdout: io.stdout, stderr: io.stderr, error };
}

/** A cclab home with labs: laptop (Docker on 23750), dev (no Docker). */
async function home(t: Test, extra: Record<string, ReturnType<typeof makeManifest>> = {}): Promise<string> {
  const dir = await scratch(t);
  await addLab(dir, makeManifest('laptop', 'laptop'));
  await addLab(dir, makeManifest('dev', 'dev'));
  for (const m of Object.values(extra)) await addLab(dir, m);
  return dir;
}

// ---- the output contract ---------------------------------------------------------------------

t.test('output for every shell (snapshot: an output contract)', async (t) => {
  for (const shell of SHELLS) {
    t.matchSnapshot(
      formatDockerEnv({ shell, ...dockerEnvChange('tcp://127.0.0.1:2375'), commandLine: 'cclab docker-env laptop' }),
      `${shell}: set`,
    );
    t.matchSnapshot(formatDockerEnv({ shell, ...dockerUnsetChange(), commandLine: 'cclab docker-env --unset' }), `${shell}: --unset`);
  }
  t.matchSnapshot(formatDockerEnvJson(dockerEnvChange('tcp://127.0.0.1:2375')), 'json: set');
  for (const shell of SHELLS) {
    t.matchSnapshot(
      formatDockerEnv({ shell, ...dockerEnvChange('tcp://127.0.0.1:2376', 'laptop', '/home/me/.local/share/cclab/labs/laptop/docker-certs'), commandLine: 'cclab docker-env laptop' }),
      `${shell}: set, TLS`,
    );
  }
  t.matchSnapshot(formatDockerEnvJson(dockerUnsetChange()), 'json: --unset');
});

t.test('the bash lines in full, as docker-machine and minikube print them', async (t) => {
  t.equal(
    formatDockerEnv({ shell: 'bash', ...dockerEnvChange('tcp://127.0.0.1:2375'), commandLine: 'cclab docker-env laptop' }),
    'unset DOCKER_TLS_VERIFY;\nunset DOCKER_CERT_PATH;\nexport DOCKER_HOST="tcp://127.0.0.1:2375"\n' +
      '# Run this command to configure your shell:\n# eval $(cclab docker-env laptop)\n',
  );
  // TLS: docker-machine's four lines (DOCKER_TLS_VERIFY, DOCKER_HOST, DOCKER_CERT_PATH, then the
  // name: CCLAB_ACTIVE_DOCKERD where docker-machine prints DOCKER_MACHINE_NAME), byte for byte.
  const tls = dockerEnvChange('tcp://127.0.0.1:2376', 'laptop', '/home/me/.local/share/cclab/labs/laptop/docker-certs');
  const expect: Record<Shell, string> = {
    bash:
      'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://127.0.0.1:2376"\nexport DOCKER_CERT_PATH="/home/me/.local/share/cclab/labs/laptop/docker-certs"\n' +
      'export CCLAB_ACTIVE_DOCKERD="laptop"\n# Run this command to configure your shell:\n# eval $(cclab docker-env laptop)\n',
    zsh:
      'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://127.0.0.1:2376"\nexport DOCKER_CERT_PATH="/home/me/.local/share/cclab/labs/laptop/docker-certs"\n' +
      'export CCLAB_ACTIVE_DOCKERD="laptop"\n# Run this command to configure your shell:\n# eval $(cclab docker-env laptop)\n',
    fish:
      'set -gx DOCKER_TLS_VERIFY "1";\nset -gx DOCKER_HOST "tcp://127.0.0.1:2376";\nset -gx DOCKER_CERT_PATH "/home/me/.local/share/cclab/labs/laptop/docker-certs";\n' +
      'set -gx CCLAB_ACTIVE_DOCKERD "laptop";\n# Run this command to configure your shell:\n# cclab docker-env laptop | source\n',
    tcsh:
      'setenv DOCKER_TLS_VERIFY "1";\nsetenv DOCKER_HOST "tcp://127.0.0.1:2376";\nsetenv DOCKER_CERT_PATH "/home/me/.local/share/cclab/labs/laptop/docker-certs";\n' +
      'setenv CCLAB_ACTIVE_DOCKERD "laptop";\n: Run this command to configure your shell:\n: eval `cclab docker-env laptop`\n',
    powershell:
      '$Env:DOCKER_TLS_VERIFY = "1"\n$Env:DOCKER_HOST = "tcp://127.0.0.1:2376"\n$Env:DOCKER_CERT_PATH = "/home/me/.local/share/cclab/labs/laptop/docker-certs"\n' +
      '$Env:CCLAB_ACTIVE_DOCKERD = "laptop"\n# Run this command to configure your shell:\n# & cclab docker-env laptop | Invoke-Expression\n',
    cmd:
      'SET DOCKER_TLS_VERIFY=1\nSET DOCKER_HOST=tcp://127.0.0.1:2376\nSET DOCKER_CERT_PATH=/home/me/.local/share/cclab/labs/laptop/docker-certs\n' +
      'SET CCLAB_ACTIVE_DOCKERD=laptop\nREM Run this command to configure your shell:\nREM \t@FOR /f "tokens=*" %i IN (\'cclab docker-env laptop\') DO @%i\n',
    none: 'DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://127.0.0.1:2376\nDOCKER_CERT_PATH=/home/me/.local/share/cclab/labs/laptop/docker-certs\nCCLAB_ACTIVE_DOCKERD=laptop\n',
  };
  for (const shell of SHELLS) t.equal(formatDockerEnv({ shell, ...tls, commandLine: 'cclab docker-env laptop' }), expect[shell], `${shell}: TLS`);
  t.equal(formatDockerEnv({ shell: 'none', ...dockerUnsetChange(), commandLine: 'cclab docker-env --unset' }), 'DOCKER_TLS_VERIFY\nDOCKER_HOST\nDOCKER_CERT_PATH\nCCLAB_ACTIVE_DOCKERD\n', 'none --unset: the names');
  t.same(JSON.parse(formatDockerEnvJson(dockerEnvChange('tcp://127.0.0.1:2375'))), {
    DOCKER_HOST: 'tcp://127.0.0.1:2375',
    DOCKER_TLS_VERIFY: null,
    DOCKER_CERT_PATH: null,
  });
});

t.test('hostile values: quoted for every shell, or refused (cmd)', async (t) => {
  const value = `tcp://$(touch x)\`touch y\`"'\\!;$HOME%^&’`;
  for (const shell of SHELLS.filter((s) => s !== 'cmd' && s !== 'none')) {
    t.matchSnapshot(formatDockerEnv({ shell, vars: { DOCKER_HOST: value }, unset: [], commandLine: 'cclab docker-env x' }), shell);
  }
  t.throws(() => formatDockerEnv({ shell: 'cmd', vars: { DOCKER_HOST: value }, unset: [], commandLine: 'c' }), CclabError);
  for (const shell of SHELLS) {
    t.throws(() => formatDockerEnv({ shell, vars: { DOCKER_HOST: 'a\nrm -rf ~' }, unset: [], commandLine: 'c' }), /control character/, `${shell}: newline`);
    t.throws(() => formatDockerEnv({ shell, vars: { 'A;B': 'x' }, unset: [], commandLine: 'c' }), /invalid environment variable name/);
    t.throws(() => formatDockerEnv({ shell, vars: {}, unset: ['X'], commandLine: 'c\n$(x)' }), /usage hint/);
  }
  t.throws(() => formatDockerEnvJson({ vars: { A: 'x\ny' }, unset: [] }), /control character/);
  // none: bare lines for tools (not for eval): the value as it is, control characters refused.
  t.equal(formatDockerEnv({ shell: 'none', vars: { DOCKER_HOST: value }, unset: [], commandLine: 'c' }), `DOCKER_HOST=${value}\n`);
  t.equal(JSON.parse(formatDockerEnvJson({ vars: { DOCKER_HOST: value }, unset: [] })).DOCKER_HOST, value, 'JSON keeps the value verbatim');
});

t.test('detectShell', async (t) => {
  const cases: [Record<string, string>, Shell][] = [
    [{ SHELL: '/bin/bash' }, 'bash'],
    [{ SHELL: '/usr/bin/zsh' }, 'zsh'],
    [{ SHELL: '/usr/local/bin/fish' }, 'fish'],
    [{ SHELL: '/bin/tcsh' }, 'tcsh'],
    [{ SHELL: '/bin/csh' }, 'tcsh'],
    [{ SHELL: '/bin/sh' }, 'bash'],
    [{ SHELL: '/opt/microsoft/powershell/7/pwsh' }, 'powershell'],
    [{ SHELL: 'C:\\Program Files\\Git\\usr\\bin\\bash.exe', PSModulePath: 'C:\\x' }, 'bash'],
    [{ PSModulePath: 'C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules', ComSpec: 'C:\\WINDOWS\\system32\\cmd.exe' }, 'powershell'],
    [{ ComSpec: 'C:\\WINDOWS\\system32\\cmd.exe' }, 'cmd'],
    [{}, 'bash'],
    [{ SHELL: '' }, 'bash'],
  ];
  for (const [env, shell] of cases) t.equal(detectShell(env), shell, JSON.stringify(env));
});

t.test('--shell: unknown names get the POSIX lines, as docker-machine’s default case', async (t) => {
  for (const name of ['sh', 'dash', 'ksh', 'mksh', 'BASH', 'Zsh', 'nushell']) t.equal(shellFor(name), 'bash', name);
  t.equal(shellFor('csh'), 'tcsh');
  t.equal(shellFor('pwsh'), 'powershell');
  for (const s of SHELLS) t.equal(shellFor(s), s);
});

// ---- real shells -------------------------------------------------------------------------------

/** Run `script` in `shell` with the docker-env output in the file `file`; returns stdout. */
async function inShell(shell: string, script: string, env: Record<string, string> = {}): Promise<string> {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  const { stdout } = await exec(shell, shell === 'fish' ? ['--no-config', '-c', script] : ['-c', script], {
    env: { ...base, ...env },
  });
  return stdout;
}

interface ShellCase {
  shell: Shell;
  binary: string;
  required: boolean;
  /** Apply the output in FILE, then print DOCKER_HOST and the TLS variables (or "unset"). */
  apply(file: string): string[];
  /** Print DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, one per line, "unset" when not set. */
  show: string;
  /** The same for CCLAB_ACTIVE_DOCKERD. */
  showMarker: string;
}

const sh = (name: string) => `if [ -n "\${${name}+x}" ]; then printenv ${name}; else echo unset; fi`;
const csh = (name: string) => `if ( $?${name} ) then\nprintenv ${name}\nelse\necho unset\nendif`;
const fishShow = (name: string) => `if set -q ${name}; printenv ${name}; else; echo unset; end`;

const SHELL_CASES: ShellCase[] = [
  {
    shell: 'bash',
    binary: 'bash',
    required: true,
    apply: (f) => [`eval "$(cat ${f})"`, `eval $(cat ${f})`],
    show: ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'].map(sh).join('\n'),
    showMarker: sh('CCLAB_ACTIVE_DOCKERD'),
  },
  {
    shell: 'zsh',
    binary: 'zsh',
    required: true,
    apply: (f) => [`eval "$(cat ${f})"`, `eval $(cat ${f})`],
    show: ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'].map(sh).join('\n'),
    showMarker: sh('CCLAB_ACTIVE_DOCKERD'),
  },
  {
    shell: 'fish',
    binary: 'fish',
    required: true,
    apply: (f) => [`source ${f}`, `cat ${f} | source`],
    show: ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'].map(fishShow).join('\n'),
    showMarker: fishShow('CCLAB_ACTIVE_DOCKERD'),
  },
  {
    shell: 'tcsh',
    binary: 'tcsh',
    required: true,
    apply: (f) => [`eval "\`cat ${f}\`"`, `eval \`cat ${f}\``],
    show: ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'].map(csh).join('\n'),
    showMarker: csh('CCLAB_ACTIVE_DOCKERD'),
  },
];

for (const c of SHELL_CASES) {
  t.test(`${c.shell}: the output, applied in a real ${c.binary}`, async (t) => {
    if (c.required) {
      if (!requireBinaries(t, [c.binary])) return;
    } else if (!onPath(c.binary)) {
      t.plan(0, `skipped: ${c.binary} not installed (optional)`);
      return;
    }
    const labs = await home(t);
    const dir = join(labs, 'scratch');
    await mkdir(dir);
    const before = { DOCKER_HOST: 'tcp://elsewhere:1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' };

    // Through the command, from the saved manifest.
    const set = await runIt(labs, { name: 'laptop', shell: c.shell });
    t.equal(set.error, undefined);
    const setFile = join(dir, 'set');
    await writeFile(setFile, set.stdout);
    const unset = await runIt(labs, { shell: c.shell, unset: true });
    const unsetFile = join(dir, 'unset');
    await writeFile(unsetFile, unset.stdout);

    for (const apply of c.apply(setFile)) {
      t.equal(await inShell(c.binary, `${apply}\n${c.show}`, before), 'tcp://127.0.0.1:23750\nunset\nunset\n', `set: ${apply}`);
    }
    const [applyUnset] = c.apply(unsetFile);
    for (const apply of c.apply(setFile)) {
      t.equal(await inShell(c.binary, `${apply}\n${applyUnset}\n${c.show}`, before), 'unset\nunset\nunset\n', `set then --unset: ${apply}`);
    }

    // A hostile value comes out verbatim and runs nothing (the hint's command line is not run either).
    const marker = join(dir, 'ran');
    const value = `tcp://$(touch ${marker}1)\`touch ${marker}2\`"'\\!;$HOME %^&|<>’ *`;
    const hostileFile = join(dir, 'hostile');
    await writeFile(
      hostileFile,
      formatDockerEnv({ shell: c.shell, vars: { DOCKER_HOST: value }, unset: [], commandLine: `touch ${marker}3` }),
    );
    const [quoted] = c.apply(hostileFile);
    t.equal(await inShell(c.binary, `${quoted}\n${c.show}`, before), `${value}\n1\n/certs\n`, 'hostile value verbatim');
    for (const n of [1, 2, 3]) t.notOk(existsSync(`${marker}${n}`), `nothing ran (${n})`);

    // A lab with TLS: docker-machine's variables and the marker, set then cleared by --unset.
    await addLab(labs, tlsManifest('tls', 23760));
    const tlsSet = await runIt(labs, { name: 'tls', shell: c.shell });
    const tlsFile = join(dir, 'tls');
    await writeFile(tlsFile, tlsSet.stdout);
    const certs = join(labs, 'labs', 'tls', 'docker-certs');
    const showAll = `${c.show}\n${c.showMarker}`;
    for (const apply of c.apply(tlsFile)) {
      t.equal(await inShell(c.binary, `${apply}\n${showAll}`, before), `tcp://127.0.0.1:23760\n1\n${certs}\ntls\n`, `TLS: ${apply}`);
      t.equal(await inShell(c.binary, `${apply}\n${applyUnset}\n${showAll}`, before), 'unset\nunset\nunset\nunset\n', `TLS then --unset: ${apply}`);
    }
    // The plain socket's warning comment is harmless in this shell.
    t.equal(await inShell(c.binary, `${c.apply(setFile)[1]}\n${c.showMarker}`, before), 'laptop\n', 'the plain lab’s warning line runs nothing');
  });
}

// ---- the command -------------------------------------------------------------------------------

t.test('docker-env NAME reads the saved manifest', async (t) => {
  const labs = await home(t);
  const r = await runIt(labs, { name: 'laptop', shell: 'fish' });
  t.equal(r.error, undefined);
  t.match(r.stdout, /^set -e DOCKER_TLS_VERIFY;\nset -e DOCKER_CERT_PATH;\nset -gx DOCKER_HOST "tcp:\/\/127\.0\.0\.1:23750";\nset -gx CCLAB_ACTIVE_DOCKERD "laptop";\n/);
  t.match(r.stdout, /# cclab docker-env --shell fish laptop \| source\n$/);
  t.equal(r.stderr, '');
  const json = await runIt(labs, { name: 'laptop', json: true });
  t.same(JSON.parse(json.stdout), { DOCKER_HOST: 'tcp://127.0.0.1:23750', CCLAB_ACTIVE_DOCKERD: 'laptop', DOCKER_TLS_VERIFY: null, DOCKER_CERT_PATH: null });
});

t.test('the shell comes from $SHELL unless --shell names one', async (t) => {
  const labs = await home(t);
  t.match((await runIt(labs, { name: 'laptop' }, { SHELL: '/usr/bin/fish' })).stdout, /^set -e /);
  t.match((await runIt(labs, { name: 'laptop' }, { SHELL: '/bin/tcsh' })).stdout, /^unsetenv /);
  t.match((await runIt(labs, { name: 'laptop', shell: 'bash' }, { SHELL: '/usr/bin/fish' })).stdout, /^unset /);
  const ps = await runIt(labs, { name: 'laptop' }, { SHELL: undefined, PSModulePath: 'C:\\x' });
  t.match(ps.stdout, /# & cclab docker-env --shell powershell laptop \| Invoke-Expression\n$/, 'PowerShell and cmd hints name the shell');
});

t.test('without NAME: the only lab with a Docker endpoint', async (t) => {
  const labs = await home(t);
  const r = await runIt(labs, {});
  t.equal(r.error, undefined);
  t.match(r.stdout, /export DOCKER_HOST="tcp:\/\/127\.0\.0\.1:23750"\n/);
  t.match(r.stdout, /# eval \$\(cclab docker-env laptop\)\n$/, 'the hint names the lab');
});

t.test('errors: nothing on stdout, a clear message on the error', async (t) => {
  const two = await home(t, { other: makeManifest('other', 'laptop') });
  const several = await runIt(two, {});
  t.type(several.error, UsageError);
  t.equal((several.error as Error).message, 'several labs expose Docker: laptop, other; name one: cclab docker-env laptop');
  t.equal(several.stdout, '');

  const noDocker = await runIt(two, { name: 'dev' });
  t.type(noDocker.error, NotFoundError);
  t.equal((noDocker.error as Error).message, 'lab dev has no Docker endpoint');
  t.match((noDocker.error as CclabError).hint, /cclab up dev --name dev --docker-tcp --recreate/);
  t.match((noDocker.error as CclabError).hint, /laptop architecture/);
  t.equal(noDocker.stdout, '');

  const missing = await runIt(two, { name: 'nope' });
  t.type(missing.error, NotFoundError);
  t.equal((missing.error as NotFoundError).exitCode, ExitCode.notFound);
  t.equal(missing.stdout, '');

  const empty = await scratch(t);
  const none = await runIt(empty, {});
  t.type(none.error, NotFoundError);
  t.match((none.error as Error).message, /^no labs in /);
  t.equal(none.stdout, '');

  const onlyDev = await scratch(t);
  await addLab(onlyDev, makeManifest('dev', 'dev'));
  await writeFile(join(onlyDev, 'labs', 'dev', 'lab.json'), '{"broken');
  await addLab(onlyDev, makeManifest('small', 'small'));
  const noneWithDocker = await runIt(onlyDev, {});
  t.type(noneWithDocker.error, NotFoundError);
  t.equal((noneWithDocker.error as Error).message, 'no lab exposes Docker');
  t.match((noneWithDocker.error as CclabError).hint, /could not be read: dev/);
  t.equal(noneWithDocker.stdout, '');

  const badShell = await runIt(two, { name: 'laptop', shell: 'a b;c' });
  t.type(badShell.error, UsageError);
  t.match((badShell.error as Error).message, /^"a b;c" is not a shell name/);
  t.equal(badShell.stdout, '');
  const sh = await runIt(two, { name: 'laptop', shell: 'sh' });
  t.match(sh.stdout, /^unset DOCKER_TLS_VERIFY;\n/, 'sh: the POSIX lines');
  t.match(sh.stdout, /# eval \$\(cclab docker-env --shell sh laptop\)\n$/, 'the hint repeats --shell as given');

  const unsetMissing = await runIt(two, { name: 'nope', unset: true });
  t.type(unsetMissing.error, NotFoundError, '--unset NAME: the lab must exist');
  t.equal(unsetMissing.stdout, '');

  const badName = await runIt(two, { name: '../laptop' });
  t.type(badName.error, UsageError);
  t.equal(badName.stdout, '');
});

t.test('a broken lab does not hide the one with Docker', async (t) => {
  const labs = await home(t);
  await writeFile(join(labs, 'labs', 'dev', 'lab.json'), 'garbage');
  const r = await runIt(labs, {});
  t.equal(r.error, undefined);
  t.match(r.stdout, /127\.0\.0\.1:23750/);
});

t.test('a lab last seen halted: the variables still, and a warning on stderr', async (t) => {
  const labs = await scratch(t);
  await addLab(labs, makeManifest('laptop', 'laptop', { state: 'halted' }));
  const r = await runIt(labs, { name: 'laptop' });
  t.equal(r.error, undefined);
  t.match(r.stdout, /export DOCKER_HOST=/);
  t.match(r.stderr, /warning: lab laptop was halted when last seen/);
});

t.test('--unset needs no lab', async (t) => {
  const nowhere = join(await scratch(t), 'does-not-exist');
  const r = await runIt(nowhere, { unset: true });
  t.equal(r.error, undefined);
  t.equal(
    r.stdout,
    'unset DOCKER_TLS_VERIFY;\nunset DOCKER_HOST;\nunset DOCKER_CERT_PATH;\nunset CCLAB_ACTIVE_DOCKERD;\n# Run this command to configure your shell:\n# eval $(cclab docker-env --unset)\n',
  );
  t.same(JSON.parse((await runIt(nowhere, { unset: true, json: true })).stdout), {
    DOCKER_HOST: null,
    DOCKER_TLS_VERIFY: null,
    DOCKER_CERT_PATH: null,
    CCLAB_ACTIVE_DOCKERD: null,
  });
});

// ---- it stays fast -----------------------------------------------------------------------------

t.test('the command loads only node built-ins and small local modules', async (t) => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const allowed = new Set([
    'src/commands/docker-env.ts',
    'src/terminal/docker-env.ts',
    'src/home/manifest.ts',
    'src/home/paths.ts',
    'src/home/errno.ts',
    'src/errors.ts',
    'src/lab/types.ts',
    'src/render/layout.ts',
  ]);
  const seen = new Set<string>();
  const queue = ['src/commands/docker-env.ts'];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(join(root, file), 'utf8');
    t.notMatch(text, /\bimport\(/, `${file}: no dynamic import`);
    t.notMatch(text, /\brequire\(/, `${file}: no require`);
    // Value imports and re-exports; `import type` is erased by the compiler (verbatimModuleSyntax).
    const specifiers = [...text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^;]*?\bfrom\s+)?'([^']+)';/gms)].map((m) => m[1]!);
    for (const s of specifiers) {
      if (s.startsWith('.')) {
        const target = join(dirname(file), s).replace(/\.js$/, '.ts');
        t.ok(allowed.has(target), `${file} imports ${target}`);
        queue.push(target);
      } else {
        t.match(s, /^node:/, `${file} imports ${s}: only node built-ins`);
      }
    }
  }
  t.ok(seen.has('src/home/manifest.ts') && seen.has('src/terminal/docker-env.ts'), 'the import graph was followed');
});
