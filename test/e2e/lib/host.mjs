// The machine side of the e2e run: a network namespace of our own, unreachable-route guards in the
// main namespace, libvirt's daemons started inside the namespace, serial consoles captured, and a
// teardown that puts everything back (VMs, libvirt networks, pools, volumes, daemons, namespace,
// routes), whatever happened before.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, chmodSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, sleep, startBackground, stopBackground } from './proc.mjs';

/** Subnets the labs may use: cclab's private networks (192.168.56.0/21) and management networks. */
export const GUARDED_SUBNETS = ['192.168.56.0/21', '192.168.120.0/21'];
const LIBVIRT_URI = 'qemu:///system';
const DAEMONS = ['virtlogd', 'virtlockd', 'libvirtd'];

export class Host {
  /**
   * @param {object} o
   * @param {string} o.runDir   directory of this run (logs, pid files)
   * @param {string} o.ns       network namespace name
   * @param {(msg: string) => void} o.say  progress output
   */
  constructor({ runDir, ns, say }) {
    this.runDir = runDir;
    this.ns = ns;
    this.say = say;
    this.log = join(runDir, 'host.log');
    this.logDir = join(runDir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
    this.nsCreated = false;
    this.routesAdded = [];
    this.daemonPids = {};
    this.before = null;
    this.kvmBefore = null;
    this.preexisting = {};
    this.consoles = new Map();
    this.consolePoll = null;
  }

  /** argv run inside the namespace. */
  nsArgv(argv) {
    return ['ip', 'netns', 'exec', this.ns, ...argv];
  }

  virsh(args, opts = {}) {
    return run(this.nsArgv(['virsh', '-q', '-c', LIBVIRT_URI, ...args]), { log: this.log, timeoutMs: 60_000, evenIfInterrupted: true, ...opts });
  }

  async lines(args) {
    const { stdout } = await this.virsh(args);
    return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  }

  /** Refuses to start when libvirt daemons we did not start are running (only one libvirtd per machine). */
  async preflight() {
    if (process.getuid?.() !== 0) throw new Error('the e2e suite needs root (network namespace, libvirtd, loop devices)');
    for (const name of DAEMONS) {
      const { stdout, code } = await run(['pgrep', '-x', name], { check: false });
      if (code === 0) {
        throw new Error(`${name} is already running (pid ${stdout.trim().split('\n').join(', ')}), not started by this run: ` +
          'only one libvirtd can run on a machine; stop it yourself or wait for its owner, then run again');
      }
    }
    const { code } = await run(['ip', 'netns', 'pids', this.ns], { check: false });
    if (code === 0) throw new Error(`network namespace ${this.ns} already exists`);
  }

  async setup() {
    await this.preflight();
    this.preexisting.runLibvirt = existsSync('/run/libvirt');
    this.preexisting.etcLibvirtStorage = existsSync('/etc/libvirt/storage');

    for (const subnet of GUARDED_SUBNETS) {
      const { code, stderr } = await run(['ip', 'route', 'add', 'unreachable', subnet], { check: false, log: this.log });
      if (code === 0) this.routesAdded.push(subnet);
      else if (!/File exists/.test(stderr)) throw new Error(`cannot add the route guard for ${subnet}: ${stderr.trim()}`);
      else this.say(`route for ${subnet} already exists in the main namespace (kept, not ours)`);
    }

    await run(['ip', 'netns', 'add', this.ns], { log: this.log });
    this.nsCreated = true;
    await run(['ip', '-n', this.ns, 'link', 'set', 'lo', 'up'], { log: this.log });

    // What udev would do: with /dev/kvm root-only, libvirt re-probes qemu endlessly (even with TCG).
    if (existsSync('/dev/kvm')) {
      const st = statSync('/dev/kvm');
      this.kvmBefore = { mode: st.mode & 0o777, gid: st.gid };
      const kvmGid = groupId('kvm');
      if (kvmGid !== undefined) chownSync('/dev/kvm', st.uid, kvmGid);
      chmodSync('/dev/kvm', 0o660);
    }

    for (const name of DAEMONS) {
      const pidFile = join(this.runDir, `${name}.pid`);
      await run(this.nsArgv([name, '-d', '-p', pidFile]), { log: this.log, timeoutMs: 30_000 });
      const pid = await waitForPidFile(pidFile);
      this.daemonPids[name] = pid;
    }
    await waitUntil(async () => (await this.virsh(['version'], { check: false })).code === 0, 30_000, 'libvirtd to answer');

    this.before = await this.snapshot();
    this.consolePoll = setInterval(() => this.pollConsoles().catch(() => {}), 3_000);
  }

  /** Names of libvirt objects, to remove exactly what this run created. */
  async snapshot() {
    const domains = await this.lines(['list', '--all', '--name']);
    const networks = await this.lines(['net-list', '--all', '--name']);
    const pools = await this.lines(['pool-list', '--all', '--name']);
    const volumes = {};
    for (const pool of pools) {
      const { stdout, code } = await this.virsh(['vol-list', '--pool', pool], { check: false });
      volumes[pool] = code === 0 ? stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean) : [];
    }
    return { domains, networks, pools, volumes };
  }

  /** Follows the serial console of every new domain into logs/<domain>-console.log. */
  async pollConsoles() {
    const domains = await this.lines(['list', '--name']);
    for (const dom of domains) {
      if (this.consoles.has(dom) || this.before?.domains.includes(dom)) continue;
      const { stdout: xml } = await this.virsh(['dumpxml', dom], { check: false });
      const file = /<serial type='file'>\s*<source path='([^']+)'/.exec(xml)?.[1];
      if (file) {
        this.consoles.set(dom, { file });
        continue;
      }
      const { stdout: tty, code } = await this.virsh(['ttyconsole', dom], { check: false });
      const pts = tty.trim();
      if (code !== 0 || !pts.startsWith('/dev/pts/')) continue;
      const out = openSync(join(this.logDir, `${dom}-console.log`), 'a');
      const child = startBackground(['cat', pts], { stdoutFd: out, stderrFd: out });
      closeSync(out);
      this.consoles.set(dom, { child, path: join(this.logDir, `${dom}-console.log`) });
    }
  }

  /** Path of a domain's captured console log (for error messages). */
  consoleLogs() {
    return [...this.consoles.entries()].map(([dom, c]) => ({ dom, path: c.path ?? c.file }));
  }

  consoleTail(lines = 15) {
    const out = [];
    for (const { dom, path } of this.consoleLogs()) {
      try {
        const text = readFileSync(path, 'utf8').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
        out.push(`--- serial console of ${dom} (${path}), last ${lines} lines ---`, ...text.trimEnd().split('\n').slice(-lines));
      } catch {
        /* not written yet */
      }
    }
    return out.join('\n');
  }

  /** Destroys every domain, network, volume and pool this run created. Returns what it removed. */
  async removeLibvirtLeftovers() {
    const removed = [];
    if (!this.before) return removed;
    const now = await this.snapshot();
    for (const dom of now.domains.filter((d) => !this.before.domains.includes(d))) {
      await this.virsh(['destroy', dom], { check: false });
      const r = await this.virsh(['undefine', dom, '--remove-all-storage', '--nvram'], { check: false });
      if (r.code !== 0) await this.virsh(['undefine', dom, '--remove-all-storage'], { check: false });
      removed.push(`domain ${dom}`);
    }
    for (const net of now.networks.filter((n) => !this.before.networks.includes(n))) {
      await this.virsh(['net-destroy', net], { check: false });
      await this.virsh(['net-undefine', net], { check: false });
      removed.push(`network ${net}`);
    }
    const after = await this.snapshot();
    for (const pool of after.pools) {
      for (const vol of after.volumes[pool] ?? []) {
        if ((this.before.volumes[pool] ?? []).includes(vol)) continue;
        await this.virsh(['vol-delete', '--pool', pool, vol], { check: false });
        removed.push(`volume ${pool}/${vol}`);
      }
      if (!this.before.pools.includes(pool)) {
        await this.virsh(['pool-destroy', pool], { check: false });
        await this.virsh(['pool-undefine', pool], { check: false });
        removed.push(`pool ${pool}`);
      }
    }
    return removed;
  }

  /** Everything back as it was. Never throws; returns the problems met. */
  async teardown() {
    const problems = [];
    const attempt = async (what, fn) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${err.message}`);
      }
    };
    if (this.consolePoll) clearInterval(this.consolePoll);
    if (this.daemonPids.libvirtd) {
      await attempt('removing libvirt objects', async () => {
        const removed = await this.removeLibvirtLeftovers();
        if (removed.length) this.say(`teardown removed: ${removed.join(', ')}`);
      });
    }
    for (const [dom, c] of this.consoles) {
      if (c.child) stopBackground(c.child);
      if (c.file && existsSync(c.file) && dirname(c.file) !== this.logDir) await attempt(`copying console of ${dom}`, async () => copyFileSync(c.file, join(this.logDir, `${dom}-console.log`)));
    }
    await attempt('moving qemu domain logs', async () => {
      for (const dom of this.consoles.keys()) {
        const f = `/var/log/libvirt/qemu/${dom}.log`;
        if (existsSync(f)) {
          copyFileSync(f, join(this.logDir, `${dom}-qemu.log`));
          rmSync(f);
        }
      }
    });
    for (const name of [...DAEMONS].reverse()) {
      const pid = this.daemonPids[name];
      if (pid) await attempt(`stopping ${name} (pid ${pid})`, () => stopPid(pid, name));
    }
    if (this.nsCreated) {
      // Whatever still runs in our namespace was started by this run (dnsmasq, ssh -L forwarders).
      await attempt('stopping processes left in the namespace', async () => {
        const { stdout } = await run(['ip', 'netns', 'pids', this.ns], { check: false, evenIfInterrupted: true });
        for (const pid of stdout.split('\n').map(Number).filter(Boolean)) await stopPid(pid, 'process in namespace');
      });
      await attempt(`deleting namespace ${this.ns}`, async () => {
        await run(['ip', 'netns', 'del', this.ns], { log: this.log, evenIfInterrupted: true });
        this.nsCreated = false;
      });
    }
    for (const subnet of this.routesAdded.splice(0)) {
      await attempt(`removing route guard ${subnet}`, () => run(['ip', 'route', 'del', 'unreachable', subnet], { log: this.log, evenIfInterrupted: true }));
    }
    if (this.kvmBefore) {
      await attempt('restoring /dev/kvm', async () => {
        const st = statSync('/dev/kvm');
        chownSync('/dev/kvm', st.uid, this.kvmBefore.gid);
        chmodSync('/dev/kvm', this.kvmBefore.mode);
      });
    }
    await attempt('removing libvirt runtime directories', async () => {
      const stillRunning = (await run(['pgrep', '-x', 'libvirtd'], { check: false, evenIfInterrupted: true })).code === 0;
      if (stillRunning) return;
      if (this.preexisting.runLibvirt === false) rmSync('/run/libvirt', { recursive: true, force: true });
      if (this.preexisting.etcLibvirtStorage === false && existsSync('/etc/libvirt/storage')) {
        for (const sub of ['autostart', '']) {
          const dir = join('/etc/libvirt/storage', sub);
          if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
        }
      }
    });
    return problems;
  }
}

function groupId(name) {
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[2]) : undefined;
}

async function waitForPidFile(file) {
  for (let i = 0; i < 100; i++) {
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    }
    await sleep(100);
  }
  throw new Error(`${file} did not appear`);
}

async function waitUntil(fn, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to 15 s, then SIGKILL: one PID, never a name. */
async function stopPid(pid, what) {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 150 && alive(pid); i++) await sleep(100);
  if (alive(pid)) {
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  }
  if (alive(pid)) throw new Error(`${what} (pid ${pid}) does not stop`);
}
