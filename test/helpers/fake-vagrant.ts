/**
 * Puts test/helpers/fake-vagrant.mjs on a PATH as `vagrant`, with its log and state files in a
 * temporary directory removed after the test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_VAGRANT_SCRIPT = fileURLToPath(new URL('./fake-vagrant.mjs', import.meta.url));

interface TestLike {
  teardown(fn: () => unknown): void;
}

export interface FakeLogEntry {
  pid: number;
  argv?: string[];
  cwd?: string;
  signal?: string;
  event?: string;
  [k: string]: unknown;
}

export interface FakeVagrant {
  /** Directory holding the `vagrant` executable. */
  binDir: string;
  /** Absolute path of the `vagrant` executable. */
  bin: string;
  dir: string;
  logFile: string;
  stateFile: string;
  /** The environment to run it with: PATH first, then the log, state and VAGRANT_HOME. */
  env: Record<string, string>;
  log(): FakeLogEntry[];
  /** argv of every invocation, in order. */
  invocations(): string[][];
  state(): { envs?: Record<string, { machines: Record<string, { state: string; provider: string; sshHost: string; sshPort: number }> }>; boxes?: Record<string, unknown>; importing?: Record<string, number> };
}

export function fakeVagrant(t: TestLike, extraEnv: Record<string, string> = {}): FakeVagrant {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-fake-vagrant-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir);
  const bin = path.join(binDir, 'vagrant');
  // exec: the PID the driver signals is the fake itself, not a shell.
  fs.writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FAKE_VAGRANT_SCRIPT)} "$@"\n`, { mode: 0o755 });
  const logFile = path.join(dir, 'calls.jsonl');
  const stateFile = path.join(dir, 'state.json');
  const env: Record<string, string> = {
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: dir,
    VAGRANT_HOME: path.join(dir, 'vagrant.d'),
    FAKE_VAGRANT_LOG: logFile,
    FAKE_VAGRANT_STATE: stateFile,
    ...extraEnv,
  };
  const log = (): FakeLogEntry[] =>
    fs.existsSync(logFile)
      ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeLogEntry)
      : [];
  return {
    binDir,
    bin,
    dir,
    logFile,
    stateFile,
    env,
    log,
    invocations: () => log().filter((e) => e.argv).map((e) => e.argv!),
    state: () => (fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : {}),
  };
}

/** A lab directory holding a Vagrantfile shaped like cclab's (literal `config.vm.define "NAME"` blocks). */
export function fakeLab(t: TestLike, machines: { name: string; dockerHostPort?: number }[], box = 'flatcar-stable'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cclab-fake-lab-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const blocks = machines.map((m) =>
    [
      `  config.vm.define "${m.name}" do |m|`,
      `    m.vm.hostname = "${m.name}"`,
      ...(m.dockerHostPort
        ? [`    m.vm.network :forwarded_port, id: "docker", guest: 2375, host: ${m.dockerHostPort}, host_ip: "127.0.0.1", auto_correct: true`]
        : []),
      '  end',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'Vagrantfile'),
    ['Vagrant.configure("2") do |config|', `  config.vm.box = "${box}"`, ...blocks, 'end', ''].join('\n'),
  );
  return dir;
}
